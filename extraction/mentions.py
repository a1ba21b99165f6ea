"""Entity mentions from a spaCy parse, typed by the ontology.

A record's title names what the passage is about; it becomes a mention too
(typed by NER when NER agrees, otherwise ``Thing``), and pronoun subjects of
the passage resolve to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # spaCy (and torch through thinc) stays out of processes that do not parse
    from spacy.tokens import Doc, Span

from graph.normalize import normalize_name
from graph.ontology import Ontology


@dataclass(slots=True)
class RawMention:
    """A typed mention; offsets are relative to the document text."""

    start: int
    end: int
    surface: str
    type: str
    key: str
    token_start: int  # token index in the parsed chunk (-1 for none)
    token_end: int
    is_title: bool = False


@dataclass(slots=True)
class ChunkMentions:
    """Mentions of one chunk, and how many NER spans the ontology rejected."""

    mentions: list[RawMention]
    rejected: int
    title_index: int | None  # index of the title mention in ``mentions``


def _span_mention(span: Span, etype: str, base: int, ontology: Ontology) -> RawMention | None:
    surface = span.text.strip()
    key = normalize_name(surface, etype, ontology.aliases)
    if not key:
        return None
    return RawMention(
        start=base + span.start_char,
        end=base + span.start_char + len(span.text.rstrip()),
        surface=surface,
        type=etype,
        key=key,
        token_start=span.start,
        token_end=span.end,
    )


def find_mentions(doc: Doc, base: int, title: str, title_at: int, ontology: Ontology) -> ChunkMentions:
    """Typed mentions of a parsed chunk.

    Args:
        doc: the spaCy parse of the chunk text.
        base: offset of the chunk in its document.
        title: the document title when this chunk holds it ('' otherwise).
        title_at: offset of the title in the chunk text.
        ontology: decides which NER labels become which entity types.
    """
    mentions: list[RawMention] = []
    rejected = 0
    title_index: int | None = None
    title_end = title_at + len(title)
    title_type = "Thing"
    for ent in doc.ents:
        etype = ontology.entity_type_for(ent.label_)
        if title and ent.start_char < title_end and ent.end_char > title_at:
            # NER on the title line: take its type when it covers the title
            if etype and ent.start_char <= title_at and ent.end_char >= title_end - 1:
                title_type = etype
            continue
        if etype is None:
            rejected += 1
            continue
        if "\n" in ent.text.strip():
            continue  # a span across lines is a layout artefact, not a name
        m = _span_mention(ent, etype, base, ontology)
        if m is not None:
            mentions.append(m)
    if title:
        key = normalize_name(title, title_type, ontology.aliases)
        if key:
            first = next((t.i for t in doc if t.idx >= title_at), 0)
            last = next((t.i for t in doc if t.idx >= title_end), len(doc))
            mentions.insert(
                0, RawMention(base + title_at, base + title_end, title, title_type, key, first, last, True)
            )
            title_index = 0
    return ChunkMentions(mentions, rejected, title_index)
