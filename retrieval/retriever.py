"""Hybrid multi-hop retrieval that explains itself.

1. Analyse the question: embed it; link its entity mentions (exact/alias n-grams,
   fuzzy and vector matches of NER phrases).
2. Seed evidence: dense chunks, BM25 chunks, linked entities.
3. Expand through the graph: personalised PageRank over the entity-chunk graph,
   seeded by the linked entities (weighted by link score and specificity), the
   entities of the top dense/keyword chunks and those chunks themselves
   (weighted by their scores), as in HippoRAG.
4. Fuse the rankings (weighted reciprocal rank fusion) and attach, to each
   passage, the relation paths joining the question's entities to its entities.
Modes ``dense``, ``keyword``, ``graph`` and ``hybrid`` share this result shape.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.errors import InputError, StoreError
from graph.knowledge import KnowledgeStore
from graph.model import ScoredChunk
from graph.ontology import Ontology
from inference.embedder import Embedder
from retrieval.fusion import linear_fusion, reciprocal_rank_fusion
from retrieval.graph_index import Edge, GraphIndex
from retrieval.linking import EntityLinker, LinkedEntity
from retrieval.types import MODES, Passage, PathEdge, RetrievalResult

_CAPITALISED = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|and|for|in|on|von|van|da|la|&)?\s*[A-Z0-9][\w'’.-]*)*")
MAX_QUESTION_CHARS = 2000
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """Knobs of the retriever; one configuration for every dataset."""

    candidates: int = 50  # chunks taken from each of dense and keyword search
    seed_chunks: int = 1  # top dense (and keyword, if seed_keyword) chunks whose entities seed PPR
    seed_keyword: bool = False  # BM25 differs between backends; dense seeds alone rank as well
    damping: float = 0.8
    ppr_hops: int = 2
    link_weight: float = 2.0
    chunk_seed_weight: float = 0.5
    passage_seed_weight: float = 0.0
    fusion: str = "linear"  # linear: dense cosine + weights * max-normalised scores; rrf: reciprocal rank
    weight_dense: float = 1.0
    weight_keyword: float = 0.1
    weight_graph: float = 2.5
    rrf_k: float = 60.0
    path_hops: int = 3
    # graphs with more mention and relation pairs than this are rebuilt in a background thread while queries use
    # the previous index (about 4.5 s to rebuild at 10k passages and 340k pairs); smaller ones in the request
    sync_rebuild_max_pairs: int = 150_000


class Retriever:
    """Answers ``retrieve(question, mode, k)`` over a knowledge store."""

    def __init__(
        self,
        store: KnowledgeStore,
        embedder: Embedder,
        ontology: Ontology,
        phrases: Callable[[str], list[str]] | None = None,
        config: RetrievalConfig | None = None,
    ) -> None:
        """Args:
        store: the knowledge store to search.
        embedder: the same embedder that indexed the store.
        ontology: for name normalisation rules.
        phrases: returns entity-like phrases of a question (spaCy NER); capitalised spans if None.
        config: retrieval knobs.
        """
        self._store = store
        self._embedder = embedder
        self._ontology = ontology
        self._phrases = phrases
        self.config = config or RetrievalConfig()
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None
        self.rebuilds = 0  # graph index builds so far (benchmarks report it)
        self._index: GraphIndex | None = None
        self._linker: EntityLinker | None = None
        self._name_cache: dict[str, str] = {}
        self._names_version = ""

    # -- indexes ------------------------------------------------------------------

    def _indexes(self) -> tuple[GraphIndex, EntityLinker]:
        """The graph index and linker, rebuilt when the store changed: in the request while the graph is small,
        else in one background thread while requests go on with the previous index (which lags the store by
        about one build time)."""
        version = self._store.graph.version()
        with self._lock:
            index, linker = self._index, self._linker
            if index is not None and linker is not None:
                if index.version == version:
                    return index, linker
                if index.pairs > self.config.sync_rebuild_max_pairs:
                    if self._building is None:
                        self._building = threading.Thread(target=self._rebuild, name="hopgraph-graph-index",
                                                          daemon=True)
                        self._building.start()
                    return index, linker
            self._index, self._linker = self._build(version)
            return self._index, self._linker

    def _build(self, version: str) -> tuple[GraphIndex, EntityLinker]:
        graph = self._store.graph
        self.rebuilds += 1
        return (GraphIndex(graph.mention_pairs(), graph.relation_pairs(), version),
                EntityLinker(graph.entity_keys(), self._ontology.aliases))

    def _rebuild(self) -> None:
        """Build the indexes of the store's current version and put them in place (background thread)."""
        try:
            index, linker = self._build(self._store.graph.version())
            with self._lock:
                self._index, self._linker = index, linker
        except StoreError as exc:  # the store failed: the previous index stays; the next request tries again
            log.warning("graph index rebuild failed (queries use the previous index): %s", exc)
        finally:
            with self._lock:
                self._building = None

    def wait_for_rebuild(self, timeout: float | None = None) -> None:
        """Wait until a background rebuild in progress (if any) has put its index in place."""
        building = self._building
        if building is not None:
            building.join(timeout)

    def warm(self) -> None:
        """Build the indexes now rather than on the first question."""
        self._indexes()

    def graph_index(self) -> GraphIndex:
        """The graph index the retriever ranks with (current with the store), for path queries."""
        return self._indexes()[0]

    # -- retrieval ------------------------------------------------------------------

    def retrieve(self, question: str, mode: str = "hybrid", k: int = 5) -> RetrievalResult:
        """Retrieve the ``k`` best passages for ``question``.

        Raises:
            InputError: empty or overlong question, unknown mode, k < 1.
            StoreError: a store failed.
        """
        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if k < 1:
            raise InputError("k must be at least 1")
        started = time.perf_counter()
        cfg = self.config
        index, linker = self._indexes()
        qvec = self._embedder.encode([question])[0]
        want = max(k, cfg.candidates)
        dense = self._store.vectors.search_chunks(qvec, want) if mode in ("dense", "hybrid", "graph") else []
        keyword = self._store.vectors.keyword_search(question, want) if mode in ("keyword", "hybrid", "graph") else []
        graph_scores: dict[str, float] = {}
        # linking runs in every mode: it explains which question entities a passage mentions
        phrases = self._phrases(question) if self._phrases else _CAPITALISED.findall(question)
        linked = linker.link(question, phrases, self._embedder.encode, self._store.vectors)
        if mode in ("graph", "hybrid"):
            graph_scores = self._graph_scores(index, linked, dense, keyword)

        if mode == "dense":
            fused = [(c.chunk_id, c.score) for c in dense]
        elif mode == "keyword":
            fused = [(c.chunk_id, c.score) for c in keyword]
        elif mode == "graph":
            fused = sorted(graph_scores.items(), key=lambda kv: (-kv[1], kv[0]))
        else:
            graph_ranked = [c for c, _ in sorted(graph_scores.items(), key=lambda kv: (-kv[1], kv[0]))][:want]
            weights = {"dense": cfg.weight_dense, "keyword": cfg.weight_keyword, "graph": cfg.weight_graph}
            if cfg.fusion == "rrf":
                rankings = {"dense": [c.chunk_id for c in dense], "keyword": [c.chunk_id for c in keyword],
                            "graph": graph_ranked}
                fused = reciprocal_rank_fusion(rankings, weights, cfg.rrf_k)
            else:
                fused = linear_fusion(
                    {"dense": {c.chunk_id: c.score for c in dense},
                     "keyword": {c.chunk_id: c.score for c in keyword},
                     "graph": {c: graph_scores[c] for c in graph_ranked}},
                    weights, raw={"dense"},
                )
        top = fused[:k]
        signals = {
            "dense": {c.chunk_id: c.score for c in dense},
            "keyword": {c.chunk_id: c.score for c in keyword},
            "graph": graph_scores,
        }
        passages = self._passages(top, signals, index, linked)
        latency = (time.perf_counter() - started) * 1000.0
        return RetrievalResult(question, mode, passages, linked, latency, self._embedder.identity.name, qvec)

    def _graph_scores(
        self, index: GraphIndex, linked: Sequence[LinkedEntity], dense: Sequence[ScoredChunk],
        keyword: Sequence[ScoredChunk],
    ) -> dict[str, float]:
        cfg = self.config
        seeds: dict[int, float] = {}

        def add(node: int | None, weight: float) -> None:
            if node is not None and weight > 0:
                seeds[node] = seeds.get(node, 0.0) + weight

        for lk in linked:
            node = index.entity_node.get(lk.entity_id)
            if node is not None:
                add(node, cfg.link_weight * lk.score * index.specificity(node))
        for hits in (dense, keyword if cfg.seed_keyword else []):
            if not hits:
                continue
            top = hits[: cfg.seed_chunks]
            best = max(h.score for h in top) or 1.0
            for h in top:
                rel = max(h.score, 0.0) / best if best > 0 else 0.0
                for ent in index.chunk_entity_nodes(h.chunk_id):
                    add(int(ent), cfg.chunk_seed_weight * rel * index.specificity(int(ent)))
            for h in hits:
                rel = max(h.score, 0.0) / best if best > 0 else 0.0
                add(index.chunk_node.get(h.chunk_id), cfg.passage_seed_weight * rel)
        if not seeds:
            return {}
        nodes, mass = index.ppr(seeds, damping=cfg.damping, hops=cfg.ppr_hops)
        first_chunk = index.n_entities
        keep = (nodes >= first_chunk) & (mass > 0)
        return {index.chunk_ids[int(n) - first_chunk]: float(m) for n, m in zip(nodes[keep], mass[keep], strict=True)}

    # -- explanation ------------------------------------------------------------------

    def _passages(
        self, top: list[tuple[str, float]], signals: dict[str, dict[str, float]], index: GraphIndex,
        linked: Sequence[LinkedEntity],
    ) -> list[Passage]:
        graph = self._store.graph
        chunks = {c.id: c for c in graph.get_chunks([cid for cid, _ in top])}
        titles = graph.document_titles([c.doc_id for c in chunks.values()])
        linked_nodes = [n for lk in linked[:8] if (n := index.entity_node.get(lk.entity_id)) is not None]
        linked_ids = {lk.entity_id for lk in linked}
        parents = index.shortest_paths(linked_nodes, self.config.path_hops) if linked_nodes else {}
        all_paths: list[list[list[tuple[int, Edge]]]] = []
        passages: list[Passage] = []
        for cid, score in top:
            chunk = chunks.get(cid)
            if chunk is None:
                continue  # deleted between search and fetch
            ents = set(index.chunk_entity_nodes(cid).tolist())
            reached = sorted((n for n in ents if n in parents and parents[n] is not None),
                             key=lambda n: (len(index.path_to(parents, n)), n))
            all_paths.append([index.path_to(parents, n) for n in reached[:3]])
            mentioned = [index.entity_ids[n] for n in ents if index.entity_ids[n] in linked_ids]
            passages.append(
                Passage(
                    chunk_id=cid, doc_id=chunk.doc_id, title=titles.get(chunk.doc_id, ""), start=chunk.start,
                    end=chunk.end, text=chunk.text, score=float(score),
                    scores={name: float(vals[cid]) for name, vals in signals.items() if cid in vals},
                    entities=sorted(mentioned),
                )
            )
        self._explain_paths(passages, all_paths, index)
        return passages

    def _names(self, ids: list[str], version: str) -> dict[str, str]:
        """Entity names, cached for as long as the graph does not change."""
        with self._lock:
            if self._names_version != version:
                self._name_cache.clear()
                self._names_version = version
            missing = [e for e in ids if e not in self._name_cache]
        found = self._store.graph.entity_names(missing) if missing else {}
        with self._lock:
            self._name_cache.update(found)
            return {e: self._name_cache.get(e, e) for e in ids}

    def _explain_paths(
        self, passages: list[Passage], all_paths: list[list[list[tuple[int, Edge]]]], index: GraphIndex
    ) -> None:
        graph = self._store.graph
        nodes = {n for paths in all_paths for path in paths for _, e in path for n in (e.head, e.tail)}
        if not nodes:
            return
        ids = [index.entity_ids[n] for n in nodes]
        evidence = graph.best_evidence([e.relation_id for paths in all_paths for path in paths for _, e in path])
        names = self._names(ids, index.version)
        for passage, paths in zip(passages, all_paths, strict=True):
            for path in paths:
                edges: list[PathEdge] = []
                for start, e in path:
                    h, t = index.entity_ids[e.head], index.entity_ids[e.tail]
                    ev = evidence.get(e.relation_id)
                    forward = e.head == start
                    edges.append(
                        PathEdge(h, names[h], e.type, t, names[t], ev.chunk_id if ev else None,
                                 ev.doc_id if ev else None, ev.start if ev else None, ev.end if ev else None,
                                 forward)
                    )
                passage.paths.append(edges)
