"""The ingest pipeline: files -> records -> documents -> chunks, graph, vectors -> stores.

Batches of documents flow through four stages: read, NLP (spaCy), embed and
write. Embedding of one batch runs in a worker thread while the next batch is
parsed; each batch is committed in one transaction, so an interrupted ingest
leaves whole documents or nothing, and a rerun skips what is already stored.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError, ModelError
from extraction.canonical import ChunkExtraction, canonicalise
from extraction.chunking import Chunker
from extraction.nlp import NlpResult, NlpRunner
from extraction.proposals import Proposal, proposals_of
from extraction.readers import JsonFields, SourceRecord, discover, read_file
from extraction.slices import OpenDocument, Part, slices
from graph.curation import Curation, parse_records
from graph.knowledge import KnowledgeStore
from graph.model import Document, DocumentBundle, Entity, Relation, stable_id
from graph.normalize import normalize_name
from graph.ontology import AliasRules
from graph.ports import VectorStore
from inference.embedder import Embedder

STAGES = ("read", "nlp", "embed", "write")
_PARSE_AHEAD = 8  # batches the NLP worker may run ahead of embedding and writing
_NOT_EMBEDDED_TYPES = frozenset({"Date"})  # linked by exact match only; not worth a vector


@dataclass(slots=True)
class FileFailure:
    """A file that was not ingested, and why."""

    path: str
    reason: str


@dataclass(slots=True)
class IngestReport:
    """What one ingest run did."""

    files: int = 0
    documents: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    rejected: int = 0
    seconds: float = 0.0
    failures: list[FileFailure] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def ok(self) -> bool:
        """True when every file was ingested."""
        return not self.failures


def document_id(source: str, key: str) -> str:
    """The identifier of the document read from ``source`` (and record ``key``)."""
    return stable_id("doc", source, key, length=16)


def _make_document(source: str, rec: SourceRecord, acl: tuple[str, ...]) -> Document:
    """The document of one record; ``acl`` applies unless the record carries its own."""
    text = f"{rec.title}\n\n{rec.text.strip()}" if rec.title and rec.key else rec.text
    acl = rec.acl if rec.acl is not None else acl
    fingerprint: list[object] = [rec.title, text, rec.metadata]
    if acl:  # a changed ACL is a changed document (re-ingesting it applies the new one)
        fingerprint.append(list(acl))
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    meta = {**rec.metadata, "record": rec.key} if rec.key else dict(rec.metadata)
    return Document(document_id(source, rec.key), source, digest, rec.title, text, meta, acl)


def entity_vector_text(name: str, entity_type: str, pinned: bool, rules: AliasRules) -> str:
    """What an entity's vector embeds: its merge key, the same whichever document named it first (a curated
    name for a pinned entity), so that the vector says nothing about a document a viewer may not see."""
    if pinned:
        return name
    return normalize_name(name, entity_type, rules) or name


def chunk_vector_text(title: str, text: str) -> str:
    """What a chunk's vector embeds: its text, after the document's title when the chunk does not hold it."""
    return f"{title}: {text}" if title and title not in text else text


def embeds_entity_type(entity_type: str) -> bool:
    """Whether entities of this type get a vector (dates are linked by exact match only)."""
    return entity_type not in _NOT_EMBEDDED_TYPES


def _vector_text(entity: Entity, rules: AliasRules) -> str:
    return entity_vector_text(entity.name, entity.type, entity.pinned, rules)


def _title_in(doc: Document, start: int, end: int) -> tuple[str, int]:
    """(title, offset in the chunk) when the chunk ``[start, end)`` holds the document's title."""
    if not doc.title:
        return "", 0
    pos = doc.text.find(doc.title, 0, 400)
    if pos < 0 or not (start <= pos and pos + len(doc.title) <= end):
        return "", 0
    return doc.title, pos - start


@dataclass(slots=True)
class _Prepared:
    parts: list[Part]
    finished: list[tuple[OpenDocument, DocumentBundle]]  # the documents whose last part this slice holds
    embed_texts: list[str]  # the slice's chunks
    entity_ids: list[str]
    entity_names: list[str]
    rejected: list[list[Relation]]  # per finished document: the relations the ontology refused
    text_advance: int  # characters of text the slice moves progress by


