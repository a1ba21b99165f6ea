"""The ingest worker: runs queued jobs one at a time, apart from the query path.

One worker per data directory holds ``DATA_DIR/ingest.lock`` (so with several
server processes exactly one ingests; another takes over if it dies). On taking
the lock it queues again every job left running or interrupted, and re-runs
them: ingest is idempotent by content hash and commits whole batches, so a
re-run completes the job. It runs in its own lower-priority process (default)
with its own models, or in a thread (tests), and stops cooperatively: ``stop``
ends claiming, ``abort`` interrupts the current job after its next batch.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import HopgraphError, StoreError
from core.process import FileLock, exit_with_parent
from core.settings import Settings
from extraction.nlp import NlpRunner
from extraction.pipeline import IngestReport, ProposalSink
from graph.ontology import Ontology, load_ontology
from graph.store import open_store
from inference.embedder import Embedder, load_embedder
from service import collections, curation
from service.jobs import Job, JobStore, LeaseKeeper
from service.review import ReviewQueue
from service.server_state import open_server_db
from service.serverdb import ServerDB
from service.vector_spaces import Embedders

if TYPE_CHECKING:
    from service.embedding_migration import MigrationResult

log = logging.getLogger("hopgraph.ingest")
MAX_ATTEMPTS = 3


class JobInterrupted(HopgraphError):
    """The worker was asked to stop mid-job; the job will be re-run."""


class JobCancelled(HopgraphError):
    """A client cancelled the job."""


class Flag(Protocol):
    """A threading or multiprocessing Event."""

    def is_set(self) -> bool: ...  # noqa: D102
    def set(self) -> None: ...  # noqa: D102
    def wait(self, timeout: float | None = None) -> bool: ...  # noqa: D102


class SignalFlag:
    """A flag a signal handler may set: no lock is taken (``threading.Event.set`` in a handler can deadlock
    with the interrupted main thread inside the same event's ``wait``); waiting polls it."""

    def __init__(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        """True once set."""
        return self._set

    def set(self) -> None:
        """Set it (safe in a signal handler)."""
        self._set = True

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until set or ``timeout`` seconds passed (None: until set); returns whether it is set."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._set:
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        return self._set


@dataclass(slots=True)
class Control:
    """``stop``: claim no more jobs; ``abort``: interrupt the running job at its next batch."""

    stop: Flag
    abort: Flag


def _scrub(text: str, base: Path) -> str:
    """A message without the server's directory names."""
    for prefix in (str(base.resolve()) + os.sep, str(base) + os.sep):
        text = text.replace(prefix, "")
    return text


def report_dict(report: IngestReport) -> dict[str, Any]:
    """The JSON-able summary of an ingest report (without file paths)."""
    out = asdict(report)
    out.pop("failures")
    return out


class IngestWorker:
    """Claims and runs ingest jobs until told to stop."""

    def __init__(self, settings: Settings, control: Control, *, poll_s: float = 0.5, nlp_processes: int | None = None):
        self._settings = settings
        self._control = control
        self._poll_s = poll_s
        self._nlp_processes = nlp_processes if nlp_processes is not None else (1 if settings.threads > 1 else 0)
        self._ontology: Ontology | None = None
        self._embedder: Embedder | None = None
        self._embedders = Embedders(settings, self._default_embedder, self._load_embedder)
        self._nlp: NlpRunner | None = None
        self._queue: ReviewQueue | None = None
        self._parent = os.getppid()
        self._lease: LeaseKeeper | None = None  # the running job's, with a shared server database

    @staticmethod
    def _load_embedder(settings: Settings) -> Embedder:
        from service.registry import MODEL_LOAD_LOCK

        with MODEL_LOAD_LOCK:  # in thread mode the server may be loading the same model
            return load_embedder(settings)

    def _default_embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._load_embedder(self._settings)
        return self._embedder

    def _models(self, ontology_path: Path | None) -> tuple[Ontology, NlpRunner, Embedders]:
        """The models for a job; the spaCy stage is restarted when the job's ontology differs."""
        ontology = load_ontology(ontology_path)
        if self._ontology is not None and ontology != self._ontology and self._nlp is not None:
            self._nlp.close()
            self._nlp = None
        self._ontology = ontology
        self._default_embedder()
        if self._nlp is None:
            self._nlp = NlpRunner(self._settings.spacy_model, self._ontology, processes=self._nlp_processes)
            self._nlp.start()
        return self._ontology, self._nlp, self._embedders

    def _orphaned(self) -> bool:
        return os.getppid() != self._parent

    def run_forever(self) -> None:
        """Wait for the ingest lock, then run jobs until ``stop`` (or the parent process is gone).

        With a shared server database (``server_db_url``: API replicas, maybe on several hosts) there is no host
        lock: every replica's worker claims jobs as leases (see :mod:`service.jobs`) and runs them at once.
        """
        db = open_server_db(self._settings)
        if self._settings.server_db_url:
            try:
                self._run_leased(db)
            finally:
                db.close()
                if self._nlp is not None:
                    self._nlp.close()
            return
        lock = FileLock(self._settings.data_dir / "ingest.lock")
        jobs = JobStore(db)
        try:
            while not lock.try_acquire():
                if self._control.stop.wait(self._poll_s * 4):
                    return
            requeued = jobs.requeue_unfinished()
            if requeued:
                log.info("resuming %d unfinished ingest job(s)", requeued)
            while not self._control.stop.is_set() and not self._orphaned():
                job = jobs.claim()
                if job is None:
                    self._control.stop.wait(self._poll_s)
                    continue
                self.run_job(jobs, job)
        finally:
            lock.release()
            db.close()
            if self._nlp is not None:
                self._nlp.close()

    def _run_leased(self, db: ServerDB) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        jobs = JobStore(db, owner, self._settings.api_job_lease_s)
        while not self._control.stop.is_set() and not self._orphaned():
            try:
                job = jobs.claim()
            except StoreError as exc:  # PostgreSQL restarting or failing over: claim again in a moment
                log.warning("cannot claim a job: %s", exc)
                self._control.stop.wait(self._poll_s * 4)
                continue
            if job is None:
                self._control.stop.wait(self._poll_s)
                continue
            if job.attempts > 1:
                log.info("job %s taken over (attempt %d) by %s", job.id, job.attempts, owner)
            with LeaseKeeper(jobs, job.id) as lease:
                self._lease = lease
                try:
                    self.run_job(jobs, job)
                finally:
                    self._lease = None

    def _review(self, job: Job) -> ProposalSink | None:
        """Where the job's review items go: the collection's review queue in the jobs' database."""
        return self._queue.sink(job.collection) if self._queue is not None else None

    def _ingest(self, job: Job, base: Path, progress: Callable[[int, int], None],
                text_progress: Callable[[int, int], None] | None = None) -> tuple[IngestReport, list[str]]:
        """Run the pipeline over the job's files; returns the report and the ids of the files' documents."""
        csettings = collections.collection_settings(self._settings, job.collection)
        ontology, nlp, embedders = self._models(csettings.ontology_path)
        store = open_store(csettings, ontology)
        try:
            paths = [base / p for p in job.paths]
            acl = tuple(str(p) for p in job.payload.get("acl", []))
            pipeline = collections.build_pipeline(csettings, store, nlp, embedders, self._review(job))
            report = pipeline.run(paths, None, progress, acl=acl, text_progress=text_progress)
            documents = [d.id for p in paths for d in store.graph.find_documents(str(p.resolve()))]
            return report, documents
        finally:
            store.close()

    def _curate(self, job: Job, progress: Callable[[int, int], None],
                text_progress: Callable[[int, int], None] | None = None) -> tuple[IngestReport, list[str]]:
        """Extract again the documents of the entities a curation change touched."""
        csettings = collections.collection_settings(self._settings, job.collection)
        ontology, nlp, embedders = self._models(csettings.ontology_path)
        store = open_store(csettings, ontology)
        try:
            pipeline = collections.build_pipeline(csettings, store, nlp, embedders, self._review(job))
            entities = [str(e) for e in job.payload.get("entities", [])]
            reembed = frozenset(str(e) for e in job.payload.get("reembed", []))
            documents = [str(d) for d in job.payload.get("documents", [])]
            report = curation.apply(pipeline, store.graph, entities, reembed, progress, documents, text_progress)
            return report, job.documents
        finally:
            store.close()

    def _migrate(self, job: Job, progress: Callable[[int, int], None]) -> MigrationResult:
        """Migrate the collection's vectors to the job's embedder, gated on the collection's golden.json."""
        from service.embedding_migration import migrate
        from service.evaluation import load_questions
        from service.model_lifecycle import golden_path

        csettings = collections.collection_settings(self._settings, job.collection)
        ontology, _nlp, embedders = self._models(csettings.ontology_path)
        golden = golden_path(csettings)
        questions = load_questions(golden, None) if golden.is_file() else []
        store = open_store(csettings, ontology)
        try:
            return migrate(csettings, store, ontology, embedders, str(job.payload["model"]), questions,
                           force=bool(job.payload.get("force")), progress=lambda _phase, d, t: progress(d, t))
        finally:
            store.close()

    def _promote(self, jobs: JobStore, job: Job) -> None:
        """Evaluate and promote the job's reader on the collection's golden set (``hopgraph models promote``)."""
        from service.audit import AuditLog
        from service.evaluation import load_questions
        from service.model_lifecycle import golden_path, promote

        csettings = collections.collection_settings(self._settings, job.collection)
        golden = golden_path(csettings)
        if not golden.is_file():
            jobs.finish(job.id, "failed", None, [], error=f"collection {job.collection} has no golden set "
                        "(PUT /v1/collections/{collection}/golden)")
            return
        db = open_server_db(self._settings)
        try:
            result = promote(csettings, db, AuditLog(db), f"key:{job.key_id}", str(job.payload["kind"]),
                             str(job.payload["name"]), load_questions(golden, None),
                             force=bool(job.payload.get("force")))
        finally:
            db.close()
        report = {"current": result.current, "candidate": result.candidate, "figures": result.figures,
                  "passed": result.passed, "reasons": result.reasons, "promoted": result.promoted}
        if result.promoted:
            jobs.finish(job.id, "succeeded", report, [])
        else:
            jobs.finish(job.id, "failed", report, [], error="gate: " + "; ".join(result.reasons))

    def _backup_job(self, jobs: JobStore, job: Job) -> None:
        """Take or restore a backup (server-wide; see :mod:`service.backup_jobs`)."""
        from service.backup_jobs import run_backup_job

        def progress(what: str, done: int, total: int) -> None:
            if self._control.abort.is_set() or self._orphaned():
                raise JobInterrupted("the ingest worker is stopping")
            jobs.progress(job.id, done, total)

        try:
            report = run_backup_job(self._settings, job, progress)
        except JobInterrupted:
            jobs.finish(job.id, "interrupted", None, [])
            return
        except HopgraphError as exc:
            jobs.finish(job.id, "failed", None, [], error=str(exc))
            return
        jobs.finish(job.id, "succeeded", report, [])

    @staticmethod
    def _finish_migration(jobs: JobStore, job: Job, result: MigrationResult) -> None:
        if result.switched:
            jobs.finish(job.id, "succeeded", result.as_dict(), [])
        else:
            jobs.finish(job.id, "failed", result.as_dict(), [], error="gate: " + "; ".join(result.reasons))

    def run_job(self, jobs: JobStore, job: Job) -> None:
        """Run one claimed job and record how it ended."""
        self._queue = ReviewQueue(jobs.db)
        if job.attempts > MAX_ATTEMPTS:
            jobs.finish(job.id, "failed", None, [], error=f"gave up after {MAX_ATTEMPTS} attempts")
            return
        if job.kind in ("backup", "restore"):
            self._backup_job(jobs, job)
            return
        if not collections.exists(self._settings, job.collection):
            jobs.finish(job.id, "failed", None, [], error="the collection no longer exists")
            return
        base = collections.directory(self._settings, job.collection)

        def reporter(record: Callable[[str, int, int], None]) -> Callable[[int, int], None]:
            """A progress callback that stops the job when asked to and records at most twice a second."""
            last = 0.0

            def report(done: int, total: int) -> None:
                nonlocal last
                if self._control.abort.is_set() or self._orphaned():
                    raise JobInterrupted("the ingest worker is stopping")
                if self._lease is not None and self._lease.lost.is_set():
                    raise JobInterrupted("another replica took the job over")
                if jobs.cancel_requested(job.id):
                    raise JobCancelled("cancelled")
                now = time.monotonic()
                if done in (0, total) or now - last > 0.5:
                    record(job.id, done, total)
                    last = now

            return report

        progress = reporter(jobs.progress)  # documents written
        text_progress = reporter(jobs.text_progress)  # after each slice: inside a large file too

        try:
            if job.kind == "migrate":
                self._finish_migration(jobs, job, self._migrate(job, progress))
                return
            if job.kind == "promote":
                self._promote(jobs, job)
                return
            run = self._curate if job.kind == "curate" else functools.partial(self._ingest, base=base)
            report, documents = run(job, progress=progress, text_progress=text_progress)
        except JobCancelled:
            jobs.finish(job.id, "cancelled", None, [])
            return
        except JobInterrupted:
            jobs.finish(job.id, "interrupted", None, [])
            log.info("job %s interrupted; it resumes when an ingest worker next starts", job.id)
            return
        except HopgraphError as exc:
            if self._control.abort.is_set():  # e.g. the spaCy process was stopped with us: re-run it later
                jobs.finish(job.id, "interrupted", None, [])
                return
            jobs.finish(job.id, "failed", None, [], error=_scrub(str(exc), base))
            return
        except Exception as exc:  # noqa: BLE001 - job boundary: the failure is recorded on the job, not dropped
            log.exception("ingest job %s failed unexpectedly", job.id)
            jobs.finish(job.id, "failed", None, [], error=f"internal error ({type(exc).__name__})")
            return
        errors = [{"file": _scrub(f.path, base), "reason": _scrub(f.reason, base)} for f in report.failures]
        ok = not report.failures or report.documents + report.unchanged > 0
        jobs.progress(job.id, report.documents, report.documents)
        jobs.finish(job.id, "succeeded" if ok else "failed", report_dict(report), errors, documents[:10_000])


def _lower_priority(nice: int) -> None:
    """Make the calling thread (Linux) or process lower-priority; children inherit it."""
    if nice <= 0:
        return
    try:
        if hasattr(os, "setpriority") and os.uname().sysname == "Linux":
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
        else:
            os.nice(nice)
    except OSError as exc:  # lowering our own priority is allowed everywhere we run; say so if not
        log.warning("cannot lower the ingest worker's priority: %s", exc)


def process_main(settings_json: str) -> None:
    """Entry point of the ingest worker process.

    Signals: SIGUSR1 stops claiming jobs (the running one finishes); SIGTERM also interrupts the
    running job after its current batch. SIGINT is ignored (the server decides; children inherit it).
    """
    control = Control(SignalFlag(), SignalFlag())  # set by the signal handlers below

    def drain(_signum: int, _frame: object) -> None:
        control.stop.set()

    def abort(_signum: int, _frame: object) -> None:
        control.stop.set()
        control.abort.set()

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, drain)
    signal.signal(signal.SIGTERM, abort)
    exit_with_parent()  # SIGTERM (abort after the current batch) when the server process dies, however it dies
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.model_validate_json(settings_json)
    _lower_priority(settings.api_ingest_nice)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")
    IngestWorker(settings, control).run_forever()


def thread_main(settings: Settings, control: Control) -> None:
    """Entry point of the ingest worker thread (``api_ingest_worker = "thread"``)."""
    _lower_priority(settings.api_ingest_nice)
    IngestWorker(settings, control, poll_s=0.1).run_forever()
