"""The curators' review queue: what extraction proposed with low confidence or the ontology rejected.

Ingest hands each committed batch's proposals (``extraction.proposals``) to :meth:`ReviewQueue.replace`,
which keeps them per collection in ``server.db``: a document extracted again replaces its pending items
and keeps the decided ones (ids are stable). A curator decides each item in one step:

- a **low-confidence** relation accepted is kept with confidence 1.0, dismissed it is removed: a
  ``relation:`` curation record (``graph.curation``), so every later extraction keeps the decision;
- a **rejected** relation accepted widens the ontology: a new version whose relation type allows the
  head and tail types (see the ontology's versions and diff), and every pending item of that relation the
  wider ontology allows is accepted with it; dismissed, it stays out.

A decision that changes the graph queues a ``curate`` job that extracts the touched documents again, and
is recorded in the audit log with the change (all or nothing, as any curation). Blocking.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from core.settings import Settings
from extraction.curation import CurationChange
from extraction.proposals import KINDS, Proposal, proposal_id
from graph.curation import RelationFact, relation_record
from graph.ontology import ANY_TYPE, Ontology
from graph.ports import GraphStore
from service import curation
from service import ontology as ontologies
from service.audit import Actor, AuditLog
from service.serverdb import ServerDB

STATUSES = ("pending", "accepted", "dismissed")

_SELECT = "SELECT id, kind, doc_id, body, status, decided_at, decided_by FROM proposals"
GET_ITEM = _SELECT + " WHERE collection = ? AND id = ?"
PAGE = _SELECT + (" WHERE collection = ? AND status = ? AND (? IS NULL OR kind = ?)"
                  " ORDER BY confidence, id LIMIT ? OFFSET ?")
LIKE = _SELECT + " WHERE collection = ? AND status = 'pending' AND kind = 'rejected' AND relation = ?"
COUNTS = "SELECT kind, status, COUNT(*) AS n FROM proposals WHERE collection = ? GROUP BY kind, status"
DOCUMENTS = "SELECT DISTINCT doc_id FROM proposals WHERE collection = ?"
DELETE_PENDING = "DELETE FROM proposals WHERE collection = ? AND status = 'pending' AND doc_id = ?"
DELETE_DOCUMENT = "DELETE FROM proposals WHERE collection = ? AND doc_id = ?"
DELETE_COLLECTION = "DELETE FROM proposals WHERE collection = ?"
INSERT = ("INSERT INTO proposals (collection, id, kind, doc_id, relation, confidence, body, status,"
          " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING")
MARK = "UPDATE proposals SET status = ?, decided_at = ?, decided_by = ? WHERE collection = ? AND id = ?"
REOPEN = ("UPDATE proposals SET status = 'pending', decided_at = NULL, decided_by = NULL"
          " WHERE collection = ? AND id = ?")


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A proposal and its state."""

    proposal: Proposal
    status: str
    decided_at: float | None
    decided_by: str | None

    @property
    def id(self) -> str:
        return self.proposal.id


@dataclass(frozen=True, slots=True)
class ReviewPage:
    """A page of one status's items (lowest confidence first), how many that status holds, and the counts
    of every kind and status."""

    items: list[ReviewItem]
    offset: int
    limit: int
    total: int
    counts: dict[str, dict[str, int]]  # kind -> status -> n


@dataclass(frozen=True, slots=True)
class Decision:
    """What a decision did: the items it settled, the ontology version it made (a widening), and the job
    that applies it to the graph (none when the graph does not change)."""

    items: list[str]
    status: str
    ontology_version: int | None
    job: Any | None  # what ``queue_job`` returned


def _item(row: Any) -> ReviewItem:
    return ReviewItem(Proposal(**json.loads(row["body"])), str(row["status"]), row["decided_at"], row["decided_by"])


def _who(by: Actor) -> str:
    return by if isinstance(by, str) else f"key:{by.id}"


