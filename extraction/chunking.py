"""Chunking: a document's text -> chunks with exact character spans.

Sentence-aware splitting by llama-index's ``SentenceSplitter`` (word counts,
no tokenizer download); each chunk is then located in the source text so its
span is exact, and its text is exactly ``text[start:end]``.
"""

from __future__ import annotations

from graph.model import Chunk, stable_id


def _words(text: str) -> list[str]:
    return text.split()


class Chunker:
    """Splits texts into overlapping, sentence-aligned chunks of about ``size`` words."""

    def __init__(self, size: int, overlap: int) -> None:
        from llama_index.core.node_parser import SentenceSplitter

        self._size = size
        self._splitter = SentenceSplitter(
            chunk_size=size, chunk_overlap=overlap, tokenizer=_words, include_metadata=False
        )

    def split(self, doc_id: str, text: str) -> list[Chunk]:
        """Chunks of ``text``; a short text is one chunk covering all of it."""
        if len(text.split()) <= self._size:
            start = len(text) - len(text.lstrip())
            end = len(text.rstrip())
            return [Chunk(stable_id(doc_id, "0"), doc_id, start, end, text[start:end])]
        chunks: list[Chunk] = []
        cursor = 0
        for piece in self._splitter.split_text(text):
            piece = piece.strip()
            if not piece:
                continue
            start = text.find(piece, max(0, cursor - len(piece)))
            if start < 0:
                start = self._locate(text, piece, cursor)
            end = start + len(piece)
            chunks.append(Chunk(stable_id(doc_id, str(len(chunks))), doc_id, start, end, text[start:end]))
            cursor = start + 1
        return chunks

    @staticmethod
    def _locate(text: str, piece: str, cursor: int) -> int:
        """Find a piece whose whitespace the splitter changed: anchor on its first words."""
        head = " ".join(piece.split()[:8])
        pos = text.find(head, max(0, cursor - 1))
        if pos >= 0:
            return pos
        first = piece.split()[0]
        pos = text.find(first, max(0, cursor - 1))
        return pos if pos >= 0 else cursor
