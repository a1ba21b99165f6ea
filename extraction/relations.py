"""Relations from the dependency parse between mentions of one sentence.

Patterns: subject-verb-object (with passive "by" agents swapped), the verb's
prepositional objects ("born in X"), copular/nominal objects with a
preposition ("is the CEO of X"), appositives ("X, son of Y") and
prepositional modifiers of a mention ("X from Y"). Each candidate is typed by
the ontology's trigger lemmas; a typed candidate whose head/tail types the
ontology forbids is rejected (kept aside, with the relation type its trigger
names, for a curator's review queue); an untyped verb link becomes
``RELATED_TO``. Every other pair in the sentence gets a weak co-occurrence edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # spaCy (and torch through thinc) stays out of processes that do not parse
    from spacy.tokens import Doc, Span, Token

from extraction.mentions import RawMention
from graph.ontology import COOCCURRENCE_RELATION, FALLBACK_RELATION, Ontology

PRONOUNS = frozenset({"he", "she", "it", "they"})
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
OBJECT_DEPS = frozenset({"dobj", "attr", "oprd", "dative"})
MAX_MENTIONS_FOR_COOCCURRENCE = 12

_NOT_SUBJECTS = frozenset({"Date"})

CONF_TYPED = 0.9
CONF_NOMINAL = 0.8
CONF_UNTYPED = 0.5
CONF_COOCCURRENCE = 0.3


@dataclass(slots=True)
class RawRelation:
    """A relation between two mentions (indexes), with its evidence sentence span."""

    head: int
    tail: int
    type: str
    confidence: float
    sent_start: int  # relative to the chunk text
    sent_end: int


class _Sentence:
    """Token -> mention lookup for one sentence."""

    def __init__(self, sent: Span, mentions: list[RawMention], title_index: int | None) -> None:
        self.sent = sent
        self.by_token: dict[int, int] = {}
        self.title_index = title_index
        for idx, m in enumerate(mentions):
            if m.token_start < 0:
                continue
            for t in range(max(m.token_start, sent.start), min(m.token_end, sent.end)):
                self.by_token.setdefault(t, idx)

    def mention_of(self, token: Token) -> int | None:
        """The mention a token heads or belongs to; pronoun subjects resolve to the title.

        A common noun with a named appositive ("the engineers Aino Lehtola") stands for it.
        """
        if token.i in self.by_token:
            return self.by_token[token.i]
        if token.lower_ in PRONOUNS and token.dep_ in SUBJECT_DEPS and self.title_index is not None:
            return self.title_index
        for child in token.children:
            if child.dep_ == "appos" and child.i in self.by_token:
                return self.by_token[child.i]
        return None

    def preceding(self, token: Token, types_to_skip: frozenset[str], mentions: list[RawMention]) -> int | None:
        """The nearest mention before ``token`` in the sentence (for subject-less verbs)."""
        for i in range(token.i - 1, self.sent.start - 1, -1):
            m = self.by_token.get(i)
            if m is not None and mentions[m].type not in types_to_skip:
                return m
        return None

    def present(self) -> list[int]:
        return sorted(set(self.by_token.values()))


def _conjuncts(token: Token) -> list[Token]:
    return [token, *token.conjuncts]


def _preps(token: Token) -> list[tuple[str, Token]]:
    """(preposition, object) pairs hanging off a token."""
    out: list[tuple[str, Token]] = []
    for child in token.children:
        if child.dep_ in ("prep", "agent"):
            for pobj in child.children:
                if pobj.dep_ == "pobj":
                    out.extend((child.lower_, o) for o in _conjuncts(pobj))
    return out


class RelationExtractor:
    """Applies the dependency patterns and the ontology to a parsed chunk."""

    def __init__(self, ontology: Ontology) -> None:
        self._ontology = ontology

    def extract(
        self, doc: Doc, mentions: list[RawMention], title_index: int | None
    ) -> tuple[list[RawRelation], list[RawRelation]]:
        """Relations among ``mentions`` of the parsed chunk, and those the ontology rejected (typed with the
        relation their trigger names; one per mention pair and type)."""
        relations: list[RawRelation] = []
        rejected: dict[tuple[int, str, int], RawRelation] = {}
        for sent in doc.sents:
            s = _Sentence(sent, mentions, title_index)
            found: dict[tuple[int, int], RawRelation] = {}
            for cand in self._candidates(s, mentions):
                head, tail, trigger, fallback_lemma, nominal = cand
                if head == tail:
                    continue
                rel, conf, refused = self._type(mentions[head], mentions[tail], trigger, fallback_lemma, nominal)
                if refused is not None:
                    rejected.setdefault((head, refused, tail),
                                        RawRelation(head, tail, refused, conf, sent.start_char, sent.end_char))
                if rel is None:
                    continue
                pair = (head, tail)
                if pair not in found or found[pair].confidence < conf:
                    found[pair] = RawRelation(head, tail, rel, conf, sent.start_char, sent.end_char)
            relations.extend(found.values())
            relations.extend(self._cooccurrences(s, found, sent))
        return relations, list(rejected.values())

    def _type(
        self, head: RawMention, tail: RawMention, trigger: str, lemma: str | None, nominal: bool
    ) -> tuple[str | None, float, str | None]:
        """(relation type or None, confidence, the type the ontology refused for these entity types or None)."""
        onto = self._ontology
        conf = CONF_NOMINAL if nominal else CONF_TYPED
        for phrase in (trigger, lemma):
            if not phrase:
                continue
            rel = onto.type_relation(phrase, head.type, tail.type)
            if rel is not None:
                return rel, conf, None
        for phrase in (trigger, lemma):
            if phrase and onto.is_trigger(phrase):  # the ontology names this relation but forbids these types
                return None, conf, onto.trigger_to_types[phrase.lower()][0]
        if nominal:
            return None, 0.0, None  # an unknown preposition alone says too little
        return FALLBACK_RELATION, CONF_UNTYPED, None

    def _candidates(self, s: _Sentence, mentions: list[RawMention]) -> list[tuple[int, int, str, str | None, bool]]:
        """(head mention, tail mention, trigger, verb lemma fallback, nominal?)"""
        out: list[tuple[int, int, str, str | None, bool]] = []
        for tok in s.sent:
            if tok.pos_ in ("VERB", "AUX"):
                out.extend(self._verb_patterns(s, tok, mentions))
            m = s.by_token.get(tok.i)
            if m is not None and (tok.head.i == tok.i or s.by_token.get(tok.head.i) != m):
                # tok is the head token of its mention inside the sentence's tree
                out.extend(self._nominal_patterns(s, tok, m))
        return out

    def _verb_patterns(
        self, s: _Sentence, verb: Token, mentions: list[RawMention]
    ) -> list[tuple[int, int, str, str | None, bool]]:
        out: list[tuple[int, int, str, str | None, bool]] = []
        subjects = [m for c in verb.children if c.dep_ in SUBJECT_DEPS for t in _conjuncts(c)
                    if (m := s.mention_of(t)) is not None]
        if not subjects and not any(c.dep_ in SUBJECT_DEPS for c in verb.children):
            # the small parser often misses a subject ("In 2019 X acquired Y"): nearest named thing before
            guess = s.preceding(verb, _NOT_SUBJECTS, mentions)
            subjects = [guess] if guess is not None else []
        if not subjects:
            return out
        lemma = verb.lemma_.lower()
        passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children)
        for child in verb.children:
            if child.dep_ in OBJECT_DEPS:
                for obj in _conjuncts(child):
                    m = s.mention_of(obj)
                    if m is not None:
                        out.extend((subj, m, lemma, None, False) for subj in subjects)
                    else:  # "is the CEO of X", "became a member of X"
                        for prep, pobj in _preps(obj):
                            pm = s.mention_of(pobj)
                            if pm is not None:
                                trig = f"{obj.lemma_.lower()} {prep}"
                                out.extend((subj, pm, trig, None, True) for subj in subjects)
        for prep, pobj in _preps(verb):
            m = s.mention_of(pobj)
            if m is None:
                continue
            if prep == "by" and passive:
                out.extend((m, subj, lemma, None, False) for subj in subjects)
            else:
                out.extend((subj, m, f"{lemma} {prep}", lemma, False) for subj in subjects)
        return out

    def _nominal_patterns(self, s: _Sentence, tok: Token, m: int) -> list[tuple[int, int, str, str | None, bool]]:
        out: list[tuple[int, int, str, str | None, bool]] = []
        for child in tok.children:
            if child.dep_ == "appos":
                target = s.mention_of(child)
                if target is None:  # "X, son of Y" / "X, the CEO of Y"
                    for prep, pobj in _preps(child):
                        pm = s.mention_of(pobj)
                        if pm is not None:
                            out.append((m, pm, f"{child.lemma_.lower()} {prep}", None, True))
        for prep, pobj in _preps(tok):
            pm = s.mention_of(pobj)
            if pm is not None and pm != m:
                out.append((m, pm, prep, None, True))
        return out

    @staticmethod
    def _cooccurrences(s: _Sentence, found: dict[tuple[int, int], RawRelation], sent: Span) -> list[RawRelation]:
        present = s.present()
        if len(present) > MAX_MENTIONS_FOR_COOCCURRENCE:
            present = present[:MAX_MENTIONS_FOR_COOCCURRENCE]
        out: list[RawRelation] = []
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                if (a, b) in found or (b, a) in found:
                    continue
                out.append(RawRelation(a, b, COOCCURRENCE_RELATION, CONF_COOCCURRENCE, sent.start_char, sent.end_char))
        return out
