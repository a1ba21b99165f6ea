"""Sentence embeddings with sentence-transformers, loaded once, off the hub.

``encode`` sorts texts by length before batching (less padding) and returns
L2-normalised float32 rows in the caller's order.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from core.errors import ModelError
from core.settings import Settings
from inference.identity import EmbedderIdentity
from inference.registry import resolve_embedding_model, sha256_file, weights_file


class Embedder(Protocol):
    """Anything that turns texts into normalised vectors."""

    dimension: int
    identity: EmbedderIdentity

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU (torch or ONNX Runtime backend)."""

    def __init__(self, model_dir: Path, *, backend: Literal["torch", "onnx", "openvino"], batch_size: int,
                 max_seq_length: int, threads: int, name: str = "") -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        try:
            self._model = SentenceTransformer(
                str(model_dir), device="cpu", backend=backend, local_files_only=True
            )
        except (OSError, ValueError, ImportError) as exc:
            raise ModelError(f"cannot load embedding model {model_dir}: {exc}") from exc
        self._model.max_seq_length = max_seq_length
        self._batch_size = batch_size
        self._lock = threading.Lock()
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ModelError(f"embedding model {model_dir} has no fixed dimension")
        self.dimension = int(dim)
        self.identity = EmbedderIdentity(name, sha256_file(weights_file(model_dir)), self.dimension)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """See :class:`Embedder`."""
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name (``embedding_backend``: onnx-int8 or torch).

    Raises:
        ConfigError: the model cannot be found.
        ModelError: it cannot be loaded.
    """
    model_dir = resolve_embedding_model(settings.embedding_model)
    embedder: Embedder
    if settings.embedding_backend == "onnx-int8":
        from inference.onnx_embedder import OnnxEmbedder

        embedder = OnnxEmbedder(
            model_dir,
            settings.model_cache_dir or settings.data_dir / "models",
            batch_size=settings.embedding_batch_size,
            max_seq_length=settings.embedding_max_seq_length,
            threads=settings.threads,
            name=settings.embedding_model,
        )
    else:
        embedder = SentenceTransformerEmbedder(
            model_dir,
            backend="torch",
            batch_size=settings.embedding_batch_size,
            max_seq_length=settings.embedding_max_seq_length,
            threads=settings.threads,
            name=settings.embedding_model,
        )
    return embedder
