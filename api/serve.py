"""``hopgraph serve``: the HTTP API under uvicorn, one or several worker processes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from core.errors import StoreError
from core.process import exit_with_parent
from core.settings import Settings

SETTINGS_ENV = "HOPGRAPH_SERVE_SETTINGS"
METRICS_DIR_ENV = "HOPGRAPH_SERVE_METRICS_DIR"
log = logging.getLogger("hopgraph.api")


def _limit_blas_threads() -> None:
    """One BLAS thread per process: the server runs many small queries in parallel threads, and idle
    OpenBLAS threads spinning beside ONNX Runtime's make each query slower, not faster."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")


def app_from_env():  # type: ignore[no-untyped-def]  # uvicorn factory for --workers > 1
    """Build the app from the settings (and metrics directory) the parent process put in the environment."""
    from api.http.app import create_app

    exit_with_parent()  # a uvicorn worker: SIGTERM (graceful shutdown) when the supervisor dies, however it dies
    _limit_blas_threads()
    return create_app(Settings.model_validate_json(os.environ[SETTINGS_ENV]), Path(os.environ[METRICS_DIR_ENV]))


def serve(settings: Settings, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Run the API until SIGINT/SIGTERM; shutdown is graceful (requests finish, a running ingest job
    finishes within ``api_shutdown_grace_s`` or is interrupted and resumes on restart).

    Raises:
        ConfigError: the settings name server stores.
        StoreError: the server database cannot be opened (or an earlier run's metrics cleared).
    """
    import uvicorn

    if not settings.api_auth and host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("api_auth is off and the server listens on %s: every caller there is an admin", host)
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    common = {"host": host, "port": port, "log_level": log_level, "timeout_graceful_shutdown": 30,
              "proxy_headers": False, "server_header": False}
    if workers <= 1:
        from api.http.app import create_app

        _limit_blas_threads()
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    from api.http.metrics_share import reset

    metrics_dir = settings.data_dir / "metrics"  # the workers share /metrics counts through it
    try:
        reset(metrics_dir)
    except OSError as exc:
        raise StoreError(f"cannot clear {metrics_dir}: {exc}") from exc
    os.environ[SETTINGS_ENV] = json.dumps(json.loads(settings.model_dump_json()))
    os.environ[METRICS_DIR_ENV] = str(metrics_dir)
    uvicorn.run("api.serve:app_from_env", factory=True, workers=workers, **common)  # type: ignore[arg-type]
