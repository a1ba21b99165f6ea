"""VisibleVectors: a read-only VectorStore showing one viewer the chunks and entities it may see.

- Vector search filters the hidden documents out *before* ranking (the adapters' pre-filter).
- Keyword search is scored here, with BM25 over the visible chunks alone: the adapters' own
  BM25 (SQLite FTS5, Weaviate) takes its statistics from the whole index, so a hidden chunk
  would change the scores of visible ones. Document frequencies come from the visible chunks
  that hold a query word, lengths are chunk lengths in characters.
- Entity vector search returns the best visible entities.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from core.errors import StoreError
from graph.model import DocumentBundle, ScoredChunk, ScoredEntity
from graph.normalize import keyword_terms, keyword_words
from graph.ports import MAX_KEYWORD_MATCHES, Vector, VectorStore
from graph.visible.graph_store import VisibleGraph

BM25_K1 = 1.2
BM25_B = 0.75
_TIE_MARGIN = 8


def bm25(
    terms: Sequence[str], matches: Iterable[tuple[str, str, Counter[str]]], lengths: dict[str, int], n_docs: int,
    mean_length: float,
) -> list[ScoredChunk]:
    """Okapi BM25 (Lucene's idf) of every match, best first (ties by chunk id).

    Args:
        terms: the distinct query words.
        matches: (chunk id, document id, its word counts) of every chunk of the collection holding a term.
        lengths: chunk id -> length; a match without one is left out.
        n_docs: how many chunks the collection holds.
        mean_length: their mean length.
    """
    counted: list[tuple[str, str, dict[str, int], int]] = []
    df: Counter[str] = Counter()
    for cid, did, words in matches:
        if cid not in lengths:
            continue
        tf = {t: words[t] for t in terms if words.get(t)}
        if tf:
            counted.append((cid, did, tf, lengths[cid]))
            df.update(tf.keys())
    idf = {t: math.log(1.0 + (n_docs - df[t] + 0.5) / (df[t] + 0.5)) for t in terms if df[t]}
    norm = mean_length or 1.0
    scored: list[ScoredChunk] = []
    for cid, did, tf, length in counted:
        score = 0.0
        for t in terms:
            f = tf.get(t, 0)
            if f:
                score += idf[t] * f * (BM25_K1 + 1.0) / (f + BM25_K1 * (1.0 - BM25_B + BM25_B * length / norm))
        scored.append(ScoredChunk(cid, did, score))
    scored.sort(key=lambda c: (-c.score, c.chunk_id))
    return scored


class VisibleVectors(VectorStore):
    """The vectors one viewer may see (writes are refused: they go to the store itself)."""

    def __init__(self, base: VectorStore, graph: VisibleGraph) -> None:
        self._base = base
        self._graph = graph

    def _read_only(self) -> StoreError:
        return StoreError("a restricted view of a store is read-only")

    def write_documents(self, bundles: Sequence[DocumentBundle]) -> None:
        """Refused."""
        raise self._read_only()

    def upsert_entities(self, entity_ids: Sequence[str], vectors: Vector) -> None:
        """Refused."""
        raise self._read_only()

    def delete_document(self, doc_id: str) -> None:
        """Refused."""
        raise self._read_only()

    def delete_entities(self, entity_ids: Sequence[str]) -> None:
        """Refused."""
        raise self._read_only()

    def search_chunks(
        self, vector: Vector, k: int, doc_ids: Sequence[str] | None = None, exclude_docs: Collection[str] = ()
    ) -> list[ScoredChunk]:
        """See :meth:`VectorStore.search_chunks`: hidden documents excluded before the search."""
        hidden = self._graph.data().hidden_docs
        # a few more than asked, so that chunks tied in score are cut by id, not by storage order
        excluded = hidden | frozenset(exclude_docs)
        found = self._base.search_chunks(vector, k + _TIE_MARGIN, doc_ids, exclude_docs=excluded)
        return sorted(found, key=lambda c: (-c.score, c.chunk_id))[:k]

    def keyword_matches(self, words: Sequence[str], exclude_docs: Collection[str] = ()) -> list[tuple[str, str, str]]:
        """See :meth:`VectorStore.keyword_matches` (visible chunks only)."""
        hidden = self._graph.data().hidden_docs
        return self._base.keyword_matches(words, hidden | frozenset(exclude_docs))

    def keyword_search(self, query: str, k: int, doc_ids: Sequence[str] | None = None) -> list[ScoredChunk]:
        """See :meth:`VectorStore.keyword_search`: BM25 over the visible chunks (see the module docstring)."""
        terms = keyword_terms(query)
        if k <= 0 or not terms or (doc_ids is not None and not doc_ids):
            return []
        data = self._graph.data()
        matches = self._base.keyword_matches(terms, data.hidden_docs)
        if doc_ids is not None:
            allowed = set(doc_ids)
            matches = [m for m in matches if m[1] in allowed]
        counts = self._graph.word_counts
        counted = []
        for cid, did, text in matches:
            words = counts.get(cid)
            if words is None:
                words = counts[cid] = Counter(keyword_words(text))
            counted.append((cid, did, words))
        lengths = {cid: end - start for cid, (_, start, end) in data.chunks.items()}
        n = len(data.chunks)
        return bm25(terms, counted, lengths, n, data.total_chars / n if n else 1.0)[:k]

    def search_entities(self, vector: Vector, k: int, min_score: float | None = None) -> list[ScoredEntity]:
        """See :meth:`VectorStore.search_entities`: the ``k`` best visible entities."""
        if k <= 0:
            return []
        visible = self._graph.data().entities
        want = max(4 * k, 16) if min_score is None else MAX_KEYWORD_MATCHES  # few score above a cutoff
        while True:
            found = self._base.search_entities(vector, want, min_score)
            kept = sorted((e for e in found if e.entity_id in visible), key=lambda e: (-e.score, e.entity_id))
            if len(kept) >= k or len(found) < want:
                return kept[:k]
            want *= 4

    def missing_entities(self, entity_ids: Iterable[str]) -> set[str]:
        """See :meth:`VectorStore.missing_entities`."""
        return self._base.missing_entities(entity_ids)

    def chunk_docs(self) -> dict[str, str]:
        """See :meth:`VectorStore.chunk_docs`: the visible chunks only."""
        hidden = self._graph.data().hidden_docs
        return {c: d for c, d in self._base.chunk_docs().items() if d not in hidden}

    def entity_ids(self) -> set[str]:
        """See :meth:`VectorStore.entity_ids`: the visible entities only."""
        return self._base.entity_ids() & set(self._graph.data().entities)

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Vector]:
        """See :meth:`VectorStore.chunk_vectors`: the visible chunks only."""
        visible = self._base.chunk_docs()
        hidden = self._graph.data().hidden_docs
        return self._base.chunk_vectors([c for c in chunk_ids if visible.get(c) not in hidden])

    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, Vector]:
        """See :meth:`VectorStore.entity_vectors`: the visible entities only."""
        seen = set(self._graph.data().entities)
        return self._base.entity_vectors([e for e in entity_ids if e in seen])

    def drop(self) -> None:
        """A restricted view is read-only.

        Raises:
            StoreError: always.
        """
        raise self._read_only()

    def close(self) -> None:
        """Nothing to release: the underlying store is closed by its owner."""
