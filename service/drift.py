"""Query drift: how far the questions asked are from the collection's golden set, per embedding model.

The statistic is the cosine similarity between a question's embedding and the *golden centroid*: the
normalised mean of the embeddings of the golden set's questions (the collection's ``golden.json``, at most
:data:`MAX_QUESTIONS` of them, embedded once per model and file version). Questions like those the models
were evaluated on score high; when the distribution of ``hopgraph_query_golden_similarity`` moves down and
stays there, users ask about something the last evaluation did not cover: re-evaluate (extend the golden
set, then ``hopgraph models promote`` / ``migrate-embeddings`` to compare).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from core.errors import InputError
from inference.embedder import Embedder
from retrieval.evaluation import load_questions

MAX_QUESTIONS = 200


class GoldenCentroid:
    """The golden centroid of one collection, recomputed when its golden file or the embedder changes."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self._path = path
        self._embedder = embedder
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._centroid: np.ndarray | None = None

    def similarity(self, query_vector: np.ndarray | None) -> float | None:
        """Cosine similarity of ``query_vector`` to the centroid; None without a golden set (or vector).

        Blocking (embeds the golden questions the first time): call it from a worker thread.
        """
        if query_vector is None:
            return None
        centroid = self._current()
        return None if centroid is None else float(np.dot(centroid, np.asarray(query_vector, dtype=np.float32)))

    def _current(self) -> np.ndarray | None:
        try:
            stamp = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    questions = [q.question for q in load_questions(self._path, MAX_QUESTIONS)]
                except InputError:
                    questions = []
                self._centroid = None
                if questions:
                    mean = self._embedder.encode(questions).mean(axis=0)
                    norm = float(np.linalg.norm(mean))
                    self._centroid = (mean / norm).astype(np.float32) if norm > 0 else None
            return self._centroid