class ReviewQueue:
    """The review items of every collection, in the server database."""

    def __init__(self, db: ServerDB) -> None:
        self._db = db

    def replace(self, collection: str, doc_ids: list[str], proposals: list[Proposal]) -> None:
        """The pending items of ``doc_ids`` become ``proposals`` (decided items are kept as they are).

        Raises:
            StoreError: the server database failed (nothing changed).
        """
        now = time.time()
        with self._db.write() as conn:
            conn.executemany(DELETE_PENDING, [(collection, d) for d in doc_ids])
            conn.executemany(
                INSERT,
                [(collection, p.id, p.kind, p.doc_id, p.relation, p.confidence, json.dumps(asdict(p)), now)
                 for p in proposals])

    def sink(self, collection: str) -> Callable[[list[str], list[Proposal]], None]:
        """What an ingest pipeline of ``collection`` hands its proposals to."""
        return lambda doc_ids, proposals: self.replace(collection, doc_ids, proposals)

    def _prune(self, collection: str, graph: GraphStore) -> None:
        """Forget the items of documents the store no longer holds."""
        docs = [str(r[0]) for r in self._db.read(DOCUMENTS, (collection,))]
        held: set[str] = set()
        for i in range(0, len(docs), 500):
            held |= set(graph.document_hashes(docs[i : i + 500]))
        gone = [d for d in docs if d not in held]
        if gone:
            with self._db.write() as conn:
                conn.executemany(DELETE_DOCUMENT, [(collection, d) for d in gone])

    def page(self, collection: str, graph: GraphStore, visible: GraphStore, status: str = "pending",
             kind: str | None = None, offset: int = 0, limit: int = 50) -> ReviewPage:
        """One page of ``status`` items (of ``kind``, when given), lowest confidence first, then by id.

        ``graph``: the collection's store (items of deleted documents are dropped); ``visible``: the caller's
        view (items of documents it may not see are left out of the page).

        Raises:
            InputError: an unknown status or kind.
            StoreError: a store failed.
        """
        if status not in STATUSES:
            raise InputError(f"status: one of {', '.join(STATUSES)}", field="status")
        if kind is not None and kind not in KINDS:
            raise InputError(f"kind: one of {', '.join(KINDS)}", field="kind")
        self._prune(collection, graph)
        counts: dict[str, dict[str, int]] = {k: dict.fromkeys(STATUSES, 0) for k in KINDS}
        for row in self._db.read(COUNTS, (collection,)):
            counts.setdefault(str(row["kind"]), dict.fromkeys(STATUSES, 0))[str(row["status"])] = int(row["n"])
        rows = self._db.read(PAGE, (collection, status, kind, kind, limit, offset))
        items = [_item(r) for r in rows]
        seen = visible.document_hashes(list({i.proposal.doc_id for i in items}))
        total = sum(counts[k][status] for k in ([kind] if kind else KINDS))
        return ReviewPage([i for i in items if i.proposal.doc_id in seen], offset, limit, total, counts)

    def get(self, collection: str, item_id: str, visible: GraphStore) -> ReviewItem:
        """One item.

        Raises:
            NotFoundError: no such item, or one of a document the caller may not see.
        """
        rows = self._db.read(GET_ITEM, (collection, item_id))
        if not rows or rows[0]["doc_id"] not in visible.document_hashes([str(rows[0]["doc_id"])]):
            raise NotFoundError(f"no review item {item_id!r}")
        return _item(rows[0])

    def allowed_now(self, collection: str, relation: str, ontology: Ontology) -> list[ReviewItem]:
        """The pending items rejected as ``relation`` that ``ontology`` allows."""
        rows = self._db.read(LIKE, (collection, relation))
        return [i for i in map(_item, rows) if ontology.allows(i.proposal.head_type, relation, i.proposal.tail_type)]

    def mark(self, collection: str, item_ids: list[str], status: str, by: Actor) -> None:
        """Settle items.

        Raises:
            StoreError: the server database failed (nothing changed).
        """
        now = time.time()
        with self._db.write() as conn:
            conn.executemany(MARK, [(status, now, _who(by), collection, i) for i in item_ids])

    def reopen(self, collection: str, record_key: str, rule: dict[str, Any]) -> None:
        """A reverted ``relation:`` curation record's item is pending again (its decision is undone).

        Raises:
            StoreError: the server database failed.
        """
        doc_id = record_key.split(":")[1]
        ids = [proposal_id(doc_id, k, str(rule["head"]), str(rule["type"]), str(rule["tail"])) for k in KINDS]
        with self._db.write() as conn:
            conn.executemany(REOPEN, [(collection, i) for i in ids])

    def drop(self, collection: str) -> None:
        """Forget a deleted collection's items."""
        with self._db.write() as conn:
            conn.execute(DELETE_COLLECTION, (collection,))


