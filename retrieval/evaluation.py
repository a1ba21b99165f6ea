"""Evaluation: Recall@k of supporting passages, answer EM/F1, retrieval latency.

Question files: MuSiQue (``paragraphs`` with ``is_supporting``) or HotpotQA
(``supporting_facts`` as [title, sentence index] pairs). Gold passages are
matched by title; recall counts distinct titles among the top k passages.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from retrieval.answer import Answerer
from retrieval.retriever import Retriever
from retrieval.types import RetrievalResult

KS = (2, 5, 10)


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """A question with its gold titles and acceptable answers."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold_titles: frozenset[str]


def load_questions(path: Path, limit: int | None = None) -> list[EvalQuestion]:
    """Read MuSiQue- or HotpotQA-style questions.

    Raises:
        InputError: the file is unreadable or in neither format.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read questions {path}: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("data", data.get("questions", []))
    out: list[EvalQuestion] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "question" not in item:
            raise InputError(f"{path}: item {i} has no question")
        if "paragraphs" in item:
            gold = {p["title"] for p in item["paragraphs"] if p.get("is_supporting")}
        elif "supporting_facts" in item:
            gold = {fact[0] for fact in item["supporting_facts"]}
        else:
            raise InputError(f"{path}: item {i} has neither paragraphs nor supporting_facts")
        answers = [str(item.get("answer", ""))] + [str(a) for a in item.get("answer_aliases", [])]
        out.append(EvalQuestion(str(item.get("id", item.get("_id", i))), item["question"],
                                tuple(a for a in answers if a), frozenset(gold)))
        if limit is not None and len(out) >= limit:
            break
    return out


def recall_at(titles: list[str], gold: frozenset[str], k: int) -> float:
    """Share of gold titles among the first k distinct titles."""
    distinct = list(dict.fromkeys(titles))[:k]
    return len(gold & set(distinct)) / len(gold) if gold else 0.0


def _normalise(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: tuple[str, ...]) -> float:
    """1.0 when the normalised prediction equals a normalised answer."""
    pred = _normalise(prediction)
    return float(any(pred == _normalise(a) for a in answers))


def token_f1(prediction: str, answers: tuple[str, ...]) -> float:
    """Best token-level F1 against the answers (SQuAD style)."""
    pred = _normalise(prediction).split()
    best = 0.0
    for answer in answers:
        gold = _normalise(answer).split()
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if same == 0:
            continue
        p, r = same / len(pred), same / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


@dataclass(slots=True)
class ModeReport:
    """Aggregated metrics of one retrieval mode."""

    recall: dict[int, float]
    em: float | None
    f1: float | None
    extractive_em: float | None
    extractive_f1: float | None
    latency_ms_mean: float
    latency_ms_p95: float
    latency_ms_p50: float = 0.0

    def as_dict(self) -> dict[str, float | None]:
        """The JSON shape of the harness: recall@k, em, f1, latencies."""
        out: dict[str, float | None] = {f"recall@{k}": round(v, 4) for k, v in self.recall.items()}
        out.update(
            em=_r(self.em), f1=_r(self.f1), extractive_em=_r(self.extractive_em), extractive_f1=_r(self.extractive_f1),
            latency_ms_mean=round(self.latency_ms_mean, 2), latency_ms_p50=round(self.latency_ms_p50, 2),
            latency_ms_p95=round(self.latency_ms_p95, 2),
        )
        return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def evaluate(
    retriever: Retriever,
    questions: list[EvalQuestion],
    modes: list[str],
    answerer: Answerer | None = None,
    use_llm: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, ModeReport]:
    """Run every question through every mode and aggregate the metrics.

    Args:
        retriever: over a store holding the corpus.
        questions: the evaluation questions.
        modes: retrieval modes to compare.
        answerer: when given, extractive answers are scored (and LLM answers if ``use_llm``).
        progress: called with (mode, questions done).
    """
    reports: dict[str, ModeReport] = {}
    depth = max(KS) * 2
    for mode in modes:
        recalls: dict[int, list[float]] = {k: [] for k in KS}
        latencies: list[float] = []
        em: list[float] = []
        f1: list[float] = []
        xem: list[float] = []
        xf1: list[float] = []
        for i, q in enumerate(questions, start=1):
            result = retriever.retrieve(q.question, mode=mode, k=depth)
            latencies.append(result.latency_ms)
            titles = [p.title for p in result.passages]
            for k in KS:
                recalls[k].append(recall_at(titles, q.gold_titles, k))
            if answerer is not None:
                top = RetrievalResult(result.question, mode, result.passages[:5], result.linked, result.latency_ms)
                x = answerer.extractive(top)
                xem.append(exact_match(x.short, q.answers))
                xf1.append(token_f1(x.short, q.answers))
                if use_llm:
                    a = answerer.generate(top)
                    em.append(exact_match(a.short, q.answers))
                    f1.append(token_f1(a.short, q.answers))
            if progress is not None:
                progress(mode, i)
        lat = np.array(latencies) if latencies else np.zeros(1)
        reports[mode] = ModeReport(
            recall={k: float(np.mean(v)) if v else 0.0 for k, v in recalls.items()},
            em=float(np.mean(em)) if em else None,
            f1=float(np.mean(f1)) if f1 else None,
            extractive_em=float(np.mean(xem)) if xem else None,
            extractive_f1=float(np.mean(xf1)) if xf1 else None,
            latency_ms_mean=float(lat.mean()),
            latency_ms_p95=float(np.percentile(lat, 95)),
            latency_ms_p50=float(np.percentile(lat, 50)),
        )
    return reports


def markdown_table(reports: dict[str, ModeReport]) -> str:
    """The reports as a markdown table."""
    cols = ["recall@2", "recall@5", "recall@10", "em", "f1", "extractive_em", "extractive_f1",
            "latency_ms_mean", "latency_ms_p50", "latency_ms_p95"]
    lines = ["| mode | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for mode, rep in reports.items():
        row = rep.as_dict()
        lines.append(f"| {mode} | " + " | ".join("-" if row[c] is None else f"{row[c]}" for c in cols) + " |")
    return "\n".join(lines)
