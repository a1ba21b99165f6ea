"""``hopgraph eval`` and ``bench/eval.py``: ingest a corpus into a store, then score every mode on questions.

One function for both so that the command and the benchmark measure the same thing.
Blocking (minutes on a full corpus).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.settings import Settings
from graph.access import EVERYONE, Viewer
from retrieval.answer import Answer
from retrieval.evaluation import EvalQuestion, ModeReport, evaluate, load_questions, markdown_table, print_failure
from retrieval.types import MODES
from service.context import AppContext

__all__ = ["MODES", "EvalQuestion", "EvaluationRun", "load_questions", "markdown_table", "print_failure", "run"]


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """The per-mode reports, how many passages the store held and how long the ingest took."""

    reports: dict[str, ModeReport]
    passages: int
    ingest_s: float


def run(settings: Settings, questions: Sequence[EvalQuestion], corpus: Path, modes: Sequence[str], *,
        use_llm: bool = True, oracle: bool = False,
        on_answer: Callable[[str, EvalQuestion, Answer], None] | None = None,
        viewer: Viewer = EVERYONE) -> EvaluationRun:
    """Ingest ``corpus`` into ``settings.data_dir`` (unchanged documents are skipped) and evaluate, reading as
    ``viewer`` (through its restricted view unless it sees every document).

    Raises:
        InputError: an unknown mode, or the corpus failed to ingest.
        ConfigError, ModelError, StoreError: as the store and the models.
    """
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise InputError(f"unknown mode(s) {bad}")
    ctx = AppContext(settings, viewer)
    try:
        report = ctx.pipeline().run([corpus])
        if not report.ok:
            raise InputError(f"corpus failed to ingest: {report.failures[0].reason}")
        reading = ctx.reading
        reading.retriever.warm()
        reports = evaluate(reading.retriever, list(questions), list(modes), reading.answerer, use_llm=use_llm,
                           oracle=oracle, on_answer=on_answer)
    finally:
        ctx.close()
    return EvaluationRun(reports, report.documents + report.unchanged, report.seconds)
