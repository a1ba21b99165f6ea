"""Name normalisation: the key under which surface forms of one entity merge.

"Apple Inc." / "Apple" / "apple's" -> "apple"; "The Beatles" -> "beatles".
Different names that merely share a token ("John Smith", "John Brown") keep
different keys: normalisation never drops content words.
"""

from __future__ import annotations

import re
import unicodedata

from graph.ontology import AliasRules

_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")
_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case without diacritics (``Aschenbrödel`` -> ``aschenbrodel``), as the embedded keyword index folds."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _join_initials(words: list[str]) -> list[str]:
    """Runs of two or more single letters are one abbreviation: "u s a" -> "usa", "s a" -> "sa"."""
    out: list[str] = []
    run: list[str] = []
    for w in [*words, ""]:
        if len(w) == 1:
            run.append(w)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if w:
            out.append(w)
    return out


def normalize_name(name: str, entity_type: str | None, rules: AliasRules) -> str:
    """The merge key of ``name``; empty when nothing meaningful remains.

    Args:
        name: a surface form.
        entity_type: its ontology type (type-specific suffixes apply), or None.
        rules: the ontology's alias rules.

    Returns:
        Lower-case, accent-free, punctuation-free words joined by single spaces.
    """
    text = name.strip()
    if rules.possessives:
        text = _POSSESSIVE.sub("", text)
    text = fold(text)
    text = _NON_WORD.sub(" ", text.replace("&", " and "))
    words = _SPACES.sub(" ", text).strip().split(" ")
    words = _join_initials([w for w in words if w])
    prefixes = {p.lower() for p in rules.strip_prefixes}
    while len(words) > 1 and words[0] in prefixes:
        words.pop(0)
    suffixes = {s.lower().rstrip(".") for s in rules.strip_suffixes.get(entity_type or "", [])}
    while len(words) > 1 and words[-1] in suffixes:
        words.pop()
    key = " ".join(words)
    return key if len(key) >= rules.min_length else ""


def tokens(text: str) -> list[str]:
    """Folded word tokens of ``text`` (for n-gram lookups)."""
    return [w for w in _SPACES.split(_NON_WORD.sub(" ", fold(text))) if w]


_WORD = re.compile(r"\w+", re.UNICODE)
KEYWORD_STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have he her his how in is it its of on or"
    " she that the their them they this to was were what when where which who whom whose why will with".split()
)


def keyword_words(text: str) -> list[str]:
    """The folded words of ``text`` as keyword search counts them (every occurrence, stop words kept)."""
    return _WORD.findall(fold(text))


def keyword_terms(query: str) -> list[str]:
    """The distinct folded words of a keyword query, stop words left out, in order."""
    return list(dict.fromkeys(w for w in keyword_words(query) if w not in KEYWORD_STOPWORDS))
