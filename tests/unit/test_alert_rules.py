"""The Prometheus alert rules in deploy/prometheus: valid for promtool, firing as their unit tests say, and naming
only series that hopgraph's /metrics exposes."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from api.http.metrics import Metrics, slo_lines
from core.settings import Settings
from service.slo import burn_rates_of
from service.usage import WindowCounts
from tests.conftest import ROOT, service_missing

RULES = ROOT / "deploy" / "prometheus"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        service_missing("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    assert found is not None
    return found


def test_promtool_checks_the_rules_and_their_unit_tests() -> None:
    promtool = _promtool()
    for args in (["check", "rules", "hopgraph-alerts.yml"], ["test", "rules", "hopgraph-alerts.test.yml"],
                 ["check", "config", "prometheus.yml"]):
        done = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_rules_name_series_that_metrics_exposes() -> None:
    counts = WindowCounts(300, 10, 1, 5, 1)
    exposition = Metrics().render(slo_lines(burn_rates_of(Settings(), "5m", counts)
                                            + burn_rates_of(Settings(), "1h", counts)))
    exposed = {m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", exposition, re.MULTILINE)}
    labels = set(re.findall(r'slo="([a-z_]+)"', exposition)) | set(re.findall(r'window="(\w+)"', exposition))
    groups = yaml.safe_load((RULES / "hopgraph-alerts.yml").read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {"HopgraphRetrieveLatencyBudgetBurnFast",
                                           "HopgraphAvailabilityBudgetBurnFast"}
    for rule in rules:
        for name in re.findall(r"\b(hopgraph_[a-z_]+)\b", rule["expr"]):
            assert name in exposed, f"{rule['alert']} names {name}, which /metrics does not expose"
        for value in re.findall(r'(?:slo|window)="(\w+)"', rule["expr"]):
            assert value in labels, f"{rule['alert']} selects {value!r}, a label value /metrics never has"
        assert rule["labels"]["severity"] in ("page", "ticket") and rule["annotations"]["summary"]
