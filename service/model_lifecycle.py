"""Changing the reader safely: promote through an evaluation gate, roll back in one step.

The model in use for a kind is the registry's *active* entry (table ``model_active`` in
``server.db``) when one was promoted, else what the settings name. ``promote`` evaluates the
candidate against the reader in use on a golden set (MuSiQue/HotpotQA-format questions whose
passages the store holds) and makes it active only when recall@5 and answer F1 do not drop by
more than the margins and p95 answer time does not grow by more than the allowed share;
``force`` overrides (audited as such). ``rollback`` makes the previous entry active again.
Servers read the active entry every few seconds (:func:`active_reader`).

Only readers are promoted: an embedder change is a migration of the store's vectors
(:mod:`service.embedding_migration`), gated the same way on retrieval.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConflictError, InputError, NotFoundError
from core.settings import Settings
from retrieval.evaluation import EvalQuestion, evaluate
from service.audit import Actor, AuditLog
from service.context import AppContext
from service.model_registry import ModelRegistry, reader_model, reader_settings
from service.serverdb import ServerDB

RECALL_MARGIN = 0.01  # recall@5 may drop by at most 1 point
F1_MARGIN = 0.02  # answer F1 by at most 2 points
LATENCY_GROWTH = 0.25  # p95 answer seconds may grow by at most 25%
GATED = ("recall@5", "f1", "answer_s_p95")


@dataclass(frozen=True, slots=True)
class GateResult:
    """The two readers' figures on the golden set, and whether the candidate passed."""

    current: str
    candidate: str
    figures: dict[str, dict[str, float | None]]  # reader -> metric -> value
    passed: bool
    reasons: list[str]
    promoted: bool

    def table(self) -> str:
        """The side-by-side markdown table."""
        lines = [f"| metric | {self.current} (in use) | {self.candidate} (candidate) |", "| --- | --- | --- |"]
        for metric in GATED:
            a, b = self.figures[self.current].get(metric), self.figures[self.candidate].get(metric)
            lines.append(f"| {metric} | {'-' if a is None else a} | {'-' if b is None else b} |")
        return "\n".join(lines)


def _figures(settings: Settings, llm_model: str, questions: Sequence[EvalQuestion]) -> dict[str, float | None]:
    ctx = AppContext(settings.model_copy(update={"llm_model": llm_model, "llm_model_path": None}))
    try:
        report = evaluate(ctx.retriever, list(questions), ["hybrid"], ctx.answerer, use_llm=True)["hybrid"]
    finally:
        ctx.close()
    values = report.as_dict()
    return {m: values.get(m) for m in GATED}


def gate_reasons(current: dict[str, float | None], candidate: dict[str, float | None],
                 margins: dict[str, float], latency: str, latency_name: str, unit: str) -> list[str]:
    """Why ``candidate`` fails a gate ([] when it passes): a metric of ``margins`` drops by more than its margin,
    or the ``latency`` metric grows by more than :data:`LATENCY_GROWTH`; a figure missing on either side is not
    judged."""
    reasons: list[str] = []
    for metric, margin in margins.items():
        a, b = current.get(metric), candidate.get(metric)
        if a is not None and b is not None and b < a - margin - 1e-9:
            reasons.append(f"{metric} drops from {a} to {b} (more than {margin:g})")
    a, b = current.get(latency), candidate.get(latency)
    if a and b is not None and b > a * (1 + LATENCY_GROWTH):
        reasons.append(f"p95 {latency_name} grows from {a}{unit} to {b}{unit} (more than {LATENCY_GROWTH:.0%})")
    return reasons


def judge(current: dict[str, float | None], candidate: dict[str, float | None]) -> list[str]:
    """Why the candidate reader fails the gate ([] when it passes)."""
    return gate_reasons(current, candidate, {"recall@5": RECALL_MARGIN, "f1": F1_MARGIN}, "answer_s_p95",
                        "answer time", "s")


