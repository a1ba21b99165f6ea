"""An in-memory entity-chunk graph for personalised PageRank and path finding.

Built once from the graph store (and rebuilt when the store's version changes; a large graph in the
background, see :meth:`retrieval.retriever.Retriever._indexes`):
entity and chunk nodes, chunk-entity mention edges and entity-entity relation
edges in one symmetric sparse matrix. Each query runs PPR on the few-hop
neighbourhood of its seeds only, so its cost follows the seeds' neighbourhood,
not the size of the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graph.ontology import COOCCURRENCE_RELATION


@dataclass(frozen=True, slots=True)
class Edge:
    """One relation edge as seen from an entity."""

    relation_id: str
    type: str
    head: int  # entity node
    tail: int
    confidence: float


class GraphIndex:
    """Entity nodes ``[0, E)``, chunk nodes ``[E, E + C)``, and their weighted edges."""

    def __init__(
        self,
        mention_pairs: list[tuple[str, str, str]],
        relation_pairs: list[tuple[str, str, str, str, float]],
        version: str,
        relation_weight: float = 1.0,
    ) -> None:
        self.version = version
        self.pairs = len(mention_pairs) + len(relation_pairs)  # what a rebuild costs: reading and indexing these
        entity_ids = sorted({e for _, _, e in mention_pairs} | {h for _, h, _, _, _ in relation_pairs}
                            | {t for _, _, t, _, _ in relation_pairs})
        chunk_doc = dict(sorted({(c, d) for c, d, _ in mention_pairs}))
        self.entity_ids = entity_ids
        self.chunk_ids = list(chunk_doc)
        self.chunk_docs = [chunk_doc[c] for c in self.chunk_ids]
        self.n_entities = len(entity_ids)
        self.entity_node = {e: i for i, e in enumerate(entity_ids)}
        self.chunk_node = {c: self.n_entities + i for i, c in enumerate(self.chunk_ids)}
        n = self.n_entities + len(self.chunk_ids)

        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for c, _, e in mention_pairs:
            rows.append(self.chunk_node[c])
            cols.append(self.entity_node[e])
            vals.append(1.0)
        self.edges: dict[int, list[Edge]] = {}
        for rid, h, t, rtype, conf in relation_pairs:
            hn, tn = self.entity_node[h], self.entity_node[t]
            rows.append(hn)
            cols.append(tn)
            vals.append(relation_weight * conf)
            edge = Edge(rid, rtype, hn, tn, conf)
            self.edges.setdefault(hn, []).append(edge)
            self.edges.setdefault(tn, []).append(edge)
        for lst in self.edges.values():
            lst.sort(key=lambda e: (e.type == COOCCURRENCE_RELATION, -e.confidence))
        upper = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
        self.adj: sp.csr_matrix = (upper + upper.T).tocsr()
        self.adj.sum_duplicates()
        mention_matrix = self.adj[:, self.n_entities :][: self.n_entities]
        self.entity_chunk_count = np.asarray((mention_matrix > 0).sum(axis=1)).ravel()

    @property
    def size(self) -> int:
        """Number of nodes."""
        return int(self.adj.shape[0])

    def chunk_entity_nodes(self, chunk_id: str) -> np.ndarray:
        """Entity nodes mentioned by a chunk."""
        node = self.chunk_node.get(chunk_id)
        if node is None:
            return np.empty(0, dtype=np.int64)
        row = self.adj.indices[self.adj.indptr[node] : self.adj.indptr[node + 1]]
        kept: np.ndarray = row[row < self.n_entities]
        return kept

    def specificity(self, entity_node: int) -> float:
        """1/sqrt(number of chunks mentioning the entity): rare entities weigh more."""
        return float(1.0 / np.sqrt(max(1, int(self.entity_chunk_count[entity_node]))))

    def neighbourhood(self, seeds: np.ndarray, hops: int, max_nodes: int,
                      weights: np.ndarray | None = None) -> np.ndarray:
        """Nodes within ``hops`` of the seeds, at most ``max_nodes`` of them (sorted).

        Breadth-first over the CSR rows with a visited mask. Each hop carries the seeds' mass one random-walk
        step further (``weights``: the seeds' personalisation, uniform when not given); when a hop would pass
        ``max_nodes``, the nodes it reaches with the most mass are kept. (Keeping the lowest ids instead, as
        before, cut 3 in 4 neighbourhoods arbitrarily on a 10k-passage store and graph recall@5 fell from
        0.69 to 0.23.)"""
        frontier, first = np.unique(seeds, return_index=True)
        mass = (np.asarray(weights, dtype=np.float64)[first] if weights is not None
                else np.ones(len(frontier)))
        visited = np.zeros(self.size, dtype=bool)
        visited[frontier] = True
        count = len(frontier)
        for _ in range(hops):
            if count >= max_nodes or len(frontier) == 0:
                break
            rows = self.adj[frontier]
            out = np.asarray(rows.sum(axis=1)).ravel()
            out[out == 0] = 1.0
            reach = rows.T @ (mass / out)  # one step of the walk from the frontier
            fresh = np.flatnonzero((reach > 0) & ~visited)
            room = max_nodes - count
            if len(fresh) > room:
                fresh = np.sort(fresh[np.argpartition(-reach[fresh], room - 1)[:room]]) if room > 0 else fresh[:0]
            visited[fresh] = True
            frontier, mass = fresh, reach[fresh]
            count += len(fresh)
        return np.flatnonzero(visited)

    def ppr(
        self,
        seeds: dict[int, float],
        damping: float = 0.5,
        hops: int = 3,
        max_nodes: int = 20_000,
        iterations: int = 30,
        tolerance: float = 1e-7,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Personalised PageRank from weighted seed nodes over their neighbourhood.

        Args:
            seeds: node -> personalisation weight (positive).
            damping: probability of following an edge rather than jumping back to a seed.

        Returns:
            (nodes, mass): the neighbourhood's node ids and their PPR mass.
        """
        if not seeds:
            return np.empty(0, dtype=np.int64), np.empty(0)
        seed_nodes = np.fromiter(seeds, dtype=np.int64)
        nodes = self.neighbourhood(seed_nodes, hops, max_nodes, np.fromiter(seeds.values(), dtype=np.float64))
        at = np.flatnonzero(np.isin(nodes, seed_nodes))
        local = dict(zip(nodes[at].tolist(), at.tolist(), strict=True))  # seeds only: the rest is never looked up
        sub = self.adj[nodes][:, nodes]
        out_weight = np.asarray(sub.sum(axis=0)).ravel()
        out_weight[out_weight == 0] = 1.0
        transition = sub.multiply(1.0 / out_weight).tocsr()  # column-stochastic
        p = np.zeros(len(nodes))
        for node, w in seeds.items():
            p[local[int(node)]] += w
        p /= p.sum()
        r = p.copy()
        for _ in range(iterations):
            nxt = (1 - damping) * p + damping * (transition @ r)
            dangling = 1.0 - nxt.sum()
            nxt += dangling * p
            if np.abs(nxt - r).sum() < tolerance:
                r = nxt
                break
            r = nxt
        return nodes, r

    def shortest_paths(
        self, sources: list[int], max_hops: int = 3, max_visits: int = 5000
    ) -> dict[int, tuple[int, Edge] | None]:
        """One breadth-first search over relation edges from all sources at once.

        Returns:
            node -> (previous node, edge) for every node reached (sources map to None);
            following the parents back gives a shortest path from some source.
        """
        parents: dict[int, tuple[int, Edge] | None] = {s: None for s in sources}
        frontier = list(dict.fromkeys(sources))
        for _ in range(max_hops):
            nxt: list[int] = []
            for node in frontier:
                for edge in self.edges.get(node, [])[:50]:
                    other = edge.tail if edge.head == node else edge.head
                    if other not in parents:
                        parents[other] = (node, edge)
                        nxt.append(other)
                if len(parents) >= max_visits:
                    return parents
            frontier = nxt
        return parents

    @staticmethod
    def path_to(parents: dict[int, tuple[int, Edge] | None], target: int) -> list[tuple[int, Edge]]:
        """(node walked from, edge) steps from a source to ``target`` (empty if none)."""
        path: list[tuple[int, Edge]] = []
        step = parents.get(target)
        while step is not None:
            prev, edge = step
            path.append((prev, edge))
            step = parents.get(prev)
        return path[::-1]
