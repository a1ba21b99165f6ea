from __future__ import annotations

from extraction.chunking import Chunker


def test_short_text_is_one_exact_chunk() -> None:
    text = "  Ilse Marnik founded Northwind Holdings.  "
    [chunk] = Chunker(200, 30).split("d1", text)
    assert text[chunk.start : chunk.end] == chunk.text == text.strip()


def test_long_text_splits_on_sentences_with_exact_spans_and_overlap() -> None:
    sentences = [f"Sentence number {i} talks about the city of Tampere and robots." for i in range(60)]
    text = "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, 60, 3))
    chunks = Chunker(60, 10).split("d1", text)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text.split()) <= 70
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start <= a.end or not text[a.end : b.start].strip()  # nothing but whitespace is skipped
    assert len({c.id for c in chunks}) == len(chunks)
