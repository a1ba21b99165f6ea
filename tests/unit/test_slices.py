"""Slices of ingest work: bounded in chunks and documents, a large document spread over several, progress
through its text exact."""

from __future__ import annotations

from extraction.chunking import Chunker
from extraction.slices import OpenDocument, slices
from graph.model import Document


def _doc(doc_id: str, words: int) -> Document:
    text = " ".join(f"w{i}" for i in range(words))
    return Document(doc_id, f"/{doc_id}.txt", doc_id, "", text, {}, ())


def test_small_documents_share_a_slice_and_a_large_one_spans_several() -> None:
    chunker = Chunker(50, 5)
    docs = [_doc("a", 30), _doc("b", 40), _doc("big", 2000), _doc("c", 20)]
    cut = list(slices(docs, chunker, max_chunks=10, max_documents=64))
    assert all(sum(len(p.chunks) for p in s) <= 10 for s in cut)
    big = [p for s in cut for p in s if p.doc.id == "big"]
    assert len(big) >= 4 and [p.last for p in big] == [False] * (len(big) - 1) + [True]
    chunks = [c for p in big for c in p.chunks]
    assert chunks == chunker.split("big", docs[2].text)  # every chunk once, in order
    assert [p.doc.id for p in cut[0]][:2] == ["a", "b"]  # small ones travel together
    ends = [p.doc.id for s in cut for p in s if p.last]
    assert ends == ["a", "b", "big", "c"]


def test_a_slice_ends_at_the_document_limit() -> None:
    cut = list(slices([_doc(str(i), 10) for i in range(7)], Chunker(50, 5), max_chunks=100, max_documents=3))
    assert [len(s) for s in cut] == [3, 3, 1]


def test_progress_through_a_document_adds_up_to_its_length() -> None:
    doc = _doc("big", 3000)
    acc = OpenDocument(doc)
    moved = [acc.advance(p) for s in slices([doc], Chunker(50, 5), 7, 64) for p in s]
    assert all(m > 0 for m in moved) and sum(moved) == len(doc.text)
