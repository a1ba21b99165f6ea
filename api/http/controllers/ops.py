"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from api.http.deps import RuntimeDep
from api.http.metrics import gauge_lines, slo_lines
from api.http.problems import RETRY_AFTER_S
from api.http.schemas import Health
from core.errors import HopgraphError
from service.slo import BurnRate, burn_rates


class OpsController(Controller):
    """Unauthenticated endpoints for load balancers and monitoring."""

    path = "/"
    tags = ["operations"]

    @get("/healthz", summary="The process is up")
    async def healthz(self) -> Health:
        """Always ``ok`` while the process serves requests."""
        return Health("ok")

    @get("/readyz", summary="Models and stores are ready",
         responses={503: ResponseSpec(Health, description="Not ready (models loading or a store down)")})
    async def readyz(self, runtime: RuntimeDep) -> Response[Health]:
        """200 when the models are loaded and the server database and open stores answer; 503 otherwise."""
        checks = {"models": runtime.models_state}

        def probe() -> None:
            runtime.keys.refresh()
            for c in runtime.registry.opened():
                c.store.graph.version()

        try:
            await runtime.work.query(probe)
            checks["stores"] = "ok"
        except HopgraphError as exc:
            checks["stores"] = f"unavailable: {type(exc).__name__}"
        checks["ingest_worker"] = "running" if runtime.ingest.alive() else "stopped"
        endpoints = runtime.models.reader_endpoints()
        if endpoints is not None:  # informational: retrieval does not need them, and a failed one is retried
            checks["reader_endpoints"] = ", ".join(
                f"{e.url} {'up' if e.up else 'down: ' + e.last_error}" for e in endpoints)
        ready = checks["models"] in ("ok", "on demand") and checks["stores"] == "ok"
        if ready:
            return Response(Health("ready", checks), status_code=HTTP_200_OK)
        return Response(Health("unavailable", checks), status_code=HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": str(RETRY_AFTER_S)})

    @get("/metrics", summary="Prometheus metrics", media_type="text/plain; version=0.0.4; charset=utf-8")
    async def metrics(self, runtime: RuntimeDep) -> str:
        """Request counts and latency per route, retrieval and generation latency, tokens, ingest counters, usage
        per collection and key, and the SLOs' error-budget burn rates over 5 minutes and 1 hour."""
        share = runtime.metrics_share

        def read() -> tuple[dict[str, int], dict[str, int], list[dict[str, object]], list[BurnRate]]:
            runtime.usage.flush()  # this worker's latest requests count in the burn rates
            return (runtime.jobs.ingested_documents(), runtime.jobs.counts(), share.peers() if share else [],
                    burn_rates(runtime.settings, runtime.usage))

        ingested, states, peers, rates = await runtime.work.query(read)
        extra = gauge_lines("hopgraph_ingest_documents_total", "Documents written by finished ingest jobs.",
                            "counter", "collection", ingested)
        extra += gauge_lines("hopgraph_ingest_jobs", "Ingest jobs by state.", "gauge", "state", states)
        extra += slo_lines(rates)
        endpoints = runtime.models.reader_endpoints() or []
        extra += gauge_lines("hopgraph_reader_endpoint_up", "1 while a reader server is in the pool, 0 while it is "
                             "left out after a failure.", "gauge", "endpoint",
                             {e.url: int(e.up) for e in endpoints})
        extra += gauge_lines("hopgraph_reader_endpoint_failures_total", "Requests a reader server failed (each "
                             "was retried on another).", "counter", "endpoint",
                             {e.url: e.failures for e in endpoints})
        return await runtime.work.quick(runtime.metrics.render, extra, peers)
