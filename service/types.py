"""The result types the faces render, from the layers below (one place for the faces to import them)."""

from __future__ import annotations

from graph.model import Document, Entity, StoreStats
from retrieval.answer import Answer, Citation, Step
from retrieval.linking import LinkedEntity
from retrieval.types import MODES, Passage, PathEdge, RetrievalResult

__all__ = ["MODES", "Answer", "Citation", "Document", "Entity", "LinkedEntity", "PathEdge", "Passage",
           "RetrievalResult", "Step", "StoreStats"]
