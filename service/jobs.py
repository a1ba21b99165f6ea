"""Ingest jobs, persisted in the server database so that they survive restarts.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``; a job that was
running when its worker stopped is ``interrupted`` and is queued again when an
ingest worker next starts (ingest is idempotent by content hash, so a re-run
completes it).

Leases (API replicas sharing a PostgreSQL server database): a store made with an ``owner`` claims a job as a
lease that the owner renews while it runs (:meth:`JobStore.renew`); another replica may take over a running job
whose lease has run out (its holder died) and an interrupted one, and a holder that lost its lease can no longer
record the job's end (:meth:`JobStore.finish` returns False): each job ends exactly once.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConflictError, NotFoundError, StoreError
from service.serverdb import ServerDB

log = logging.getLogger(__name__)

STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED = ("succeeded", "failed", "cancelled")
UNFINISHED = ("queued", "running", "interrupted")


@dataclass(slots=True)
class Job:
    """One ingest job of one collection."""

    id: str
    collection: str
    state: str
    created_at: float
    paths: list[str]  # relative to the collection directory
    documents: list[str] = field(default_factory=list)
    done: int = 0
    total: int = 0
    text_done: int = 0  # characters of the documents' text processed (progress inside a large file)
    text_total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    key_id: str | None = None
    report: dict[str, Any] | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    kind: str = "ingest"  # "ingest" (files), "curate" (extract curated entities' documents again), "migrate"
    payload: dict[str, Any] = field(default_factory=dict)


SERVER_JOBS = ""  # the collection of server-wide jobs (backup, restore): no collection has an empty name


def _job(r: sqlite3.Row) -> Job:
    return Job(
        id=str(r["id"]), collection=str(r["collection"]), state=str(r["state"]), created_at=float(r["created_at"]),
        paths=json.loads(r["paths"]), documents=json.loads(r["documents"]), done=int(r["done"]),
        total=int(r["total"]), text_done=int(r["text_done"]), text_total=int(r["text_total"]),
        started_at=r["started_at"], finished_at=r["finished_at"], key_id=r["key_id"],
        report=json.loads(r["report"]) if r["report"] else None, errors=json.loads(r["errors"]), error=r["error"],
        attempts=int(r["attempts"]), kind=str(r["kind"]), payload=json.loads(r["payload"]) if r["payload"] else {},
    )


def restricted(job: Job) -> bool:
    """True when a job ingests documents with an ACL (its own, or its records'): only its creator, and keys
    that see every document, may see it (it names the files)."""
    return bool(job.payload.get("acl") or job.payload.get("restricted"))


class JobStore:
    """Creates, claims and updates jobs; safe across processes (SQLite transactions)."""

    def __init__(self, db: ServerDB, owner: str | None = None, lease_s: float = 30.0) -> None:
        """Jobs in ``db``; with ``owner``, claims are leases of ``lease_s`` seconds (see the module)."""
        self._owner = owner
        self._lease_s = lease_s
        self._db = db

    @property
    def lease_s(self) -> float:
        """How long a claim lasts unless renewed."""
        return self._lease_s

    @property
    def db(self) -> ServerDB:
        """The server database the jobs live in."""
        return self._db

    def create(self, collection: str, paths: list[str], documents: list[str], key_id: str | None, *,
               kind: str = "ingest", payload: dict[str, Any] | None = None) -> Job:
        """Queue a job.

        Raises:
            StoreError: the server database failed.
        """
        job = Job(secrets.token_hex(8), collection, "queued", time.time(), paths, documents, key_id=key_id,
                  kind=kind, payload=payload or {})
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO jobs(id, collection, state, created_at, key_id, paths, documents, kind, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.id, collection, job.state, job.created_at, key_id, json.dumps(paths), json.dumps(documents),
                 kind, json.dumps(job.payload)),
            )
        return job

    def get(self, collection: str, job_id: str, key_id: str | None = None) -> Job:
        """A job of ``collection`` (with ``key_id``: only one that key created, or one without ACLs).

        Raises:
            NotFoundError: no such job in that collection (or not one ``key_id`` may see).
        """
        rows = self._db.read("SELECT * FROM jobs WHERE id=? AND collection=?", (job_id, collection))
        if not rows or (key_id is not None and rows[0]["key_id"] != key_id and restricted(_job(rows[0]))):
            raise NotFoundError(f"no job {job_id!r} in collection {collection!r}")
        return _job(rows[0])

    def recent(self, collection: str, offset: int = 0, limit: int = 50, key_id: str | None = None) -> list[Job]:
        """Jobs of ``collection``, newest first (with ``key_id``: those that key created, or without ACLs)."""
        mine = (f" AND (key_id=? OR ({self._db.json_text('payload', 'acl')} IS NULL"
                f" AND {self._db.json_text('payload', 'restricted')} IS NULL))") if key_id is not None else ""
        rows = self._db.read(
            f"SELECT * FROM jobs WHERE collection=?{mine} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",  # noqa: S608
            (collection, *([key_id] if key_id is not None else []), limit, offset),
        )
        return [_job(r) for r in rows]

    def unfinished(self, collection: str) -> int:
        """How many jobs of ``collection`` are not finished."""
        marks = ",".join("?" * len(UNFINISHED))
        rows = self._db.read(
            f"SELECT COUNT(*) FROM jobs WHERE collection=? AND state IN ({marks})",  # noqa: S608
            (collection, *UNFINISHED),
        )
        return int(rows[0][0])

    def claim(self) -> Job | None:
        """Move the oldest queued job to ``running`` and return it (None when there is none).

        With an owner: also an interrupted job, or a running one whose lease ran out, and the claim is a lease.
        """
        with self._db.write() as conn:
            now = time.time()
            if self._owner is None:
                row = conn.execute("SELECT * FROM jobs WHERE state='queued' ORDER BY created_at, id LIMIT 1").fetchone()
            else:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE state IN ('queued', 'interrupted')"
                    " OR (state='running' AND lease_until < ?) ORDER BY created_at, id LIMIT 1", (now,),
                ).fetchone()
            if row is None:
                return None
            until = now + self._lease_s if self._owner is not None else None
            conn.execute(
                "UPDATE jobs SET state='running', started_at=?, attempts=attempts+1, lease_owner=?, lease_until=?"
                " WHERE id=?", (now, self._owner, until, row["id"]),
            )
        job = _job(row)
        job.state, job.started_at, job.attempts = "running", now, job.attempts + 1
        return job

    def renew(self, job_id: str) -> bool:
        """Extend this owner's lease on a running job; False when it holds it no more (taken over, or ended)."""
        with self._db.write() as conn:
            cur = conn.execute("UPDATE jobs SET lease_until=? WHERE id=? AND lease_owner=? AND state='running'",
                               (time.time() + self._lease_s, job_id, self._owner))
            return int(cur.rowcount) == 1

    def progress(self, job_id: str, done: int, total: int) -> None:
        """Record progress (documents committed of the documents to write)."""
        with self._db.write() as conn:
            conn.execute("UPDATE jobs SET done=?, total=? WHERE id=?", (done, total, job_id))

    def text_progress(self, job_id: str, done: int, total: int) -> None:
        """Record progress through the documents' text (characters processed of the characters to process)."""
        with self._db.write() as conn:
            conn.execute("UPDATE jobs SET text_done=?, text_total=? WHERE id=?", (done, total, job_id))

    def finish(
        self, job_id: str, state: str, report: dict[str, Any] | None, errors: list[dict[str, str]],
        documents: list[str] | None = None, error: str | None = None,
    ) -> bool:
        """Record the end of a job (``succeeded``, ``failed`` or ``interrupted``).

        Returns:
            False when this store's owner no longer holds the job's lease (another replica took it over): the
            end is not recorded.
        """
        mine = " AND lease_owner=?" if self._owner is not None else ""
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state=?, finished_at=?, report=?, errors=?, error=?,"  # noqa: S608 - fixed text
                f" documents=COALESCE(?, documents) WHERE id=?{mine}",
                (state, time.time() if state != "interrupted" else None, json.dumps(report) if report else None,
                 json.dumps(errors), error, json.dumps(documents) if documents is not None else None, job_id,
                 *([self._owner] if self._owner is not None else [])),
            )
            recorded = int(cur.rowcount) == 1
        if not recorded and self._owner is not None:
            log.warning("job %s: its end (%s) is not recorded: %s no longer holds it", job_id, state, self._owner)
        return recorded

    def cancel(self, collection: str, job_id: str) -> Job:
        """Cancel an ingest job: a queued one at once, a running one after its current batch (committed
        batches stay).

        Raises:
            NotFoundError: no such job in that collection.
            ConflictError: it has finished already, or it is a curate job.
        """
        with self._db.write() as conn:
            row = conn.execute("SELECT state, kind FROM jobs WHERE id=? AND collection=?",
                               (job_id, collection)).fetchone()
            if row is None:
                raise NotFoundError(f"no job {job_id!r} in collection {collection!r}")
            if row["state"] in FINISHED:
                raise ConflictError(f"job {job_id!r} has {row['state']} already")
            if row["kind"] == "curate":
                raise ConflictError(f"job {job_id!r} applies a curation change, which stays in force; "
                                    "revert the change (DELETE .../curation/{key}) instead")
            conn.execute("UPDATE jobs SET cancel=1 WHERE id=?", (job_id,))
            conn.execute("UPDATE jobs SET state='cancelled', finished_at=? WHERE id=? AND state IN ('queued',"
                         " 'interrupted')", (time.time(), job_id))
        return self.get(collection, job_id)

    def cancel_requested(self, job_id: str) -> bool:
        """True when the job was asked to stop."""
        rows = self._db.read("SELECT cancel FROM jobs WHERE id=?", (job_id,))
        return bool(rows and rows[0][0])

    def requeue_unfinished(self) -> int:
        """Queue again every running or interrupted job (call only while holding the ingest lock)."""
        with self._db.write() as conn:
            cur = conn.execute("UPDATE jobs SET state='queued' WHERE state IN ('running', 'interrupted')")
            return int(cur.rowcount)

    def drop_collection(self, collection: str) -> None:
        """Forget the jobs of a deleted collection."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM jobs WHERE collection=?", (collection,))

    def ingested_documents(self) -> dict[str, int]:
        """Documents written by finished jobs, per collection (a counter for metrics)."""
        rows = self._db.read(
            f"SELECT collection, SUM(CAST({self._db.json_text('report', 'documents')} AS INTEGER)) FROM jobs"  # noqa: S608
            " WHERE report IS NOT NULL GROUP BY collection"
        )
        return {str(r[0]): int(r[1] or 0) for r in rows}

    def counts(self) -> dict[str, int]:
        """Jobs per state."""
        found = {str(r[0]): int(r[1]) for r in self._db.read("SELECT state, COUNT(*) FROM jobs GROUP BY state")}
        return {s: found.get(s, 0) for s in STATES}


class LeaseKeeper:
    """Renews a job's lease (a third of its length apart) while the job runs: ``with LeaseKeeper(jobs, job):``.

    ``lost`` is set when the lease is gone (another replica took the job over): the job should stop; its end
    is not recorded anyway (:meth:`JobStore.finish`). A renewal that fails (the database is briefly away) is
    tried again at the next beat.
    """

    def __init__(self, jobs: JobStore, job_id: str) -> None:
        self._jobs = jobs
        self._job_id = job_id
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._jobs.lease_s / 3):
            try:
                if not self._jobs.renew(self._job_id):
                    log.warning("job %s: lease lost (another replica took it over); stopping it", self._job_id)
                    self.lost.set()
                    return
            except StoreError as exc:
                log.warning("job %s: lease not renewed this time: %s", self._job_id, exc)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
