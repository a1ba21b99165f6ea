"""Schemathesis against a real ``hopgraph serve`` process: every operation of ``/schema/openapi.json``,
generated inputs (valid and invalid), never a 5xx, responses that match the schema."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.api.conftest import BETA_DOCS
from tests.api.test_server_e2e import _env, _free_port
from tests.conftest import ROOT, run_cli

EXAMPLES = int(os.environ.get("HOPGRAPH_FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[tuple[str, str]]:
    """A served API with one ingested collection ``fuzz``; yields (url, admin key)."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    env = {**_env(model_cache), "HOPGRAPH_API_RATE_PER_S": "0", "HOPGRAPH_LLM_MAX_TOKENS": "8"}
    port, log = _free_port(), data.parent / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "--data-dir", str(data), "serve", "--port",
                                 str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        made = run_cli("keys", "create", "--role", "admin", data_dir=data, env=env, timeout=120)
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip()
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
        assert admin.post("/v1/collections", json={"name": "fuzz"}).status_code == 201
        job = admin.post("/v1/collections/fuzz/documents", json={"documents": BETA_DOCS}).json()
        while admin.get(f"/v1/collections/fuzz/jobs/{job['id']}").json()["state"] not in ("succeeded", "failed"):
            time.sleep(0.3)
        yield url, key
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_no_server_errors_and_responses_match_the_schema(fuzz_server: tuple[str, str]) -> None:
    url, key = fuzz_server
    api = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    failures: list[str] = []
    calls = 0
    for found in api.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            if case.method == "DELETE" and (case.path_parameters or {}).get("c") == "fuzz":
                return  # never delete the collection under test
            calls += 1
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, timeout=120,
                                   checks=[not_a_server_error, content_type_conformance,
                                           response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    print(f"schemathesis: {calls} calls over {len(list(api.get_all_operations()))} operations")
    assert calls > 200
    assert not failures, "\n\n".join(failures)
