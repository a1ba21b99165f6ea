"""Prometheus metrics in the text exposition format (no client library needed).

Request counts and latency per route, retrieval and generation latency, tokens, answer outcomes
generated; ``/metrics`` adds ingest counters read from the job table. Each server
process counts its own; under ``hopgraph serve`` every process also publishes its
counts (:mod:`api.http.metrics_share`) and ``/metrics`` adds the others', so a scrape
answered by any worker shows the whole server.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings
from service.slo import BurnRate
from service.usage import Outcome, Usage, UsageLog

USAGE_STATE = "hopgraph.usage"
"""The key in a request's ``scope["state"]`` of its :class:`~service.usage.Usage` (see :func:`request_usage`)."""
COLLECTION_STATE = "hopgraph.collection"
"""The key in ``scope["state"]`` of the collection a request outside ``/v1/collections/{c}`` works on."""
UNCOUNTED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "unmatched"})
"""Routes left out of the usage log and the SLOs (probes and scrapes, not users' requests)."""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for v in values)
    return "{" + ",".join(f'{n}="{v}"' for n, v in zip(names, escaped, strict=True)) + "}"


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.labels = name, help_text, tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *values: str, amount: float = 1.0) -> None:
        """Add ``amount`` to the series of ``values``."""
        with self._lock:
            self._values[values] = self._values.get(values, 0.0) + amount

    def state(self) -> dict[tuple[str, ...], float]:
        """A copy of every series' value."""
        with self._lock:
            return dict(self._values)

    def render(self, peers: Sequence[Mapping[tuple[str, ...], Any]] = ()) -> list[str]:
        """Exposition lines of this process's series plus ``peers``' (other processes' :meth:`state`)."""
        merged = self.state()
        for peer in peers:
            for key, value in peer.items():
                if isinstance(value, (int, float)):
                    merged[key] = merged.get(key, 0.0) + float(value)
        items = sorted(merged.items())
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        lines += [f"{self.name}{_labels(self.labels, k)} {v:.12g}" for k, v in items]
        return lines


SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Histogram:
    """Observations in cumulative buckets per label set."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.labels, self.buckets = name, help_text, tuple(labels), tuple(buckets)
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., +Inf count, sum
        self._lock = threading.Lock()

    def observe(self, value: float, *values: str) -> None:
        """Record one observation."""
        i = bisect.bisect_left(self.buckets, value)
        with self._lock:
            series = self._series.setdefault(values, [0.0] * (len(self.buckets) + 2))
            series[i] += 1
            series[-1] += value

    def state(self) -> dict[tuple[str, ...], list[float]]:
        """A copy of every series: per-bucket counts, the +Inf count, the sum."""
        with self._lock:
            return {k: list(v) for k, v in self._series.items()}

    def render(self, peers: Sequence[Mapping[tuple[str, ...], Any]] = ()) -> list[str]:
        """Exposition lines of this process's series plus ``peers``' (other processes' :meth:`state`)."""
        merged = self.state()
        width = len(self.buckets) + 2
        for peer in peers:
            for key, value in peer.items():
                if isinstance(value, list) and len(value) == width:  # same bucket layout
                    own = merged.setdefault(key, [0.0] * width)
                    merged[key] = [a + float(b) for a, b in zip(own, value, strict=True)]
        items = sorted(merged.items())
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, series in items:
            cumulative = 0.0
            for bound, count in zip([*self.buckets, float("inf")], series[:-1], strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f"{self.name}_bucket{_labels((*self.labels, 'le'), (*key, le))} {cumulative:g}")
            lines.append(f"{self.name}_sum{_labels(self.labels, key)} {series[-1]:.6f}")
            lines.append(f"{self.name}_count{_labels(self.labels, key)} {cumulative:g}")
        return lines


class Metrics:
    """The metrics of one server process."""

    def __init__(self) -> None:
        self.requests = Counter("hopgraph_http_requests_total", "HTTP requests.", ("method", "route", "status"))
        self.latency = Histogram("hopgraph_http_request_duration_seconds", "HTTP request latency.",
                                 ("method", "route"))
        self.retrieval = Histogram("hopgraph_retrieval_duration_seconds", "Retrieval latency.", ("mode",))
        self.generation = Histogram("hopgraph_generation_duration_seconds", "LLM answer generation latency.")
        self.tokens = Counter("hopgraph_generated_tokens_total", "Tokens generated by the LLM.")
        self.answers = Counter("hopgraph_answers_total",
                               "Generated answers by outcome: supported (a cited span contains it), unsupported "
                               "(no passage does: flagged, not shown as fact), no_answer.", ("outcome",))

        self.model_answers = Counter("hopgraph_model_answers_total",
                                     "Generated answers by reader model and outcome (supported, unsupported, "
                                     "no_answer): compare readers by their no-answer and unsupported rates.",
                                     ("reader", "outcome"))
        self.top_score = Histogram("hopgraph_retrieval_top_dense_score",
                                   "Cosine similarity of the best dense match of each retrieval, by embedding "
                                   "model: a falling distribution means the corpus answers the questions less well.",
                                   ("embedder",), buckets=SCORE_BUCKETS)
        usage = ("collection", "key")
        self.usage_requests = Counter("hopgraph_usage_requests_total",
                                      "Requests per collection, API key (id) and endpoint (retrieve, query, other).",
                                      (*usage, "endpoint"))
        self.usage_cpu = Counter("hopgraph_usage_cpu_seconds_total",
                                 "CPU seconds of the work done for requests (the process's CPU shared among the "
                                 "requests running when it was spent).", usage)
        self.usage_tokens = Counter("hopgraph_usage_tokens_total",
                                    "Reader tokens per collection and key: kind prompt (read) or completion "
                                    "(generated).", (*usage, "kind"))
        self.usage_retrieval = Counter("hopgraph_usage_retrieval_seconds_total",
                                       "Wall seconds spent retrieving, per collection and key.", usage)
        self.usage_generation = Counter("hopgraph_usage_generation_seconds_total",
                                        "Wall seconds spent generating answers, per collection and key.", usage)
        self.golden_similarity = Histogram("hopgraph_query_golden_similarity",
                                           "Cosine similarity of each question to the centroid of the collection's "
                                           "golden questions, by embedding model (query drift; see README).",
                                           ("embedder",), buckets=SCORE_BUCKETS)

    def _all(self) -> tuple[Counter | Histogram, ...]:
        return (self.requests, self.latency, self.retrieval, self.generation, self.tokens, self.answers,
                self.model_answers, self.top_score, self.golden_similarity, self.usage_requests, self.usage_cpu,
                self.usage_tokens, self.usage_retrieval, self.usage_generation)

    def charge(self, outcome: Outcome) -> None:
        """Count a finished request's cost against its collection and key."""
        collection, key, u = outcome.collection, outcome.key_id, outcome.usage
        self.usage_requests.inc(collection, key, outcome.endpoint)
        self.usage_cpu.inc(collection, key, amount=u.cpu_s)
        if u.prompt_tokens or u.completion_tokens:
            self.usage_tokens.inc(collection, key, "prompt", amount=u.prompt_tokens)
            self.usage_tokens.inc(collection, key, "completion", amount=u.completion_tokens)
        if u.retrieval_s:
            self.usage_retrieval.inc(collection, key, amount=u.retrieval_s)
        if u.generation_s:
            self.usage_generation.inc(collection, key, amount=u.generation_s)

    def snapshot(self) -> dict[str, list[list[Any]]]:
        """Every series as JSON-able data: ``{metric name: [[label values, value], ...]}``."""
        return {m.name: [[list(k), v] for k, v in sorted(m.state().items())] for m in self._all()}

    def render(self, extra: Sequence[str] = (), peers: Sequence[Mapping[str, Any]] = ()) -> str:
        """The whole exposition text: this process's series plus the ``peers``' :meth:`snapshot`, then ``extra``."""
        lines: list[str] = []
        for metric in self._all():
            states = [_series_of(peer.get(metric.name)) for peer in peers]
            lines += metric.render(states)
        return "\n".join([*lines, *extra]) + "\n"


def _series_of(rows: Any) -> dict[tuple[str, ...], Any]:
    """A peer's rows of one metric (``[[label values, value], ...]``) keyed by label values; rows of
    another shape are left out."""
    out: dict[tuple[str, ...], Any] = {}
    for row in rows if isinstance(rows, list) else ():
        if isinstance(row, list) and len(row) == 2 and isinstance(row[0], list):
            out[tuple(str(v) for v in row[0])] = row[1]
    return out


def gauge_lines(name: str, help_text: str, kind: str, label: str, values: dict[str, int]) -> list[str]:
    """Exposition lines of a labelled gauge or counter read from elsewhere."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    return lines + [f"{name}{_labels((label,), (k,))} {v}" for k, v in sorted(values.items())]


def slo_lines(rates: Sequence[BurnRate]) -> list[str]:
    """Exposition lines of the SLOs: objectives, and burn rates per objective and window."""
    lines = ["# HELP hopgraph_slo_objective The objective of each SLO (share of good requests).",
             "# TYPE hopgraph_slo_objective gauge"]
    seen: set[str] = set()
    for r in rates:
        if r.slo not in seen:
            seen.add(r.slo)
            lines.append(f"hopgraph_slo_objective{_labels(('slo',), (r.slo,))} {r.objective:g}")
    lines += ["# HELP hopgraph_slo_burn_rate Error-budget burn rate: the share of bad requests in the window "
              "divided by (1 - objective); 1 spends the budget exactly over the SLO period.",
              "# TYPE hopgraph_slo_burn_rate gauge"]
    lines += [f"hopgraph_slo_burn_rate{_labels(('slo', 'window'), (r.slo, r.window))} {r.rate:.6g}" for r in rates]
    lines += ["# HELP hopgraph_slo_window_requests Requests an SLO counted in the window (all, and bad ones).",
              "# TYPE hopgraph_slo_window_requests gauge"]
    for r in rates:
        lines.append(f"hopgraph_slo_window_requests{_labels(('slo', 'window', 'kind'), (r.slo, r.window, 'all'))}"
                     f" {r.requests}")
        lines.append(f"hopgraph_slo_window_requests{_labels(('slo', 'window', 'kind'), (r.slo, r.window, 'bad'))}"
                     f" {r.bad}")
    return lines


def request_usage(scope: Scope) -> Usage:
    """The usage record of the request of ``scope`` (a fresh one outside :class:`MetricsMiddleware`)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    usage = state.setdefault(USAGE_STATE, Usage())
    assert isinstance(usage, Usage)
    return usage


def _endpoint(route: str) -> str:
    last = route.rsplit("/", 1)[-1]
    if last == "completions":  # the OpenAI-compatible chat: an answer
        return "query"
    return last if last in ("retrieve", "query") else "other"


class MetricsMiddleware(ASGIMiddleware):
    """Counts requests and times them per route template (``/v1/collections/{c:str}/retrieve``), charges
    each request's usage to its collection and key, and adds it to the usage log (the SLOs' counts)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Metrics, usage: UsageLog, settings: Settings) -> None:
        self._metrics, self._usage, self._slow_s = metrics, usage, settings.slo_retrieve_latency_s

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Run the request and record its status, duration and cost."""
        started = time.perf_counter()
        status = 500
        usage = request_usage(scope)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await next_app(scope, receive, send_wrapper)
        except HTTPException as exc:
            status = exc.status_code
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = str(scope.get("path_template") or "unmatched")
            method = str(scope.get("method", ""))
            self._metrics.requests.inc(method, route, str(status))
            self._metrics.latency.observe(elapsed, method, route)
            if route not in UNCOUNTED_ROUTES:
                endpoint = _endpoint(route)
                params = scope.get("path_params") or {}
                collection = params.get("c") or scope.get("state", {}).get(COLLECTION_STATE, "")
                if status in (401, 403, 404):  # a name the caller may not use (or made up) labels nothing
                    collection = ""
                outcome = Outcome(str(collection), str(getattr(scope.get("user"), "id", "") or ""),
                                  endpoint, status >= 500, endpoint == "retrieve" and elapsed > self._slow_s, usage)
                self._usage.add(outcome)
                if outcome.collection:
                    self._metrics.charge(outcome)
