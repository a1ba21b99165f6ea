"""The committed MuSiQue slice (tests/fixtures/musique) holds what the tests use, and is the documented cut."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from tests.api.test_jobs_resume import PASSAGES as RESUME_PASSAGES
from tests.conftest import FIXTURES, MUSIQUE, SHARED_DATA, needs_shared_data
from tests.e2e.test_crash import PASSAGES as CRASH_PASSAGES
from tests.e2e.test_multihop import CASES


def _load(name: str) -> list[dict[str, object]]:
    data = json.loads((MUSIQUE / name).read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_slice_holds_what_the_tests_use() -> None:
    corpus = _load("corpus.json")
    questions = {str(q["id"]): q for q in _load("questions.json")}
    assert len(corpus) >= max(CRASH_PASSAGES, RESUME_PASSAGES) and all(p["title"] and p["text"] for p in corpus)
    passages = {(p["title"], p["text"]) for p in corpus}
    assert len(passages) == len(corpus)
    for q in questions.values():  # every candidate, gold ones included, is in the corpus: recall can reach 1
        paragraphs = q["paragraphs"]
        assert isinstance(paragraphs, list) and any(p["is_supporting"] for p in paragraphs)
        assert {(p["title"], p["paragraph_text"]) for p in paragraphs} <= passages
    for qid, bridge in CASES:
        paragraphs = questions[qid]["paragraphs"]
        assert isinstance(paragraphs, list) and bridge in {p["title"] for p in paragraphs}


def _make_slices() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_slices", FIXTURES / "make_slices.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_slice_is_the_documented_cut_of_the_shared_data() -> None:
    shared: Path = needs_shared_data(SHARED_DATA / "musique")
    for rel, text in _make_slices().cut(shared.parent).items():
        assert (FIXTURES / rel).read_text(encoding="utf-8") == text, f"{rel} is stale: rerun make_slices.py"
