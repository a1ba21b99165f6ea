"""Passages pruned to the sentences that matter, so that the reader's prompt stays small.

Time to first token grows with the prompt, and a 1.5B reader on two CPU cores
evaluates only some hundred prompt tokens a second; a multi-hop question needs
one or two sentences from each of a few passages, not whole passages. Each
sentence is scored by what it shares with the question (content words, with a
crude stem so that *married* meets *marriage*), by the question's linked
entities it names, and by the *bridge* it makes: naming another retrieved
passage's title is how one hop leads to the next. The best sentences are kept,
best passages first, within a word budget; every kept sentence keeps its exact
character span in the chunk, so citations point at real text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from retrieval.types import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(])|\s*\n\s*\n\s*")
# words that end with a full stop without ending the sentence: titles, initials ("J."), dotted acronyms ("U.S.")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Mt|Ft|Gen|Col|Lt|Capt|Sgt|Gov|Sen|Rep|Rev|Hon|Inc|Ltd|Co|Corp|No|Nos|Vol|"
    r"vs|v|c|ca|approx|est|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z]|\b(?:[A-Za-z]\.)+[A-Za-z])\.$"
)
_WORD = re.compile(r"[A-Za-z0-9]+")
STOPWORDS = frozenset(
    "a an the of in on at to for by with from and or is was are were be been being did does do done who whom whose"
    " what which when where why how that this these those it its as into than then there their they he she his her"
    " him them also has have had not no yes but if so such any all some one many much same other another".split()
)


def stem(word: str) -> str:
    """A crude stem: lower case, the first six letters (``married``/``marriage`` -> ``marria``)."""
    return word.lower()[:6]


def content_stems(text: str) -> set[str]:
    """Stems of the words of ``text`` that are not stop words."""
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (abbreviations such as ``U.S.`` or ``St.`` do not end one)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if "\n" not in match.group(0) and _ABBREVIATION.search(text[start:match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


@dataclass(frozen=True, slots=True)
class Excerpt:
    """The kept sentences of one passage: number ``n`` in the prompt, their spans within ``passage.text``."""

    n: int
    passage: Passage
    spans: tuple[tuple[int, int], ...]

    @property
    def text(self) -> str:
        """The kept sentences, in passage order, joined by spaces (an ellipsis where sentences were skipped)."""
        out: list[str] = []
        last_end = 0
        for s, e in self.spans:
            if out and s > last_end + 2:
                out.append("...")
            out.append(" ".join(self.passage.text[s:e].split()))
            last_end = e
        return " ".join(out)

    def locate(self, needle: str) -> tuple[int, int] | None:
        """The chunk-relative span of ``needle`` in the kept sentences (case-insensitive), else in the whole
        passage; None when it is in neither."""
        lower = needle.lower()
        text = self.passage.text
        for s, e in self.spans:
            pos = " ".join(text[s:e].split()).lower().find(lower)
            if pos >= 0:
                raw = text[s:e].lower().find(lower)
                if raw >= 0:
                    return s + raw, s + raw + len(needle)
                return s, e  # found only after whitespace was normalised: the sentence is the span
        pos = text.lower().find(lower)
        return (pos, pos + len(needle)) if pos >= 0 else None


@dataclass(frozen=True, slots=True)
class ExcerptConfig:
    """How much of the passages the reader sees."""

    passages: int = 5  # passages given to the reader
    # words of passage text in the prompt, over all passages (~1.4 tokens a word). MuSiQue, 100 questions, 1.5B
    # reader: 100 words / 2 sentences gave hybrid F1 0.205, TTFT p50 1.6 s; 180 / 3: 0.245, 2.7 s; 220 words
    # over 6 passages: 0.230, 3.0 s (the 3 s TTFT target). Gold passages: 0.452, 0.491, 0.486. With second
    # sentences of every passage before any third: 180 / 3 gives 0.255 (gold 0.501).
    word_budget: int = 180
    max_sentences: int = 3  # per passage
    bridge_weight: float = 1.5
    entity_weight: float = 1.0
    lead_bonus: float = 0.3  # the first sentence usually says what the passage's subject is
    connected_only: bool = True  # drop passages that share no name with the question or the passages kept before
    min_passages: int = 2  # ... but keep at least this many


def _score(sentence: str, lead: bool, q_stems: set[str], entity_names: Iterable[str], other_titles: Iterable[str],
           config: ExcerptConfig) -> float:
    words = content_stems(sentence)
    overlap = len(words & q_stems) / (len(q_stems) or 1)
    lower = sentence.lower()
    entities = sum(1 for name in entity_names if name and name.lower() in lower)
    bridges = sum(1 for title in other_titles if title and title.lower() in lower)
    return overlap * 2 + config.entity_weight * min(entities, 2) + config.bridge_weight * min(bridges, 2) + (
        config.lead_bonus if lead else 0.0)


def select(question: str, passages: Sequence[Passage], entity_names: Sequence[str] = (),
           config: ExcerptConfig | None = None) -> list[Excerpt]:
    """The excerpts of the first ``config.passages`` passages, numbered from 1 in rank order.

    Passages in rank order keep their best sentence while the word budget lasts (the first ``min_passages``
    always); further sentences (at most ``max_sentences`` per passage) are then added while it still lasts:
    the second sentences of all passages first, best-scoring first, then the third ones.
    """
    config = config or ExcerptConfig()
    chosen = list(passages[: config.passages])
    if config.connected_only:
        chosen = connected(question, chosen, config.min_passages)
    q_stems = content_stems(question)
    titles = [_base_title(p.title) for p in chosen]
    ranked: list[tuple[int, float, int, tuple[int, int]]] = []
    keep: dict[int, list[tuple[int, int]]] = {}
    used = 0
    for i, p in enumerate(chosen):
        others = [t for j, t in enumerate(titles) if j != i]
        spans = [(s, e) for s, e in sentence_spans(p.text) if p.text[s:e].strip() != p.title.strip()]
        spans = spans or [(0, len(p.text))]  # the title line is shown as the excerpt's heading, not as a sentence
        scored = sorted(
            ((_score(p.text[s:e], k == 0, q_stems, entity_names, others, config) / (1 + 0.1 * i), (s, e))
             for k, (s, e) in enumerate(spans)),
            key=lambda item: -item[0],
        )
        best = scored[0][1]
        words = _words(p.text[best[0]:best[1]])
        if i >= config.min_passages and used + words > config.word_budget:
            continue  # the budget is spent: later passages are left out
        keep[i] = [best]
        used += words
        ranked.extend((depth, score, i, span) for depth, (score, span) in enumerate(scored[1 : config.max_sentences]))
    # every passage's second sentence before any passage's third: a later passage's key sentence (often the hop
    # that leads to the answer) is not crowded out by more of the first passage
    for _depth, _score_value, i, span in sorted(ranked, key=lambda item: (item[0], -item[1])):
        words = _words(chosen[i].text[span[0]:span[1]])
        if used + words > config.word_budget:
            continue
        keep[i].append(span)
        used += words
    kept = [i for i in range(len(chosen)) if i in keep]
    return [Excerpt(n, chosen[i], tuple(sorted(keep[i]))) for n, i in enumerate(kept, start=1)]


_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:of|the|de|and|for|in|von|van|da|la|&)?\s*[A-Z0-9][\w'’-]*)*")


def names(text: str) -> set[str]:
    """The capitalised names in ``text`` (lower case), sentence-initial stop words aside."""
    out = set()
    for match in _NAME.finditer(text):
        name = match.group(0)
        words = name.split()
        if words[0].lower() in STOPWORDS:
            name = " ".join(words[1:])
        if len(name) >= 4 and name.lower() not in STOPWORDS:
            out.add(name.lower())
    return out


def connected(question: str, passages: Sequence[Passage], minimum: int) -> list[Passage]:
    """The passages, in rank order, that share a name with the question or with a passage kept before them
    (the first is always kept, and the first ``minimum`` are): a chain of evidence, without the distractors
    that only resemble the question."""
    kept: list[Passage] = []
    known = names(question) | {question.lower()}
    for i, p in enumerate(passages):
        own = names(p.text) | {_base_title(p.title).lower()}
        linked = any(n in k or k in n for n in own for k in known if len(k) >= 4)
        if i < max(1, minimum) or linked:
            kept.append(p)
            known |= own
    return kept


def _words(text: str) -> int:
    return len(text.split())


def _base_title(title: str) -> str:
    """A Wikipedia-style title without its qualifier: ``Mercury (planet)`` -> ``Mercury``."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", title or "").strip()
