"""Readers: one file -> source records (text with an optional title and key).

Plain text, Markdown, HTML, PDF, DOCX, and JSON/JSONL records. Every failure is
an :class:`~core.errors.InputError` naming the reason; a file that fails
contributes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import (
    DocumentTooLargeError,
    EmptyDocumentError,
    InputError,
    MalformedDocumentError,
    UnsupportedFormatError,
)
from graph.access import check_principals

log = logging.getLogger(__name__)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,2}\s+(.+?)\s*#*\s*$", re.MULTILINE)
SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".json", ".jsonl"})


@dataclass(frozen=True, slots=True)
class JsonFields:
    """Which fields of a JSON record hold its text, title and id."""

    text: str = "text"
    title: str = "title"
    id: str = "id"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """Text read from a file; ``key`` tells records of one file apart ('' for whole files)."""

    key: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    acl: tuple[str, ...] | None = None  # the record's own ACL (a JSON ``acl`` field), None: the ingest's


def _decode(raw: bytes, path: Path) -> str:
    if b"\x00" in raw[:8192]:
        raise MalformedDocumentError(f"{path}: binary content (NUL bytes) in a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedDocumentError(f"{path}: not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _html_text(markup: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    lines = [" ".join(line.split()) for line in soup.get_text("\n").splitlines()]
    return title, "\n".join(line for line in lines if line)


class _Collect(logging.Handler):
    """Keeps a parser's log records instead of letting them reach the terminal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _parser_warnings(name: str) -> Iterator[_Collect]:
    """While parsing, the ``name`` logger's warnings are collected, not printed over the progress bar
    (pypdf logs "EOF marker not found" and the like on its own); they are logged at debug level after."""
    logger = logging.getLogger(name)
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        for message in handler.messages:
            log.debug("%s: %s", name, message)


def _root_cause(exc: BaseException) -> BaseException:
    """The parser's own error: llama-index retries the read (tenacity) and raises a RetryError around it."""
    last = getattr(exc, "last_attempt", None)
    inner = last.exception() if last is not None and hasattr(last, "exception") else None
    return inner if isinstance(inner, BaseException) else exc


def _llama_reader_text(path: Path, suffix: str) -> str:
    from llama_index.readers.file import DocxReader, PDFReader

    reader = PDFReader(return_full_document=True) if suffix == ".pdf" else DocxReader()
    kind = suffix[1:].upper()
    with _parser_warnings("pypdf") as warnings:
        try:
            docs = reader.load_data(file=path)
        except Exception as exc:  # third-party parsers raise many types; translated, never swallowed
            cause = _root_cause(exc)
            detail = str(cause) or type(cause).__name__
            seen = f" ({'; '.join(dict.fromkeys(warnings.messages))})" if warnings.messages else ""
            raise MalformedDocumentError(f"{path}: not a readable {kind} file: {detail}{seen}") from exc
    return "\n\n".join(d.text for d in docs)


def _records_from_json(data: Any, path: Path, fields: JsonFields) -> Iterator[SourceRecord]:
    if isinstance(data, dict) and fields.text not in data:
        # {title: text-or-sentences} (HotpotQA corpus style)
        for title, body in data.items():
            if isinstance(body, list) and all(isinstance(s, str) for s in body):
                body = "".join(body) if any(s.startswith(" ") for s in body[1:]) else " ".join(body)
            if not isinstance(body, str):
                raise MalformedDocumentError(f"{path}: value of {title!r} is neither text nor a list of sentences")
            yield SourceRecord(key=str(title), title=str(title), text=body)
        return
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        yield _record(item, index, path, fields)


