"""What the HTTP app holds while it runs, and its lifespan (start-up and graceful shutdown)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
from litestar import Litestar

from api.http.metrics import Metrics
from api.http.metrics_share import PUBLISH_EVERY_S, MetricsShare
from api.http.ratelimit import Buckets, TokenBuckets
from api.http.ratelimit_shared import SharedBuckets
from core.errors import HopgraphError, StoreError
from core.settings import Settings
from service import heap
from service.audit import AuditLog
from service.ingest_host import IngestHost
from service.jobs import JobStore
from service.keys import KeyStore
from service.registry import CollectionRegistry, SharedModels
from service.review import ReviewQueue
from service.server_state import open_server_db
from service.serverdb import ServerDB
from service.serverdb_pg import PostgresServerDB
from service.usage import FLUSH_EVERY_S, CpuMeter, UsageLog

log = logging.getLogger("hopgraph.api")
T = TypeVar("T")


class Offload:
    """Runs blocking work in worker threads with bounded concurrency, so the event loop never blocks.

    ``query``: retrieval, extractive answers and store reads; ``generate``: the shared LLM;
    ``quick``: short blocking calls on every request (the rate-limit ``flock``, the ``stat`` calls
    that check a collection is current, rendering ``/metrics``), in a pool of their own so that
    they never wait behind long queries.
    """

    def __init__(self, query_threads: int, generate_threads: int, quick_threads: int = 8) -> None:
        self._query = anyio.CapacityLimiter(query_threads)
        self._generate = anyio.CapacityLimiter(generate_threads)
        self._quick = anyio.CapacityLimiter(quick_threads)

    async def quick(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` (short, blocking) in a quick thread."""
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self._quick)

    async def query(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a query thread."""
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self._query)

    async def generate(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a generation thread."""
        return await anyio.to_thread.run_sync(partial(fn, *args), limiter=self._generate)


@dataclass
class Runtime:
    """The server's state: settings, databases, models, collections, workers, metrics."""

    settings: Settings
    db: ServerDB
    keys: KeyStore
    jobs: JobStore
    audit: AuditLog
    models: SharedModels
    registry: CollectionRegistry
    metrics: Metrics
    buckets: Buckets
    ingest: IngestHost
    usage: UsageLog
    review: ReviewQueue
    cpu: CpuMeter = field(default_factory=CpuMeter)
    metrics_share: MetricsShare | None = None
    offload: Offload | None = None
    load_error: str | None = None
    _preload: asyncio.Task[None] | None = field(default=None, repr=False)
    _publish: asyncio.Task[None] | None = field(default=None, repr=False)
    _flush: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def work(self) -> Offload:
        """The thread offloader (exists while the app runs)."""
        if self.offload is None:
            raise RuntimeError("the app is not running (lifespan not entered)")
        return self.offload

    @property
    def models_state(self) -> str:
        """``ok`` (loaded), ``loading``, ``on demand`` (not preloaded) or ``failed: ...``."""
        if self.load_error:
            return f"failed: {self.load_error}"
        if not self.settings.api_preload_models:
            return "on demand"
        return "ok" if self.models.loaded() else "loading"


def build_runtime(settings: Settings, metrics_dir: Path | None = None) -> Runtime:
    """Open the server database and prepare (not load) everything else; with ``metrics_dir``, this
    process's metrics are shared there with the server's other worker processes.

    Raises:
        StoreError: the server database (or the rate-limit table) cannot be opened.
        ConfigError: the settings name server stores.
    """
    models = SharedModels(settings)
    registry = CollectionRegistry(settings, models)
    db = open_server_db(settings)
    table = settings.data_dir / "ratelimit.bin"
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # with the server state in PostgreSQL, nothing else has
        buckets: Buckets = (
            SharedBuckets(settings.api_rate_per_s, settings.api_rate_burst, db)
            if isinstance(db, PostgresServerDB)  # replicas on several hosts: one limit across all of them
            else TokenBuckets(settings.api_rate_per_s, settings.api_rate_burst, table))
    except OSError as exc:
        db.close()
        raise StoreError(f"cannot open the rate-limit table {table}: {exc}") from exc
    metrics = Metrics()
    try:
        share = MetricsShare(metrics_dir, metrics) if metrics_dir is not None else None
    except OSError as exc:
        buckets.close()
        db.close()
        raise StoreError(f"cannot create the metrics directory {metrics_dir}: {exc}") from exc
    return Runtime(settings, db, KeyStore(db), JobStore(db), AuditLog(db), models, registry, metrics, buckets,
                   IngestHost(settings), UsageLog(db), ReviewQueue(db), metrics_share=share)


async def _publish_metrics(share: MetricsShare) -> None:
    """Publish this worker's metrics every ``PUBLISH_EVERY_S`` until cancelled."""
    while True:
        await asyncio.sleep(PUBLISH_EVERY_S)
        try:
            await anyio.to_thread.run_sync(share.publish)
        except OSError as exc:  # the next round tries again; scrapes elsewhere miss this process meanwhile
            log.warning("cannot publish metrics: %s", exc)


async def _flush_usage(usage: UsageLog) -> None:
    """Write the usage buckets every ``FLUSH_EVERY_S`` until cancelled."""
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        try:
            await anyio.to_thread.run_sync(usage.flush)
        except StoreError as exc:  # kept in memory: the next round writes them
            log.warning("cannot write the usage log: %s", exc)


async def _preload(runtime: Runtime) -> None:
    try:
        await anyio.to_thread.run_sync(runtime.models.preload)
        log.info("models loaded")
        await anyio.to_thread.run_sync(heap.settle)
    except HopgraphError as exc:  # readyz reports it; requests that need the model get the error
        runtime.load_error = str(exc)
        log.error("models failed to load: %s", exc)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start the ingest worker and load the models; at shutdown stop the worker (its job finishes or is
    interrupted and resumes on restart) and close every store."""
    runtime: Runtime = app.state.runtime
    settings = runtime.settings
    runtime.offload = Offload(settings.api_query_threads, settings.api_generate_threads)
    runtime.ingest.start()
    if settings.api_preload_models:
        runtime._preload = asyncio.create_task(_preload(runtime))
    if runtime.metrics_share is not None:
        runtime._publish = asyncio.create_task(_publish_metrics(runtime.metrics_share))
    runtime._flush = asyncio.create_task(_flush_usage(runtime.usage))
    try:
        yield
    finally:
        for task in (runtime._publish, runtime._flush):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        await anyio.to_thread.run_sync(partial(runtime.ingest.stop, settings.api_shutdown_grace_s))
        if runtime._preload is not None and not runtime._preload.done():
            await runtime._preload
        await anyio.to_thread.run_sync(runtime.registry.close_all)
        if runtime.metrics_share is not None:
            try:  # the last counts of this worker, for scrapes answered by the others
                await anyio.to_thread.run_sync(runtime.metrics_share.publish)
            except OSError as exc:
                log.warning("cannot publish the final metrics: %s", exc)
        try:  # the last usage of this worker
            await anyio.to_thread.run_sync(runtime.usage.flush)
        except StoreError as exc:
            log.warning("cannot write the final usage: %s", exc)
        runtime.buckets.close()
        runtime.db.close()
        heap.release()
