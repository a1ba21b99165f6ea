"""Browser fixtures: Debian's headless Chromium driven by Playwright for Python (its own browser download is never
used: ``executable_path`` points at the system Chromium), and a real ``hopgraph serve`` holding the sample corpus."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing

CHROMIUM = os.environ.get("HOPGRAPH_CHROMIUM", "/usr/bin/chromium")


def chromium_path() -> str:
    """The system Chromium (fails under CI, skips elsewhere, when absent)."""
    found = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if found is None:
        service_missing(f"Chromium is not installed at {CHROMIUM} (Debian package chromium; .ci/run installs it)")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("playwright is not installed (pip install -e '.[test]')")
    path = chromium_path()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
