"""Every supported format, and every kind of bad input, with a clear reason."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from core.errors import (
    DocumentTooLargeError,
    EmptyDocumentError,
    MalformedDocumentError,
    UnsupportedFormatError,
)
from extraction.readers import JsonFields, discover, read_file
from tests.conftest import MUSIQUE

FIELDS = JsonFields()


def make_pdf(path: Path, text: str) -> None:
    """A minimal one-page PDF with real text content (correct xref offsets)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer <</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def make_docx(path: Path, paragraphs: list[str]) -> None:
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr("word/document.xml", f'<?xml version="1.0"?><w:document {ns}><w:body>{body}</w:body></w:document>')


def test_text_markdown_html(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Plain text about Tampere.")
    (tmp_path / "b.md").write_text("# Corvel Robotics\n\nA maker of robots.")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Baltia</title><script>x=1</script></head><body><p>Ferries.</p></body></html>"
    )
    [a] = read_file(tmp_path / "a.txt", 10_000, FIELDS)
    [b] = read_file(tmp_path / "b.md", 10_000, FIELDS)
    [c] = read_file(tmp_path / "c.html", 10_000, FIELDS)
    assert a.text == "Plain text about Tampere." and a.title == ""
    assert b.title == "Corvel Robotics" and "maker of robots" in b.text
    assert c.title == "Baltia" and c.text == "Ferries."


def test_pdf_and_docx(tmp_path: Path) -> None:
    make_pdf(tmp_path / "d.pdf", "Northwind Holdings acquired Corvel Robotics")
    make_docx(tmp_path / "e.docx", ["Ilse Marnik founded Northwind Holdings.", "She was born in Utrecht."])
    [pdf] = read_file(tmp_path / "d.pdf", 100_000, FIELDS)
    [docx] = read_file(tmp_path / "e.docx", 100_000, FIELDS)
    assert "Northwind Holdings acquired Corvel Robotics" in pdf.text
    assert "Ilse Marnik founded Northwind Holdings." in docx.text and "Utrecht" in docx.text


def test_json_records_list_jsonl_and_title_map(tmp_path: Path) -> None:
    (tmp_path / "l.json").write_text(json.dumps([{"title": "T1", "text": "one"}, {"title": "T1", "text": "two"}]))
    (tmp_path / "m.jsonl").write_text('{"id": 7, "text": "seven"}\n\n{"id": 8, "text": "eight", "lang": "en"}\n')
    (tmp_path / "h.json").write_text(json.dumps({"Paris": ["Paris is a city.", " It is in France."]}))
    recs = read_file(tmp_path / "l.json", 10_000, FIELDS)
    assert [(r.key, r.text) for r in recs] == [("T1", "one"), ("T1#2", "two")]  # duplicate titles stay distinct
    jl = read_file(tmp_path / "m.jsonl", 10_000, FIELDS)
    assert [r.key for r in jl] == ["7", "8"] and jl[1].metadata["lang"] == "en"
    [h] = read_file(tmp_path / "h.json", 10_000, FIELDS)
    assert (h.title, h.text) == ("Paris", "Paris is a city. It is in France.")


def test_custom_json_fields(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps([{"body": "hello", "name": "N", "uid": "u1"}]))
    [r] = read_file(tmp_path / "c.json", 10_000, JsonFields(text="body", title="name", id="uid"))
    assert (r.key, r.title, r.text) == ("u1", "N", "hello")


def test_musique_corpus_ingests_as_is() -> None:
    corpus = MUSIQUE / "corpus.json"  # a slice of ../shared/data/musique/corpus.json, in the same format
    recs = read_file(corpus, 50_000_000, FIELDS)
    assert len(recs) == len(json.loads(corpus.read_text())) and all(r.text for r in recs)


@pytest.mark.parametrize(
    ("name", "content", "error", "reason"),
    [
        ("bin.txt", b"abc\x00\x01\x02", MalformedDocumentError, "binary"),
        ("latin.txt", "caf\xe9".encode("latin-1"), MalformedDocumentError, "UTF-8"),
        ("empty.md", b"   \n", EmptyDocumentError, "empty"),
        ("bad.json", b'{"text": ', MalformedDocumentError, "invalid JSON"),
        ("norec.json", b"[1, 2]", MalformedDocumentError, "not an object"),
        ("notext.jsonl", b'{"title": "x"}\n', MalformedDocumentError, "no text field"),
        ("blank.json", b'[{"text": "  "}]', EmptyDocumentError, "no text"),
        ("broken.pdf", b"%PDF-1.4 nonsense", MalformedDocumentError, "PDF"),
        ("image.png", b"\x89PNG\r\n", UnsupportedFormatError, "unsupported"),
    ],
)
def test_bad_input_has_a_clear_reason(tmp_path: Path, name: str, content: bytes, error: type, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=reason):
        read_file(path, 10_000, FIELDS)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(DocumentTooLargeError, match="exceeds"):
        read_file(path, 100, FIELDS)


def test_discover_recurses_filters_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.md").write_text("x")
    (tmp_path / "y.txt").write_text("y")
    (tmp_path / "z.bin").write_text("z")
    files, missing = discover([tmp_path, tmp_path / "nope"])
    assert sorted(f.name for f in files) == ["x.md", "y.txt"]
    assert missing and missing[0][1] == "no such file or directory"
    md_only, _ = discover([tmp_path], "*.md")
    assert [f.name for f in md_only] == ["x.md"]
