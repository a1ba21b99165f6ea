"""Usage: what a collection's requests cost over a period (admins)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from api.http.auth import requires
from api.http.deps import CollectionDep, RuntimeDep
from api.http.schemas import UsageReport
from api.shapes import usage_out
from core.errors import InputError
from service.usage import UsageSummary

DAY_S = 86400.0


def parse_since(value: str | None, now: float) -> float:
    """``since`` as epoch seconds: a number, or an ISO 8601 time (UTC when it names no zone); default a day ago.

    Raises:
        InputError: neither.
    """
    if value is None or not value.strip():
        return now - DAY_S
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"since must be epoch seconds or an ISO 8601 time, not {value!r}") from exc
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def report(name: str, summary: UsageSummary) -> UsageReport:
    """The HTTP shape of a usage summary."""
    return UsageReport(collection=name, since=summary.since, until=summary.until, requests=summary.requests,
                       errors=summary.errors, usage=usage_out(summary.usage),
                       by_key={k: usage_out(u) for k, u in sorted(summary.by_key.items())},
                       requests_by_endpoint=dict(sorted(summary.by_endpoint.items())))


class UsageController(Controller):
    """Cost of the collection's requests: CPU seconds, reader tokens, retrieval and generation time."""

    path = "/usage"
    tags = ["operations"]

    @get("/", guards=[requires("admin")], summary="Usage of the collection since a time")
    async def usage(
        self, collection: CollectionDep, runtime: RuntimeDep,
        since: Annotated[str | None, QueryParameter(description="Epoch seconds or ISO 8601 (UTC by default); "
                                                    "default: 24 hours ago.")] = None,
    ) -> UsageReport:
        """Sums of every request to the collection since ``since``, in total and per API key id (usage is
        written every 2 s; this worker's own is written first)."""
        start = parse_since(since, time.time())

        def load() -> UsageSummary:
            runtime.usage.flush()
            return runtime.usage.summary(collection.name, start)

        return report(collection.name, await runtime.work.query(load))
