"""Evaluation: Recall@k of supporting passages, answer EM/F1, no-answer and unsupported rates, latencies.

Question files: MuSiQue (``paragraphs`` with ``is_supporting``) or HotpotQA
(``supporting_facts`` as [title, sentence index] pairs, ``context`` as [title,
sentences] pairs). Gold passages are matched by title; recall counts distinct
titles among the top k passages. The *oracle* row answers from the gold
supporting passages themselves, so reader and retrieval losses can be told apart.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError
from retrieval.answer import Answer, Answerer
from retrieval.retriever import Retriever
from retrieval.types import Passage, RetrievalResult

KS = (2, 5, 10)


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """A question with its gold titles and acceptable answers."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold_titles: frozenset[str]
    gold_passages: tuple[tuple[str, str], ...] = ()  # (title, text) of the supporting passages, when the file has them


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
        texts: list[tuple[str, str]] = []
        if "paragraphs" in item:
            supporting = [p for p in item["paragraphs"] if p.get("is_supporting")]
            gold = {p["title"] for p in supporting}
            texts = [(p["title"], p.get("paragraph_text", p.get("text", ""))) for p in supporting]
        elif "supporting_facts" in item:
            gold = {fact[0] for fact in item["supporting_facts"]}
            context = {c[0]: c[1] for c in item.get("context", []) if isinstance(c, list) and len(c) == 2}
            texts = [(t, " ".join(context[t]) if isinstance(context[t], list) else str(context[t]))
                     for t in dict.fromkeys(f[0] for f in item["supporting_facts"]) if t in context]
        else:
            raise InputError(f"{path}: item {i} has neither paragraphs nor supporting_facts")
        answers = [str(item.get("answer", ""))] + [str(a) for a in item.get("answer_aliases", [])]
        out.append(EvalQuestion(str(item.get("id", item.get("_id", i))), item["question"],
                                tuple(a for a in answers if a), frozenset(gold),
                                tuple((t, x) for t, x in texts if x)))
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
    """Aggregated metrics of one retrieval mode (or of the oracle, which has no recall or retrieval latency)."""

    recall: dict[int, float | None]
    em: float | None
    f1: float | None
    extractive_em: float | None
    extractive_f1: float | None
    latency_ms_mean: float | None
    latency_ms_p95: float | None
    latency_ms_p50: float | None = None
    no_answer_rate: float | None = None
    unsupported_rate: float | None = None
    answer_s_mean: float | None = None
    answer_s_p95: float | None = None
    ttft_s_p50: float | None = None
    second_hop_rate: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        """The JSON shape of the harness: recall@k, answer quality, latencies."""
        out: dict[str, float | None] = {f"recall@{k}": _r(v) for k, v in self.recall.items()}
        out.update(
            em=_r(self.em), f1=_r(self.f1), no_answer_rate=_r(self.no_answer_rate),
            unsupported_rate=_r(self.unsupported_rate), answer_s_mean=_r(self.answer_s_mean, 3),
            answer_s_p95=_r(self.answer_s_p95, 3), ttft_s_p50=_r(self.ttft_s_p50, 3),
            second_hop_rate=_r(self.second_hop_rate),
            extractive_em=_r(self.extractive_em), extractive_f1=_r(self.extractive_f1),
            latency_ms_mean=_r(self.latency_ms_mean, 2), latency_ms_p50=_r(self.latency_ms_p50, 2),
            latency_ms_p95=_r(self.latency_ms_p95, 2),
        )
        return out


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


@dataclass(slots=True)
class _Scores:
    """What one mode collects per question."""

    em: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    xem: list[float] = field(default_factory=list)
    xf1: list[float] = field(default_factory=list)
    no_answer: list[float] = field(default_factory=list)
    unsupported: list[float] = field(default_factory=list)
    answer_s: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    second_hop: list[float] = field(default_factory=list)

    def add_generated(self, answer: Answer, q: EvalQuestion, retrieval_s: float) -> None:
        self.em.append(exact_match(answer.short, q.answers))
        self.f1.append(token_f1(answer.short, q.answers))
        self.no_answer.append(float(answer.no_answer))
        self.unsupported.append(float(answer.unsupported))
        self.answer_s.append(retrieval_s + answer.timings.get("total_s", 0.0))
        self.ttft_s.append(retrieval_s + answer.timings.get("ttft_s", 0.0))
        self.second_hop.append(float(len(answer.steps) > 1))

    def report(self, recall: dict[int, float | None], latencies: list[float]) -> ModeReport:
        return ModeReport(
            recall=recall, em=_mean(self.em), f1=_mean(self.f1), extractive_em=_mean(self.xem),
            extractive_f1=_mean(self.xf1), latency_ms_mean=_mean(latencies), latency_ms_p95=_pct(latencies, 95),
            latency_ms_p50=_pct(latencies, 50), no_answer_rate=_mean(self.no_answer),
            unsupported_rate=_mean(self.unsupported), answer_s_mean=_mean(self.answer_s),
            answer_s_p95=_pct(self.answer_s, 95), ttft_s_p50=_pct(self.ttft_s, 50),
            second_hop_rate=_mean(self.second_hop),
        )


