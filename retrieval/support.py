"""Whether an answer holds: its citations, the spans that contain it, its expected type.

A generated answer is *supported* when a passage it cites (or, if the reader
cited none, any passage it was shown) contains it: the whole short answer, or
every key word of it. Each citation then points at the span that contains the
answer, not merely at the passage. An answer that no passage contains is kept
but flagged *unsupported*: the caller sees it as a guess, never as a fact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.excerpts import STOPWORDS, Excerpt

CITATION = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[A-Za-z0-9]+")
_MONTHS = ("january february march april may june july august september october november december"
           " jan feb mar apr jun jul aug sep sept oct nov dec").split()
_NUMBER_WORDS = frozenset("zero one two three four five six seven eight nine ten eleven twelve twenty thirty"
                          " forty fifty hundred thousand million billion several".split())


@dataclass(frozen=True, slots=True)
class Citation:
    """A citation marker and the passage span it points to (document offsets)."""

    n: int
    chunk_id: str
    doc_id: str
    start: int
    end: int


def strip_markers(text: str) -> str:
    """``text`` without ``[n]`` markers and trailing punctuation."""
    return re.sub(r"\s+", " ", CITATION.sub("", text)).strip().rstrip(".").strip()


def cited_numbers(text: str, count: int) -> tuple[list[int], int]:
    """The passage numbers ``text`` cites (1..count, in order, once each) and how many markers point nowhere."""
    numbers: list[int] = []
    removed = 0
    for match in CITATION.finditer(text):
        n = int(match.group(1))
        if 1 <= n <= count:
            if n not in numbers:
                numbers.append(n)
        else:
            removed += 1
    return numbers, removed


def key_words(answer: str) -> list[str]:
    """The words an answer must share with a passage to be supported (stop words aside)."""
    return [w for w in _WORD.findall(answer) if w.lower() not in STOPWORDS]


def _span_in(excerpt: Excerpt, answer: str) -> tuple[int, int] | None:
    """The chunk-relative span of ``answer`` in ``excerpt``: the exact phrase, else the sentence holding all of
    its key words."""
    exact = excerpt.locate(answer)
    if exact is not None:
        return exact
    words = [w.lower() for w in key_words(answer)]
    if not words:
        return None
    text = excerpt.passage.text
    for s, e in (*excerpt.spans, (0, len(text))):
        found = set(w.lower() for w in _WORD.findall(text[s:e]))
        if all(w in found for w in words):
            return s, e
    return None


def support(answer: str, excerpts: Sequence[Excerpt], cited: Sequence[int]) -> list[Citation]:
    """Citations to spans that contain ``answer``: in the cited excerpts first, else in any excerpt (at most 3).

    Returns:
        An empty list when no excerpt contains the answer (it is unsupported).
    """
    by_n = {x.n: x for x in excerpts}
    order = [by_n[n] for n in cited if n in by_n] or list(excerpts)
    out: list[Citation] = []
    for excerpt in order:
        span = _span_in(excerpt, answer)
        if span is not None:
            p = excerpt.passage
            out.append(Citation(excerpt.n, p.chunk_id, p.doc_id, p.start + span[0], p.start + span[1]))
    if not out and cited:  # the reader cited the wrong passage: look in the others
        return support(answer, excerpts, ())
    return out[:3]


_QUESTION_WORD = re.compile(
    r"\b(when|what year|which year|what date|what century|what decade|how many|how much|how old|how long|"
    r"what (?:is|was) the population|what amount|what percentage|what number|who|whom|whose|where|what|which|why|how)\b"
)
_DATE_WORDS = ("when", "what year", "which year", "what date", "what century", "what decade")
# graph entity types that cannot answer a question word (from the ontology's types)
_NOT_FOR = {"person": frozenset({"Location", "Date"}), "place": frozenset({"Person", "Date"})}


def expected_type(question: str) -> str | None:
    """``date`` (when, what year), ``number`` (how many, what amount, the population), ``person`` (who),
    ``place`` (where), else None; the question's first question word decides ("Who was president when ..."
    asks for a person)."""
    first = _QUESTION_WORD.search(question.lower())
    if first is None:
        return None
    word = first.group(1)
    if word in _DATE_WORDS:
        return "date"
    if word.startswith(("how ", "what amount", "what percentage", "what number")) or "population" in word:
        return "number" if word not in ("how",) else None
    if word in ("who", "whom", "whose"):
        return "person"
    if word == "where":
        return "place"
    return None


def type_fits(answer: str, wanted: str | None, entity_type: str | None = None) -> bool:
    """True when ``answer`` looks like what the question asks for: a date or a number where one is asked for;
    for who / where, not a graph entity of a type that cannot be one (``entity_type``: the type of the graph
    entity named exactly ``answer``, when there is one)."""
    if wanted is None:
        return True
    if wanted in _NOT_FOR:
        return entity_type not in _NOT_FOR[wanted]
    lower = answer.lower()
    words = set(_WORD.findall(lower))
    if any(ch.isdigit() for ch in answer):
        return True
    if wanted == "date":
        return bool(words & set(_MONTHS)) or "century" in lower or "decade" in lower
    return bool(words & _NUMBER_WORDS)
