"""Shared fixtures: settings in temporary directories, the real models (loaded once)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from extraction.nlp import NlpRunner
from graph.ontology import Ontology, load_ontology
from inference.embedder import Embedder, load_embedder

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"  # the full evaluation data; tests use it only through needs_shared_data
FIXTURES = ROOT / "tests" / "fixtures"  # small slices of it, committed (tests/fixtures/README.md)
MUSIQUE = FIXTURES / "musique"
SAMPLES = ROOT / "samples" / "corpus"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of derived model files (the ONNX export) for the whole run."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def settings(tmp_path: Path, model_cache: Path) -> Settings:
    """Settings with a fresh data directory and the fast reader (tests that need the default one say so)."""
    return load_settings(None, data_dir=tmp_path / "data", model_cache_dir=model_cache, llm_model="fast")


@pytest.fixture(scope="session")
def ontology() -> Ontology:
    return load_ontology()


@pytest.fixture(scope="session")
def embedder(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The real default embedder (all-MiniLM-L6-v2, int8 ONNX backend)."""
    s = load_settings(None, data_dir=tmp_path_factory.mktemp("emb"), model_cache_dir=model_cache)
    return load_embedder(s)


@pytest.fixture(scope="session")
def nlp(ontology: Ontology) -> Iterator[NlpRunner]:
    """The real spaCy stage, in-process."""
    runner = NlpRunner("en_core_web_sm", ontology, processes=0)
    runner.start()
    yield runner
    runner.close()


def run_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``hopgraph ARGS`` in a subprocess against ``data_dir``."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def service_missing(message: str) -> None:
    """A service or model a test needs is absent: skip locally, fail under CI (``CI`` set and not false)."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Mark every process this run starts (see tests/process_guard.py)."""
    from tests.process_guard import mark_run

    mark_run()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a process it started is still alive at the end (an orphaned worker, a server)."""
    from tests.process_guard import leftovers

    left = leftovers()
    if left:
        lines = "\n".join(f"  pid {pid}: {cmd}" for pid, cmd in sorted(left.items()))
        sys.stderr.write(f"\nprocesses left behind by the tests (still alive 20 s after the run):\n{lines}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def needs_shared_data(path: Path) -> Path:
    """A test that needs the full evaluation data in ../shared/data: ``path`` if it is there, else skip locally
    and fail under CI (as ``service_missing``). The repository alone runs the tests on ``FIXTURES``."""
    if not path.exists():
        service_missing(f"needs the full evaluation data {path} (../shared/data beside the checkout)")
    return path
