"""Moving a store to another embedding model without downtime: build beside, gate, switch, roll back, prune.

``migrate`` adds a vector space for the new model (:mod:`graph.spaces`) and records it as
*building*; from then on every ingest batch writes it too (:class:`service.vector_spaces.Mirrors`).
It then fills the space by *reconciling* it with the active one, in batches of documents:
every document whose chunk set differs between the two spaces is embedded again with the new
model and written, every document and entity the active space no longer has is removed from
the new one. Reconciling compares what is stored, so a migration killed at any point resumes
where it stopped when run again, and it repeats until a pass finds nothing to do (a batch of an
ingest that began before the space was recorded, or a document replaced while the pass read
it, is caught by the next pass). Queries keep using the active space all the while.

When the space is complete, the evaluation gate compares retrieval on the golden set with
both spaces (recall@5 may drop by at most 1 point, p95 retrieval latency grow by at most 25%;
``force`` overrides). Passing, the switch is one write of the space record: servers reopen
the collection on the new space within a few seconds, requests already running finish on the
old one, so no response mixes the two. The old space stays current (ingest keeps writing it)
until ``prune``, so ``rollback`` is instant: it reconciles the previous space (usually nothing
to do) and switches back.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

from core.errors import ConflictError, InputError
from core.settings import Settings
from extraction.pipeline import chunk_vector_text, entity_vector_text
from graph.knowledge import KnowledgeStore
from graph.model import DocumentBundle
from graph.ontology import Ontology
from graph.ports import VectorStore
from graph.spaces import ORIGINAL, Space, SpaceRecord, State, load_spaces, save_spaces, space_id
from graph.store import open_vector_space
from inference.embedder import Embedder
from inference.identity import EmbedderIdentity
from retrieval.evaluation import EvalQuestion, evaluate
from retrieval.retriever import Retriever
from service.model_lifecycle import RECALL_MARGIN, gate_reasons
from service.model_stamps import EMBEDDER
from service.vector_spaces import Embedders

Progress = Callable[[str, int, int], None]  # (phase, done, total)
BATCH_DOCUMENTS = 32
MAX_PASSES = 6
GATED = ("recall@5", "latency_ms_p95")
GATE_ROUNDS = 2  # evaluations of each space, in turn, for the latency gate


@dataclass(slots=True)
class ReconcileCounts:
    """What reconciling a space did."""

    documents_written: int = 0
    documents_deleted: int = 0
    chunks_written: int = 0
    entities_written: int = 0
    entities_deleted: int = 0
    passes: int = 0


@dataclass(slots=True)
class MigrationResult:
    """The outcome of :func:`migrate` (or :func:`rollback`)."""

    space: str
    model: str
    counts: ReconcileCounts
    seconds: float
    switched: bool
    figures: dict[str, dict[str, float | None]] = field(default_factory=dict)  # "current"/"candidate" -> metric
    reasons: list[str] = field(default_factory=list)  # why the gate failed ([] when it passed or was not run)

    def as_dict(self) -> dict[str, object]:
        """The JSON form (a migration job's report)."""
        c = self.counts
        return {"space": self.space, "model": self.model, "switched": self.switched, "seconds": round(self.seconds, 2),
                "documents_written": c.documents_written, "chunks_written": c.chunks_written,
                "entities_written": c.entities_written, "removed": c.documents_deleted + c.entities_deleted,
                "passes": c.passes, "gate": self.figures, "reasons": self.reasons}

    def table(self) -> str:
        """The gate's side-by-side markdown table ("" when no gate ran)."""
        if not self.figures:
            return ""
        lines = ["| metric | in use | candidate |", "| --- | --- | --- |"]
        for metric in GATED:
            a, b = self.figures["current"].get(metric), self.figures["candidate"].get(metric)
            lines.append(f"| {metric} | {'-' if a is None else a} | {'-' if b is None else b} |")
        return "\n".join(lines)


def _record(store: KnowledgeStore, current: EmbedderIdentity) -> SpaceRecord:
    """The store's space record; a store that never migrated gets one describing its original space."""
    record = load_spaces(store.graph)
    if record is None:
        record = SpaceRecord(ORIGINAL, None, {ORIGINAL: Space(current.name, current.checksum, current.dimension)})
    return record


def reconcile(store: KnowledgeStore, source: VectorStore, target: VectorStore, embedder: Embedder,
              ontology: Ontology, progress: Progress | None = None, batch: int = BATCH_DOCUMENTS) -> ReconcileCounts:
    """Make ``target`` hold vectors (by ``embedder``) of exactly the chunks and entities ``source`` holds.

    Raises:
        StoreUnavailableError, StoreError: a store failed (what was written stays; a rerun goes on from there).
        ModelError: the embedder failed.
    """
    counts = ReconcileCounts()
    changed: set[str] = set()
    for _ in range(MAX_PASSES):
        counts.passes += 1
        snapshot = store.graph.snapshot()
        before = {d[0]: d[2] for d in snapshot.documents}
        entities = {e[0]: e for e in snapshot.entities}
        want, have = _by_doc(source.chunk_docs()), _by_doc(target.chunk_docs())
        write = sorted(d for d, chunks in want.items() if have.get(d) != chunks or d in changed)
        delete = sorted(d for d in have if d not in want)
        want_e, have_e = source.entity_ids(), target.entity_ids()
        add_e, drop_e = sorted(want_e - have_e), sorted(have_e - want_e)
        if not (write or delete or add_e or drop_e):
            break
        total = len(write) + len(delete) + len(add_e) + len(drop_e)
        done = 0
        for i in range(0, len(write), batch):
            part = write[i : i + batch]
            counts.chunks_written += _write_documents(store, target, embedder, part, want)
            counts.documents_written += len(part)
            done += len(part)
            if progress is not None:
                progress("vectors", done, total)
        for doc_id in delete:
            target.delete_document(doc_id)
        counts.documents_deleted += len(delete)
        done += len(delete)
        for i in range(0, len(add_e), batch * 8):
            part = add_e[i : i + batch * 8]
            counts.entities_written += _write_entities(target, embedder, ontology, part, entities)
            done += len(part)
            if progress is not None:
                progress("vectors", done, total)
        if drop_e:
            target.delete_entities(drop_e)
        counts.entities_deleted += len(drop_e)
        after = {d[0]: d[2] for d in store.graph.snapshot().documents}
        changed = {d for d, h in after.items() if before.get(d) != h}
    return counts


def _by_doc(chunk_docs: dict[str, str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for chunk_id, doc_id in chunk_docs.items():
        out[doc_id].add(chunk_id)
    return {d: frozenset(c) for d, c in out.items()}


def _write_documents(store: KnowledgeStore, target: VectorStore, embedder: Embedder, doc_ids: Sequence[str],
                     want: dict[str, frozenset[str]]) -> int:
    """Embed the documents' chunks (those the source space holds) with the new model and write them."""
    bundles: list[DocumentBundle] = []
    texts: list[str] = []
    for doc_id in doc_ids:
        document = store.graph.get_document(doc_id)
        if document is None:  # deleted meanwhile: the next pass removes it from the target
            continue
        chunks = sorted(store.graph.get_chunks(sorted(want[doc_id])), key=lambda c: c.start)
        texts += [chunk_vector_text(document.title, c.text) for c in chunks]
        bundles.append(DocumentBundle(replace(document, text=""), tuple(chunks), (), (), (), None))
    vectors = embedder.encode(texts)
    offset = 0
    written = []
    for b in bundles:
        n = len(b.chunks)
        written.append(replace(b, chunk_vectors=vectors[offset : offset + n]))
        offset += n
    if written:
        target.write_documents(written)
    return offset


def _write_entities(target: VectorStore, embedder: Embedder, ontology: Ontology, entity_ids: Sequence[str],
                    entities: dict[str, tuple[str, str, str, str, bool]]) -> int:
    """Embed the entities' merge keys (as ingest does) with the new model and write them; an entity the graph
    no longer holds is left out (its vector goes from the source space too, and the next pass drops it)."""
    ids, texts = [], []
    for entity_id in entity_ids:
        row = entities.get(entity_id)
        if row is None:
            continue
        _id, name, entity_type, _key, pinned = row
        ids.append(entity_id)
        texts.append(entity_vector_text(name, entity_type, pinned, ontology.aliases))
    if ids:
        target.upsert_entities(ids, embedder.encode(texts))
    return len(ids)


def _gate_figures(current: tuple[KnowledgeStore, Embedder], candidate: tuple[KnowledgeStore, Embedder],
                  ontology: Ontology, questions: Sequence[EvalQuestion]) -> dict[str, dict[str, float | None]]:
    """Both spaces' figures on the golden set, each evaluated :data:`GATE_ROUNDS` times in turn; the lowest p95
    of each is kept, so that load on the machine at one moment does not decide the latency gate."""
    figures: dict[str, dict[str, float | None]] = {}
    retrievers = {name: Retriever(store, embedder, ontology) for name, (store, embedder) in
                  (("current", current), ("candidate", candidate))}
    for _ in range(GATE_ROUNDS):
        for name, retriever in retrievers.items():
            report = evaluate(retriever, list(questions), ["hybrid"])["hybrid"].as_dict()
            seen = figures.setdefault(name, {"recall@5": report.get("recall@5"), "latency_ms_p95": None})
            p95 = report.get("latency_ms_p95")
            if p95 is not None and (seen["latency_ms_p95"] is None or p95 < seen["latency_ms_p95"]):
                seen["latency_ms_p95"] = p95
    return figures


def judge(current: dict[str, float | None], candidate: dict[str, float | None]) -> list[str]:
    """Why the new space fails the gate ([] when it passes)."""
    return gate_reasons(current, candidate, {"recall@5": RECALL_MARGIN}, "latency_ms_p95", "retrieval latency",
                        " ms")


def migrate(settings: Settings, store: KnowledgeStore, ontology: Ontology, embedders: Embedders, name: str,
            questions: Sequence[EvalQuestion], *, force: bool = False, progress: Progress | None = None,
            ) -> MigrationResult:
    """Build the vectors of the embedding model ``name`` beside the store's, gate them on ``questions`` and switch
    the store to them when they pass (or ``force``). Rerun after a crash, it goes on where it stopped.

    Raises:
        InputError: no golden questions and no ``force``.
        ConflictError: the store already uses that model, or another process switched its space meanwhile.
        ConfigError, ModelError: a model cannot be loaded.
        StoreUnavailableError, StoreError: a store failed.
    """
    started = time.perf_counter()
    if not questions and not force:
        raise InputError("a migration is gated on a golden set: give one (--golden, or the collection's "
                         "golden.json), or --force to switch without the gate")
    current = embedders.of_store(store)
    new = embedders.named(name)
    if new.identity.same_space(current.identity):
        raise ConflictError(f"the store's vectors are already those of {new.identity.describe()}")
    record = _record(store, current.identity)
    if record.active != store.vectors.space:
        raise ConflictError("the store was switched to another vector space meanwhile: open it again")
    target_space = space_id(new.identity.checksum)
    record.spaces[target_space] = Space(name, new.identity.checksum, new.identity.dimension, "building")
    save_spaces(store.graph, record)  # from here on, ingest writes the new space too
    target = open_vector_space(settings, target_space)
    try:
        counts = reconcile(store, store.vectors, target, new, ontology, progress)
        _set_state(store, target_space, "ready")
        figures: dict[str, dict[str, float | None]] = {}
        reasons: list[str] = []
        if questions:
            if progress is not None:
                progress("gate: evaluating both spaces on the golden set", 0, 0)
            figures = _gate_figures((store, current), (KnowledgeStore(store.graph, target), new), ontology,
                                    questions)
            reasons = judge(figures["current"], figures["candidate"])
        switched = not reasons or force
        if switched:
            _switch(store, target_space, new.identity)
    finally:
        target.close()
    return MigrationResult(target_space, name, counts, time.perf_counter() - started, switched, figures, reasons)


def rollback(settings: Settings, store: KnowledgeStore, ontology: Ontology, embedders: Embedders,
             progress: Progress | None = None) -> MigrationResult:
    """Switch the store back to the space it used before the last switch (reconciled first: ingest kept it
    current, so usually nothing is left to do).

    Raises:
        ConflictError: no previous space (nothing was migrated, or it was pruned).
        ConfigError, ModelError, StoreUnavailableError, StoreError: as :func:`migrate`.
    """
    started = time.perf_counter()
    record = load_spaces(store.graph)
    if record is None or record.previous is None or record.previous not in record.spaces:
        raise ConflictError("no previous vector space to roll back to (nothing was migrated, or it was pruned)")
    back = record.spaces[record.previous]
    embedder = embedders.for_space(back)
    target = open_vector_space(settings, record.previous)
    try:
        counts = reconcile(store, store.vectors, target, embedder, ontology, progress)
        _switch(store, record.previous, embedder.identity)
    finally:
        target.close()
    return MigrationResult(record.previous, back.name, counts, time.perf_counter() - started, True)


def prune(settings: Settings, store: KnowledgeStore) -> list[str]:
    """Delete every vector space but the active one (after which rollback is no longer possible).

    Returns:
        The spaces deleted.

    Raises:
        StoreUnavailableError, StoreError: a store failed (spaces not yet deleted stay listed).
    """
    record = load_spaces(store.graph)
    if record is None:
        return []
    gone = []
    for name in [s for s in record.spaces if s != record.active]:
        vectors = open_vector_space(settings, name)
        try:
            vectors.drop()
        finally:
            vectors.close()
        record = load_spaces(store.graph) or record
        record.spaces.pop(name, None)
        if record.previous == name:
            record.previous = None
        save_spaces(store.graph, record)
        gone.append(name)
    return gone


def _set_state(store: KnowledgeStore, space: str, state: State) -> None:
    record = load_spaces(store.graph)
    if record is not None and space in record.spaces:
        record.spaces[space] = replace(record.spaces[space], state=state)
        save_spaces(store.graph, record)


def _switch(store: KnowledgeStore, space: str, identity: EmbedderIdentity) -> None:
    """Make ``space`` the active one: one write of the space record (then the embedder stamp, for tools that
    read only that)."""
    record = load_spaces(store.graph)
    assert record is not None
    record.previous, record.active = record.active, space
    save_spaces(store.graph, record)
    store.graph.save_model_stamp(EMBEDDER, json.dumps(asdict(identity), sort_keys=True))