def _record(item: Any, index: int, path: Path, fields: JsonFields) -> SourceRecord:
    if not isinstance(item, dict):
        raise MalformedDocumentError(f"{path}: record {index} is not an object")
    text = item.get(fields.text)
    if not isinstance(text, str):
        raise MalformedDocumentError(f"{path}: record {index} has no text field {fields.text!r}")
    title = item.get(fields.title, "")
    title = title if isinstance(title, str) else str(title)
    rid = item.get(fields.id)
    key = str(rid) if rid is not None else (title or str(index))
    meta = {k: v for k, v in item.items() if k not in (fields.text,) and isinstance(v, (str, int, float, bool))}
    acl: tuple[str, ...] | None = None
    if "acl" in item:
        raw = item["acl"]
        if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
            raise MalformedDocumentError(f"{path}: record {index}: acl must be a list of principals (strings)")
        try:
            acl = check_principals(raw, allow_all=False)
        except InputError as exc:
            raise MalformedDocumentError(f"{path}: record {index}: {exc}") from exc
        meta.pop("acl", None)
    return SourceRecord(key=key, title=title, text=text, metadata=meta, acl=acl)


def read_file(path: Path, max_bytes: int, fields: JsonFields) -> list[SourceRecord]:
    """Read ``path`` into source records.

    Args:
        path: the file.
        max_bytes: files larger than this are refused.
        fields: field names of JSON records.

    Returns:
        At least one record, each with non-empty text.

    Raises:
        UnsupportedFormatError, DocumentTooLargeError, EmptyDocumentError,
        MalformedDocumentError: the file cannot be ingested (nothing of it is).
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(f"{path}: unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentTooLargeError(f"{path}: {size} bytes exceeds the limit of {max_bytes}")
        raw = path.read_bytes()
    except OSError as exc:
        raise MalformedDocumentError(f"{path}: unreadable: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise EmptyDocumentError(f"{path}: empty file")
    records: list[SourceRecord]
    if suffix in (".pdf", ".docx"):
        records = [SourceRecord("", path.stem, _llama_reader_text(path, suffix))]
    elif suffix in (".html", ".htm"):
        title, text = _html_text(_decode(raw, path))
        records = [SourceRecord("", title or path.stem, text)]
    elif suffix == ".json":
        try:
            data = json.loads(_decode(raw, path))
        except json.JSONDecodeError as exc:
            raise MalformedDocumentError(f"{path}: invalid JSON: {exc}") from exc
        records = list(_records_from_json(data, path, fields))
    elif suffix == ".jsonl":
        records = []
        for lineno, line in enumerate(_decode(raw, path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedDocumentError(f"{path}:{lineno}: invalid JSON: {exc}") from exc
            records.append(_record(item, lineno - 1, path, fields))
    else:
        text = _decode(raw, path)
        title = ""
        if suffix in (".md", ".markdown"):
            heading = _MD_HEADING.search(text)
            title = heading.group(1).strip() if heading else ""
        records = [SourceRecord("", title, text)]
    return _check(records, path)


def _check(records: list[SourceRecord], path: Path) -> list[SourceRecord]:
    if not records:
        raise EmptyDocumentError(f"{path}: no records")
    seen: dict[str, int] = {}
    out: list[SourceRecord] = []
    for index, rec in enumerate(records):
        if not rec.text.strip():
            where = f" record {rec.key or index}" if rec.key else ""
            raise EmptyDocumentError(f"{path}:{where} no text")
        n = seen.get(rec.key, 0)
        seen[rec.key] = n + 1
        key = rec.key if n == 0 else f"{rec.key}#{n + 1}"
        out.append(SourceRecord(key, rec.title, rec.text, rec.metadata, rec.acl))
    return out


def discover(paths: list[Path], pattern: str | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and directories (recursively) into files to ingest.

    Args:
        paths: files and directories.
        pattern: glob applied to file names under directories (e.g. ``*.md``).

    Returns:
        (files in a stable order, [(path, reason)] for paths that do not exist).
    """
    files: list[Path] = []
    missing: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob(pattern or "*") if f.is_file())
            if pattern is None:
                found = [f for f in found if f.suffix.lower() in SUPPORTED_SUFFIXES]
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            missing.append((p, "no such file or directory"))
    return list(dict.fromkeys(files)), missing