def evaluate(
    retriever: Retriever,
    questions: list[EvalQuestion],
    modes: list[str],
    answerer: Answerer | None = None,
    use_llm: bool = False,
    progress: Callable[[str, int], None] | None = None,
    oracle: bool = False,
    on_answer: Callable[[str, EvalQuestion, Answer], None] | None = None,
) -> dict[str, ModeReport]:
    """Run every question through every mode and aggregate the metrics.

    Args:
        retriever: over a store holding the corpus.
        questions: the evaluation questions.
        modes: retrieval modes to compare.
        answerer: when given, extractive answers are scored (and LLM answers if ``use_llm``).
        progress: called with (mode, questions done).
        oracle: also answer from each question's gold passages (row ``oracle``; needs ``use_llm``).
        on_answer: called with (mode, question, generated answer), e.g. to print the failures.
    """
    reports: dict[str, ModeReport] = {}
    depth = max(KS) * 2
    for mode in modes:
        recalls: dict[int, list[float]] = {k: [] for k in KS}
        latencies: list[float] = []
        scores = _Scores()
        for i, q in enumerate(questions, start=1):
            result = retriever.retrieve(q.question, mode=mode, k=depth)
            latencies.append(result.latency_ms)
            titles = [p.title for p in result.passages]
            for k in KS:
                recalls[k].append(recall_at(titles, q.gold_titles, k))
            if answerer is not None:
                top = RetrievalResult(result.question, mode, result.passages[:5], result.linked, result.latency_ms,
                                      result.embedding_model)
                x = answerer.extractive(top)
                scores.xem.append(exact_match(x.short, q.answers))
                scores.xf1.append(token_f1(x.short, q.answers))
                if use_llm:
                    a = answerer.generate(top)
                    scores.add_generated(a, q, result.latency_ms / 1000)
                    if on_answer is not None:
                        on_answer(mode, q, a)
            if progress is not None:
                progress(mode, i)
        reports[mode] = scores.report({k: float(np.mean(v)) if v else 0.0 for k, v in recalls.items()}, latencies)
    if oracle and answerer is not None and use_llm:
        reports["oracle"] = _oracle(retriever, questions, answerer, progress, on_answer)
    return reports


def _oracle(retriever: Retriever, questions: list[EvalQuestion], answerer: Answerer,
            progress: Callable[[str, int], None] | None,
            on_answer: Callable[[str, EvalQuestion, Answer], None] | None) -> ModeReport:
    """Answers from the gold supporting passages (one reading pass: there is nothing to retrieve)."""
    scores = _Scores()
    for i, q in enumerate(questions, start=1):
        if not q.gold_passages:
            raise InputError(f"question {q.id} has no gold passage texts: --oracle needs them in the question file")
        linked = retriever.retrieve(q.question, mode="dense", k=1).linked
        passages = [Passage(f"gold:{q.id}:{n}", f"gold:{q.id}", title, 0, len(text), text, 1.0)
                    for n, (title, text) in enumerate(q.gold_passages)]
        a = answerer.generate(RetrievalResult(q.question, "oracle", passages, linked), one_pass=True)
        scores.add_generated(a, q, 0.0)
        if on_answer is not None:
            on_answer("oracle", q, a)
        if progress is not None:
            progress("oracle", i)
    return scores.report({k: None for k in KS}, [])


def print_failure(mode: str, q: EvalQuestion, answer: Answer) -> None:
    """Print a generated answer that is not an exact match, with its steps (to stderr), for reading failures."""
    if exact_match(answer.short, q.answers):
        return
    steps = "; ".join(f"{s.hop}:{s.outcome}" + (f" via {s.bridge!r}" if s.bridge else "") for s in answer.steps)
    f1 = token_f1(answer.short, q.answers)
    print(f"[{mode}] f1={f1:.2f} gold={q.answers[0]!r} got={answer.text!r} steps=({steps}) | {q.question}",
          file=sys.stderr)


def markdown_table(reports: dict[str, ModeReport]) -> str:
    """The reports as a markdown table."""
    cols = ["recall@2", "recall@5", "recall@10", "em", "f1", "no_answer_rate", "unsupported_rate",
            "answer_s_mean", "answer_s_p95", "ttft_s_p50", "extractive_em", "extractive_f1",
            "latency_ms_mean", "latency_ms_p95"]
    lines = ["| mode | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for mode, rep in reports.items():
        row = rep.as_dict()
        lines.append(f"| {mode} | " + " | ".join("-" if row[c] is None else f"{row[c]}" for c in cols) + " |")
    return "\n".join(lines)
