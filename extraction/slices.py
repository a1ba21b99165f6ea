"""Bounded units of ingest work: documents cut into slices of at most so many chunks.

Small documents travel many to a slice; a large one (a 15 MB text is some 15,000 chunks) is spread over
several, so that no spaCy or embedding call is larger than one slice, and progress moves inside the file.
A document's parts are collected in an :class:`OpenDocument` until its last one is processed; only then is
it canonicalised and written, whole, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from extraction.canonical import ChunkExtraction
from extraction.chunking import Chunker
from graph.model import Chunk, Document


@dataclass(slots=True)
class Part:
    """Some consecutive chunks of one document; ``last``: its final ones."""

    doc: Document
    chunks: list[Chunk]
    last: bool


def slices(docs: Iterable[Document], chunker: Chunker, max_chunks: int, max_documents: int) -> Iterator[list[Part]]:
    """The documents' chunks, in order, in slices of at most ``max_chunks`` chunks that end at most
    ``max_documents`` documents each (chunked as the slices are asked for)."""
    current: list[Part] = []
    size = ended = 0
    for doc in docs:
        chunks = chunker.split(doc.id, doc.text)
        at = 0
        while True:
            take = chunks[at : at + max(1, max_chunks - size)]
            at += len(take)
            last = at >= len(chunks)
            current.append(Part(doc, take, last))
            size += len(take)
            ended += last
            if size >= max_chunks or ended >= max_documents:
                yield current
                current, size, ended = [], 0, 0
            if last:
                break
    if current:
        yield current


@dataclass(slots=True)
class OpenDocument:
    """A document whose parts are being processed."""

    doc: Document
    chunks: list[Chunk] = field(default_factory=list)
    extractions: list[ChunkExtraction] = field(default_factory=list)
    rejected: int = 0  # mentions and relations the ontology refused
    vectors: list[np.ndarray] = field(default_factory=list)
    covered: int = 0  # characters of its text processed so far

    def advance(self, part: Part) -> int:
        """Characters of the text ``part`` takes progress through (the whole rest when it is the last)."""
        end = len(self.doc.text) if part.last or not part.chunks else max(self.covered, part.chunks[-1].end)
        moved, self.covered = end - self.covered, end
        return moved

    def chunk_vectors(self, dim: int) -> np.ndarray:
        """Every chunk's vector, in order."""
        if not self.vectors:
            return np.zeros((0, dim), dtype=np.float32)
        return np.concatenate(self.vectors) if len(self.vectors) > 1 else self.vectors[0]