def _summary(item: ReviewItem) -> dict[str, Any]:
    p = item.proposal
    return {"id": item.id, "kind": p.kind, "document": p.doc_id, "relation": p.relation,
            "head": {"id": p.head, "name": p.head_name, "type": p.head_type},
            "tail": {"id": p.tail, "name": p.tail_name, "type": p.tail_type}, "confidence": p.confidence}


def widened(ontology: Ontology, relation: str, head_type: str, tail_type: str) -> Ontology | None:
    """The next ontology version, whose ``relation`` allows ``head_type -> tail_type`` (None when it does
    already).

    Raises:
        ConflictError: the ontology in force no longer has that relation type or those entity types.
    """
    if ontology.allows(head_type, relation, tail_type):
        return None
    missing = [t for t in (head_type, tail_type) if t not in ontology.entity_types]
    if relation not in ontology.relation_types or missing:
        raise ConflictError(f"the ontology in force (version {ontology.version}) has no "
                            f"{'relation type ' + relation if relation not in ontology.relation_types else ''}"
                            f"{' and no ' if relation not in ontology.relation_types and missing else ''}"
                            f"{'entity type(s) ' + ', '.join(missing) if missing else ''} any more; change it "
                            "with PUT /ontology, or dismiss this item")
    data = ontology.model_dump()
    rel = data["relation_types"][relation]
    if ANY_TYPE not in rel["head"] and head_type not in rel["head"]:
        rel["head"].append(head_type)
    if ANY_TYPE not in rel["tail"] and tail_type not in rel["tail"]:
        rel["tail"].append(tail_type)
    data["version"] = ontology.version + 1
    return Ontology.model_validate(data)


QueueJob = Callable[[CurationChange], Any]
"""Queues the ``curate`` job of a change (inside its all-or-nothing step) and returns it."""


def decide(queue: ReviewQueue, settings: Settings, collection: str, graph: GraphStore, visible: GraphStore,
           audit: AuditLog, by: Actor, item_id: str, accept: bool, queue_job: QueueJob) -> Decision:
    """Accept or dismiss one pending item (see the module docstring for what each does).

    Raises:
        NotFoundError: no such item (or not visible to the caller).
        ConflictError: it is decided already.
        StoreError: nothing changed.
    """
    item = queue.get(collection, item_id, visible)
    if item.status != "pending":
        raise ConflictError(f"review item {item_id!r} is {item.status} already")
    p = item.proposal
    status = "accepted" if accept else "dismissed"
    if p.kind == "rejected" and not accept:
        queue.mark(collection, [item.id], status, by)
        audit.record(by, collection, "review.dismiss", item.id, before=_summary(item))
        return Decision([item.id], status, None, None)

    settled, version, named = [item], None, [p.doc_id]
    records: dict[str, str | None] = {}
    if p.kind == "rejected":  # widen the ontology, then extract again every document with an item it now allows
        now = ontologies.in_force(settings, collection).ontology
        wider = widened(now, p.relation, p.head_type, p.tail_type)
        if wider is not None:
            _, now = ontologies.replace(settings, collection, graph, wider.model_dump())
            version = now.version
        settled = [item, *[i for i in queue.allowed_now(collection, p.relation, now) if i.id != item.id]]
        named = sorted({i.proposal.doc_id for i in settled})
    else:
        fact = RelationFact(p.doc_id, p.head, p.relation, p.tail, "assert" if accept else "suppress",
                            p.chunk_id, p.start, p.end)
        key, body = relation_record(fact)
        records[key] = body
    after: dict[str, Any] = {"status": status, "items": len(settled)}
    if version is not None:
        after["ontology_version"] = version
    change = CurationChange(f"review.{'accept' if accept else 'dismiss'}", item.id, records, [], frozenset(),
                            _summary(item), after, named_documents=named)
    jobs: list[Any] = []

    def settle(made: CurationChange) -> dict[str, Any]:  # inside the change's all-or-nothing step
        jobs.append(queue_job(made))
        queue.mark(collection, [i.id for i in settled], status, by)
        return {}

    curation.submit(graph, ontologies.in_force(settings, collection).ontology, lambda _c: change, audit, by,
                    collection, after=settle)
    return Decision([i.id for i in settled], status, version, jobs[0])