def promote(settings: Settings, db: ServerDB, audit: AuditLog, by: Actor, kind: str, name: str,
            questions: Sequence[EvalQuestion], *, force: bool = False) -> GateResult:
    """Evaluate the reader ``name`` against the one in use on ``questions``; make it active if it passes (or
    ``force``). Audited either way it is promoted.

    Raises:
        InputError: a kind that cannot be promoted yet, or no golden questions.
        NotFoundError: no such model in the registry.
        ConflictError: that version is already in use.
        ConfigError, ModelError, StoreError: as the evaluation.
    """
    if kind != "reader":
        raise InputError(f"only readers are promoted; move a store to a new {kind} with "
                         "'hopgraph models migrate-embeddings' (embedders) or 'hopgraph reextract' (spaCy)")
    if not questions:
        raise InputError("the golden set holds no questions")
    registry = ModelRegistry(db)
    registry.seed(settings)
    entry = next((e for e in reversed(registry.get(name)) if e.kind == kind), None)
    if entry is None:
        raise NotFoundError(f"no {kind} {name!r} in the registry")
    active = db.read("SELECT name, version FROM model_active WHERE kind=?", (kind,))
    if active and (str(active[0]["name"]), int(active[0]["version"])) == (entry.name, entry.version):
        raise ConflictError(f"{kind} {entry.name} v{entry.version} is already in use")
    current = reader_settings(settings, db)
    current_model = str(current.llm_model_path or current.llm_model)
    candidate_model = reader_model(entry)
    figures = {current_model: _figures(current, current_model, questions),
               candidate_model: _figures(current, candidate_model, questions)}
    reasons = judge(figures[current_model], figures[candidate_model])
    promoted = not reasons or force
    if promoted:
        previous = db.read("SELECT name, version FROM model_active WHERE kind=?", (kind,))
        with db.write() as conn:
            conn.execute(
                "INSERT INTO model_active(kind, name, version, previous_name, previous_version, changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET name=excluded.name,"
                " version=excluded.version, previous_name=excluded.previous_name,"
                " previous_version=excluded.previous_version, changed_at=excluded.changed_at",
                (kind, entry.name, entry.version, previous[0]["name"] if previous else None,
                 previous[0]["version"] if previous else None, time.time()),
            )
        audit.record(by, None, "model.promote", f"{kind}:{entry.name}",
                     before={"model": current_model, **figures[current_model]},
                     after={"model": candidate_model, "version": entry.version, "forced": bool(reasons),
                            "reasons": reasons, **figures[candidate_model]})
    return GateResult(current_model, candidate_model, figures, not reasons, reasons, promoted)


def rollback(db: ServerDB, audit: AuditLog, by: Actor, kind: str) -> tuple[str, str | None]:
    """Make the previous entry of ``kind`` active again (none before: back to the settings' model); audited.

    Returns:
        (the name rolled back from, the name now active or None for the settings' own).

    Raises:
        ConflictError: nothing was promoted.
    """
    rows = db.read("SELECT * FROM model_active WHERE kind=?", (kind,))
    if not rows:
        raise ConflictError(f"no {kind} was promoted: nothing to roll back")
    row = rows[0]
    with db.write() as conn:
        if row["previous_name"] is None:
            conn.execute("DELETE FROM model_active WHERE kind=?", (kind,))
        else:
            conn.execute("UPDATE model_active SET name=?, version=?, previous_name=NULL, previous_version=NULL,"
                         " changed_at=? WHERE kind=?", (row["previous_name"], row["previous_version"], time.time(),
                                                        kind))
    now = None if row["previous_name"] is None else str(row["previous_name"])
    audit.record(by, None, "model.rollback", f"{kind}:{row['name']}", before={"name": row["name"]},
                 after={"name": now})
    return str(row["name"]), now


def golden_path(settings: Settings) -> Path:
    """Where a store keeps its golden set (questions in the formats ``hopgraph eval`` reads)."""
    return settings.data_dir / "golden.json"
