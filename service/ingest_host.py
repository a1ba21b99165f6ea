"""Starts and stops the ingest worker beside the server (a process by default, a thread for tests).

The process is told to stop with signals rather than shared semaphores, which a
worker killed by someone else (e.g. a service manager signalling the whole
group) could leave locked: SIGUSR1 drains (no new jobs), SIGTERM interrupts the
running job after its current batch, SIGKILL is the last resort (a job cut
short is re-run on restart; its committed batches stay).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess

from core.settings import Settings
from service.ingest_worker import Control, process_main, thread_main

log = logging.getLogger("hopgraph.ingest")


class IngestHost:
    """Owns the ingest worker of one server process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: BaseProcess | None = None
        self._thread: threading.Thread | None = None
        self._control: Control | None = None

    def start(self) -> None:
        """Start the worker (idempotent)."""
        if self._process is not None or self._thread is not None:
            return
        if self._settings.api_ingest_worker == "thread":
            self._control = Control(threading.Event(), threading.Event())
            self._thread = threading.Thread(
                target=thread_main, args=(self._settings, self._control), name="hopgraph-ingest", daemon=True
            )
            self._thread.start()
            return
        # not a daemon: it starts its own spaCy worker process; it exits when told to or when we are gone
        self._process = multiprocessing.get_context("spawn").Process(
            target=process_main, args=(self._settings.model_dump_json(),), name="hopgraph-ingest"
        )
        self._process.start()

    def alive(self) -> bool:
        """True while the worker runs."""
        if self._process is not None:
            return self._process.is_alive()
        return self._thread is not None and self._thread.is_alive()

    def _signal(self, signum: int) -> None:
        if self._process is not None and self._process.pid is not None and self._process.is_alive():
            try:
                os.kill(self._process.pid, signum)
            except ProcessLookupError:
                pass  # it has just exited

    def stop(self, grace_s: float) -> None:
        """Stop claiming jobs; let a running job finish for ``grace_s``, then interrupt it (it resumes later).

        Blocking: call it from a worker thread.
        """
        if self._thread is not None and self._control is not None:
            self._control.stop.set()
            self._thread.join(grace_s)
            if self._thread.is_alive():
                log.info("interrupting the running ingest job; it resumes on restart")
                self._control.abort.set()
                self._thread.join(60.0)
        elif self._process is not None:
            self._signal(signal.SIGUSR1)
            self._process.join(grace_s)
            if self._process.is_alive():
                log.info("interrupting the running ingest job; it resumes on restart")
                self._signal(signal.SIGTERM)
                self._process.join(60.0)
            if self._process.is_alive():
                log.warning("the ingest worker did not stop; killing it (its job resumes on restart)")
                self._process.kill()
                self._process.join(10.0)
        self._process = None
        self._thread = None
