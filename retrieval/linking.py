"""Question analysis: find entity mentions and link them to graph entities.

Four linkers, each with a score in [0, 1]:
- exact/alias: n-grams of the question equal to a normalised entity name or alias;
- fuzzy: spaCy mentions and noun chunks close to a name (rapidfuzz ratio);
- vector: a mention's embedding close to an entity-name embedding.
The best score per entity wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from graph.normalize import normalize_name, tokens
from graph.ontology import AliasRules
from graph.ports import VectorStore

_POSSESSIVE = re.compile(r"(?:'s|’s)\b")
_QUESTION_WORDS = frozenset(
    "who whom whose what which when where why how is was are were did does do the a an of in on at to for by"
    " with from and or as that this these those it its he she they his her their".split()
)
MAX_NGRAM = 16


@dataclass(frozen=True, slots=True)
class LinkedEntity:
    """A question mention linked to a graph entity."""

    entity_id: str
    surface: str
    score: float
    method: str  # exact | fuzzy | vector


class EntityLinker:
    """Links question mentions to entities using an in-memory alias index."""

    def __init__(self, keys: Sequence[tuple[str, str]], rules: AliasRules) -> None:
        self._rules = rules
        self._by_key: dict[str, set[str]] = {}
        for key, eid in keys:
            self._by_key.setdefault(key, set()).add(eid)
        self._choices = list(self._by_key)
        self._max_n = min(MAX_NGRAM, max((k.count(" ") + 1 for k in self._choices), default=1))

    def _ngram_links(self, question: str) -> tuple[list[LinkedEntity], set[int]]:
        text = _POSSESSIVE.sub("", question)
        words = tokens(text)
        raw = [w for w in re.split(r"\s+", re.sub(r"[^\w\s]", " ", text)) if w]
        named = [bool(w[:1].isupper() or w[:1].isdigit()) and (i > 0 or w[:1].isdigit()) for i, w in enumerate(raw)]
        if len(raw) != len(words):  # folding changed the token count: trust every word
            named = [True] * len(words)
        used: set[int] = set()
        out: list[LinkedEntity] = []
        for n in range(min(self._max_n, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                span = range(i, i + n)
                if any(j in used for j in span):
                    continue
                gram = words[i : i + n]
                if all(w in _QUESTION_WORDS for w in gram) or (n == 1 and len(gram[0]) < 3):
                    continue
                if not any(named[j] for j in span):
                    continue  # common words ("state", "the day") are not names
                key = " ".join(gram)
                eids = self._by_key.get(key)
                if not eids:
                    continue
                used.update(span)
                score = 1.0 if n > 1 else 0.8
                out.extend(LinkedEntity(e, key, score, "exact") for e in sorted(eids))
        return out, used

    def link(
        self,
        question: str,
        phrases: Sequence[str],
        embed: Callable[[list[str]], np.ndarray] | None,
        vectors: VectorStore | None,
        fuzzy_cutoff: float = 88.0,
        vector_cutoff: float = 0.8,
    ) -> list[LinkedEntity]:
        """Link the question's entities.

        Args:
            question: the question text.
            phrases: mentions found by NER / noun chunks (tried fuzzily and by vector).
            embed: encodes phrases for vector linking (None disables it).
            vectors: the vector store holding entity-name vectors.

        Returns:
            One link per entity (best score), strongest first.
        """
        links, _ = self._ngram_links(question)
        exact_keys = {lk.surface for lk in links}
        pending: list[str] = []
        for phrase in dict.fromkeys(phrases):
            key = normalize_name(phrase, None, self._rules)
            if not key or key in exact_keys or key in _QUESTION_WORDS:
                continue
            hit = process.extractOne(key, self._choices, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff)
            if hit is not None:
                score = 0.9 * hit[1] / 100.0
                links.extend(LinkedEntity(e, phrase, score, "fuzzy") for e in sorted(self._by_key[hit[0]]))
            else:
                pending.append(phrase)
        if pending and embed is not None and vectors is not None:
            mats = embed(pending)
            for phrase, vec in zip(pending, mats, strict=True):
                for found in vectors.search_entities(vec, 1, min_score=vector_cutoff):
                    if found.score >= vector_cutoff:
                        links.append(LinkedEntity(found.entity_id, phrase, 0.8 * found.score, "vector"))
        best: dict[str, LinkedEntity] = {}
        for lk in links:
            if lk.entity_id not in best or best[lk.entity_id].score < lk.score:
                best[lk.entity_id] = lk
        return sorted(best.values(), key=lambda lk: (-lk.score, lk.entity_id))
