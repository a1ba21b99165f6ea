from __future__ import annotations

import numpy as np

from inference.embedder import Embedder


def test_vectors_are_normalised_and_in_input_order(embedder: Embedder) -> None:
    texts = ["A robot that sorts parcels.", "x", "The capital of Finland is Helsinki, a city on the Baltic Sea coast."]
    vecs = embedder.encode(texts)
    assert vecs.shape == (3, embedder.dimension) == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    again = embedder.encode(texts[::-1])[::-1]
    assert np.allclose(vecs, again, atol=1e-5)


def test_similar_meaning_is_closer(embedder: Embedder) -> None:
    q, near, far = embedder.encode(
        ["Who founded the shipping company?", "Toomas Kask founded Baltia Lines, a ferry operator.",
         "Tampere hosts a film festival."]
    )
    assert float(q @ near) > float(q @ far) + 0.1


def test_empty_input(embedder: Embedder) -> None:
    assert embedder.encode([]).shape == (0, 384)
