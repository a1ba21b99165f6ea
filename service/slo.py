"""Service-level objectives and their error-budget burn rates.

Two objectives, set in the settings: *retrieve latency* (a share, ``slo_retrieve_objective``, of
retrieve requests finish within ``slo_retrieve_latency_s``) and *availability* (a share,
``slo_availability_objective``, of all requests are not answered 5xx). The burn rate over a window
is the share of bad requests in it divided by the error budget (one minus the objective): 1 spends
the budget exactly over the SLO period, 14.4 over one hour spends 2% of a 30-day budget. The
counts come from the usage log (:mod:`service.usage`), so they cover every worker of the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings
from service.usage import UsageLog, WindowCounts

WINDOWS: tuple[tuple[str, float], ...] = (("5m", 300.0), ("1h", 3600.0))


@dataclass(frozen=True, slots=True)
class BurnRate:
    """The burn rate of one objective over one window."""

    slo: str  # retrieve_latency or availability
    window: str  # 5m or 1h
    objective: float
    requests: int  # the requests the objective counts in the window
    bad: int  # those that missed it
    rate: float  # bad share / (1 - objective); 0 with no requests


def _rate(bad: int, total: int, objective: float) -> float:
    return (bad / total) / (1.0 - objective) if total else 0.0


def burn_rates_of(settings: Settings, name: str, counts: WindowCounts) -> list[BurnRate]:
    """The burn rates of both objectives from one window's counts."""
    return [
        BurnRate("retrieve_latency", name, settings.slo_retrieve_objective, counts.retrieves, counts.slow,
                 _rate(counts.slow, counts.retrieves, settings.slo_retrieve_objective)),
        BurnRate("availability", name, settings.slo_availability_objective, counts.requests, counts.errors,
                 _rate(counts.errors, counts.requests, settings.slo_availability_objective)),
    ]


def burn_rates(settings: Settings, log: UsageLog) -> list[BurnRate]:
    """Both objectives' burn rates over every window.

    Raises:
        StoreError: the server database failed.
    """
    return [rate for name, seconds in WINDOWS for rate in burn_rates_of(settings, name, log.window(seconds))]