ProposalSink = Callable[[list[str], list[Proposal]], None]
"""Receives, after each committed batch, the ids of its documents and what extraction proposes for review
in them (``extraction.proposals``); it replaces what was proposed for those documents before."""


class IngestPipeline:
    """Ingests files into a :class:`KnowledgeStore`."""

    def __init__(
        self,
        store: KnowledgeStore,
        nlp: NlpRunner,
        embedder: Embedder,
        chunker: Chunker,
        *,
        max_file_bytes: int,
        json_fields: JsonFields,
        batch_documents: int = 64,
        batch_chunks: int = 256,
        mirrors: Callable[[], Sequence[tuple[VectorStore, Embedder]]] | None = None,
        proposals: ProposalSink | None = None,
        review_below: float = 0.6,
    ) -> None:
        """Args:
        mirrors: the other vector spaces ingest keeps current (a migration's new vectors, the previous
            model's for rollback) with the embedder of each, asked once per written batch.
        proposals: where the review items of each committed batch go (none: not collected).
        review_below: stored relations under this confidence are proposed for review.
        batch_documents, batch_chunks: a slice of work ends at so many documents or chunks, whichever comes
            first (a larger document spans several slices; it is written once, whole).
        """
        self._proposals = proposals
        self._review_below = review_below
        self._store = store
        self._mirrors = mirrors
        self._nlp = nlp
        self._embedder = embedder
        self._chunker = chunker
        self._max_bytes = max_file_bytes
        self._fields = json_fields
        self._batch = batch_documents
        self._batch_chunks = batch_chunks
        self._open: dict[str, OpenDocument] = {}
        self._curation = Curation()
        self._reembed: frozenset[str] = frozenset()

    # -- reading ------------------------------------------------------------------

    def read(self, paths: list[Path], pattern: str | None, report: IngestReport,
             acl: tuple[str, ...] = ()) -> list[Document]:
        """Read every file; failures go to the report, changed files' stale records are deleted.

        ``acl``: the principals who may see the documents (none: everyone), unless a JSON
        record carries its own ``acl``."""
        t0 = time.perf_counter()
        files, missing = discover(paths, pattern)
        report.failures.extend(FileFailure(str(p), why) for p, why in missing)
        report.files = len(files)
        documents: list[Document] = []
        for path in files:
            source = str(path.resolve())
            try:
                records = read_file(path, self._max_bytes, self._fields)
            except InputError as exc:
                report.failures.append(FileFailure(str(path), str(exc).removeprefix(f"{path}: ")))
                continue
            docs = [_make_document(source, rec, acl) for rec in records]
            fresh = {d.id for d in docs}
            for old in self._store.graph.find_documents(source):
                if old.id not in fresh:  # a record that left a changed file
                    self._store.delete(old.id)
                    report.removed += 1
            documents.extend(docs)
        stored = self._store.graph.document_hashes(d.id for d in documents)
        todo = [d for d in documents if stored.get(d.id) != d.sha256]
        report.unchanged = len(documents) - len(todo)
        report.stages["read"] += time.perf_counter() - t0
        return todo

    # -- processing -----------------------------------------------------------------

    def _items(self, parts: list[Part]) -> list[tuple[str, int, str, int]]:
        return [(c.text, c.start, *_title_in(p.doc, c.start, c.end)) for p in parts for c in p.chunks]

    def _assemble(self, parts: list[Part], results: list[NlpResult], embedded: set[str]) -> _Prepared:
        """Collect each part's extractions; canonicalise the documents that end here; list what to embed."""
        it = iter(results)
        finished: list[tuple[OpenDocument, DocumentBundle]] = []
        refused: list[list[Relation]] = []
        embed_texts: list[str] = []
        new_entities: dict[str, str] = {}
        rules = self._nlp.ontology.aliases
        advance = 0
        for part in parts:
            acc = self._open.setdefault(part.doc.id, OpenDocument(part.doc))
            advance += acc.advance(part)
            for c in part.chunks:
                res = next(it)
                acc.rejected += res.mentions.rejected + res.rejected_relations
                acc.extractions.append(ChunkExtraction(c.id, c.start, res.mentions.mentions, res.relations,
                                                       res.rejected))
                acc.chunks.append(c)
                embed_texts.append(chunk_vector_text(part.doc.title, c.text))
            if not part.last:
                continue
            entities, mentions, relations, rejected_relations = canonicalise(part.doc.id, acc.extractions, rules,
                                                                             self._curation)
            refused.append(rejected_relations)
            for e in entities:
                if e.id not in embedded and e.type not in _NOT_EMBEDDED_TYPES:
                    new_entities.setdefault(e.id, _vector_text(e, rules))
            finished.append((acc, DocumentBundle(part.doc, tuple(acc.chunks), tuple(entities), tuple(mentions),
                                                 tuple(relations), None, acc.rejected)))
        missing = self._store.vectors.missing_entities(new_entities)
        ids = [e for e in new_entities if e in missing or e in self._reembed]
        embedded.update(ids)
        return _Prepared(parts, finished, embed_texts, ids, [new_entities[e] for e in ids], refused, advance)

    def _encode(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        """``texts`` embedded a slice's worth at a time (never one unbounded call)."""
        pieces = [embedder.encode(texts[i : i + self._batch_chunks]) for i in range(0, len(texts), self._batch_chunks)]
        if not pieces:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    def _embed(self, prepared: _Prepared, report: IngestReport) -> tuple[list[DocumentBundle], np.ndarray]:
        """Embed the slice's chunks and the new entities; the finished documents' bundles, with every chunk
        vector, and the entity vectors."""
        t0 = time.perf_counter()
        vectors = self._encode(self._embedder, prepared.embed_texts + prepared.entity_names)
        n = len(prepared.embed_texts)
        offset = 0
        for part in prepared.parts:
            k = len(part.chunks)
            self._open[part.doc.id].vectors.append(vectors[offset : offset + k])
            offset += k
        bundles = []
        for acc, b in prepared.finished:
            bundles.append(DocumentBundle(b.document, b.chunks, b.entities, b.mentions, b.relations,
                                          acc.chunk_vectors(vectors.shape[1]), b.rejected))
            del self._open[b.document.id]
        report.stages["embed"] += time.perf_counter() - t0
        return bundles, vectors[n:]

    def _write(self, bundles: list[DocumentBundle], prepared: _Prepared, entity_vecs: np.ndarray,
               report: IngestReport) -> int:
        t0 = time.perf_counter()
        removed = self._store.write(bundles, prepared.entity_ids, entity_vecs) if bundles or prepared.entity_ids \
            else []
        for vectors, embedder in self._mirrors() if self._mirrors is not None else ():
            self._mirror(vectors, embedder, prepared, bundles, removed)
        if self._proposals is not None and bundles:
            found = [p for b, refused in zip(bundles, prepared.rejected, strict=True)
                     for p in proposals_of(b, refused, self._review_below)]
            self._proposals([b.document.id for b in bundles], found)
        report.stages["write"] += time.perf_counter() - t0
        report.documents += len(bundles)
        report.chunks += sum(len(b.chunks) for b in bundles)
        report.rejected += sum(b.rejected for b in bundles)
        return len(bundles)

    def _mirror(self, vectors: VectorStore, embedder: Embedder, prepared: _Prepared, bundles: list[DocumentBundle],
                removed: Sequence[str]) -> None:
        """Write the finished documents' chunk vectors and the new entity vectors into another space too,
        embedded by its own model."""
        texts = [chunk_vector_text(b.document.title, c.text) for b in bundles for c in b.chunks]
        encoded = self._encode(embedder, texts + prepared.entity_names)
        n, offset = len(texts), 0
        mirrored = []
        for b in bundles:
            k = len(b.chunks)
            mirrored.append(DocumentBundle(b.document, b.chunks, (), (), (), encoded[offset : offset + k]))
            offset += k
        if mirrored:
            vectors.write_documents(mirrored)
        if prepared.entity_ids:
            vectors.upsert_entities(prepared.entity_ids, encoded[n:])
        if removed:
            vectors.delete_entities(removed)

    def run(
        self,
        paths: list[Path],
        pattern: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        acl: tuple[str, ...] = (),
        text_progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Ingest ``paths``; ``progress(documents done, documents)`` is called after each committed batch,
        ``text_progress(characters done, characters)`` after each slice of work (progress inside a large file).

        ``acl``: who may see the documents (see :meth:`read`).

        Parsing runs ahead in the NLP worker (``_PARSE_AHEAD`` slices), this thread
        canonicalises and embeds, and a writer thread commits the previous slice's finished documents
        meanwhile (one write in flight, in order), so store latency hides behind embedding.

        Raises:
            StoreError: a store failed; batches committed before stay committed.
            ConfigError, ModelError: a model could not be loaded.
        """
        started = time.perf_counter()
        report = IngestReport()
        self._curation, self._reembed = parse_records(self._store.graph.curation_rules()), frozenset()
        todo = self.read(paths, pattern, report, acl)
        self._process(todo, report, progress, text_progress)
        report.seconds = time.perf_counter() - started
        return report

    def reprocess(
        self,
        doc_ids: list[str],
        reembed: frozenset[str] = frozenset(),
        progress: Callable[[int, int], None] | None = None,
        text_progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Extract the stored documents ``doc_ids`` again (their text as stored), under the current
        curation rules, and write them back; ``reembed``: entities whose vectors are renewed.

        Used after a curation change; ids no longer stored are skipped.

        Raises:
            StoreError, ConfigError, ModelError: as :meth:`run`.
        """
        started = time.perf_counter()
        report = IngestReport()
        self._curation, self._reembed = parse_records(self._store.graph.curation_rules()), reembed
        try:
            todo = [d for d in (self._store.graph.get_document(i) for i in doc_ids) if d is not None]
            self._process(todo, report, progress, text_progress)
        finally:
            self._reembed = frozenset()
        report.seconds = time.perf_counter() - started
        return report

    def _process(
        self, todo: list[Document], report: IngestReport, progress: Callable[[int, int], None] | None,
        text_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Slices of at most ``batch_chunks`` chunks flow through the stages (see :mod:`extraction.slices`);
        ``progress(documents written, documents)`` after each commit, ``text_progress(characters processed,
        characters)`` after each slice, so that a large file shows progress inside it."""
        todo = list({d.id: d for d in todo}.values())  # one document id is processed once (its parts share it)
        if progress is not None:
            progress(0, len(todo))
        text_total, text_done = sum(len(d.text) for d in todo), 0
        if text_progress is not None:
            text_progress(0, text_total)
        pending_slices = slices(todo, self._chunker, self._batch_chunks, self._batch)
        queue: deque[tuple[list[Part], Future[tuple[list[NlpResult], float]]]] = deque()

        def submit() -> None:
            parts = next(pending_slices, None)
            if parts is not None:
                queue.append((parts, self._nlp.submit(self._items(parts))))

        done = 0
        embedded: set[str] = set()
        self._open = {}
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hopgraph-write")
        pending: Future[int] | None = None

        def committed(write: Future[int]) -> None:
            nonlocal done
            done += write.result()
            if progress is not None:
                progress(done, len(todo))

        try:
            for _ in range(_PARSE_AHEAD):
                submit()
            while queue:
                parts, future = queue.popleft()
                submit()
                try:
                    results, nlp_seconds = future.result()
                except BrokenProcessPool as exc:
                    raise ModelError(f"the NLP worker process died (out of memory?): {exc}") from exc
                report.stages["nlp"] += nlp_seconds
                prepared = self._assemble(parts, results, embedded)
                bundles, entity_vecs = self._embed(prepared, report)
                if pending is not None:
                    committed(pending)
                pending = writer.submit(self._write, bundles, prepared, entity_vecs, report)
                text_done += prepared.text_advance
                if text_progress is not None:
                    text_progress(text_done, text_total)
            if pending is not None:
                committed(pending)
                pending = None
        finally:
            for _, future in queue:
                future.cancel()
            writer.shutdown(wait=True)  # a write in flight finishes (or fails) as one transaction
            self._open = {}
        stats = self._store.graph.stats()
        report.entities, report.relations = stats.entities, stats.relations
