"""Curation records and how extraction applies them (no store, no models)."""

from __future__ import annotations

import pytest

from core.errors import StoreError
from extraction.canonical import ChunkExtraction, canonicalise, entity_id
from extraction.mentions import RawMention
from extraction.relations import RawRelation
from graph.curation import (
    Curation,
    EntityEdit,
    SplitRule,
    edit_record,
    merge_record,
    parse_records,
    split_entity_id,
    split_record,
)
from graph.model import Entity
from graph.ontology import AliasRules

RULES = AliasRules()


def _mention(start: int, surface: str, etype: str) -> RawMention:
    return RawMention(start, start + len(surface), surface, etype, surface.lower(), -1, -1)


def _doc() -> list[ChunkExtraction]:
    text_mentions = [_mention(0, "Acme", "Organization"), _mention(20, "Bolt", "Product"),
                     _mention(40, "Acme Labs", "Organization")]
    relations = [RawRelation(0, 1, "PRODUCED", 0.9, 0, 30)]
    return [ChunkExtraction("c0", 0, text_mentions, relations)]


def test_records_round_trip() -> None:
    split = SplitRule("x", split_entity_id("x", "New"), ("New",), ("d1",))
    records = dict([edit_record("a", EntityEdit("A", "Person", ("a1",), ("a2",))), merge_record("b", "a"),
                    split_record(split)])
    cur = parse_records(records)
    assert cur.edits == {"a": EntityEdit("A", "Person", ("a1",), ("a2",))}
    assert cur.merges == {"b": "a"} and cur.splits == {"x": (split,)}
    with pytest.raises(StoreError):
        parse_records({"bogus:1": "{}"})
    with pytest.raises(StoreError):
        parse_records({"edit:1": "not json"})


def test_resolve_applies_splits_then_merges_and_never_loops() -> None:
    new = split_entity_id("x", "X2")
    cur = Curation(merges={"a": "b", "b": "c", new: "c", "p": "q", "q": "p"},
                   splits={"x": (SplitRule("x", new, ("X Two",)),)})
    assert cur.resolve("a", "A", "d") == "c"
    assert cur.resolve("x", "x two", "d") == "c"  # split off, then merged
    assert cur.resolve("x", "X", "d") == "x"
    assert cur.resolve("p", "P", "d") in {"p", "q"}  # a cycle ends
    rule = SplitRule("x", new, ("X Two",), ("d1",))
    assert rule.matches("X TWO", "d1") and not rule.matches("X Two", "d2") and not rule.matches("X", "d1")


def test_edits_combine_and_apply() -> None:
    first = EntityEdit("A", None, ("a1", "a2"), ())
    both = first.combine(EntityEdit(None, "Person", ("a3",), ("A2",)))
    assert both == EntityEdit("A", "Person", ("a1", "a3"), ("A2",))
    ent = Curation(edits={"e": both}).apply(Entity("e", "Old", "Thing", ("Old", "a2")))
    assert (ent.name, ent.type, ent.pinned) == ("A", "Person", True)
    assert set(ent.aliases) == {"A", "Old", "a1", "a3"}
    untouched = Entity("f", "F", "Thing")
    assert Curation(edits={"e": both}).apply(untouched) is untouched


def test_canonicalise_applies_merge_edit_and_split() -> None:
    acme, bolt, labs = entity_id("acme"), entity_id("bolt"), entity_id("acme labs")
    plain, _, plain_rels, _ = canonicalise("d1", _doc(), RULES)
    assert {e.id for e in plain} == {acme, bolt, labs}
    assert [(r.head, r.tail) for r in plain_rels] == [(acme, bolt)]

    cur = Curation(edits={acme: EntityEdit("Acme Group", "Organization", ("ACG",))}, merges={labs: acme})
    entities, mentions, rels, _ = canonicalise("d1", _doc(), RULES, cur)
    by_id = {e.id: e for e in entities}
    assert set(by_id) == {acme, bolt}
    assert by_id[acme].name == "Acme Group" and by_id[acme].pinned
    assert set(by_id[acme].aliases) == {"Acme", "Acme Labs", "Acme Group", "ACG"}
    assert [m.entity_id for m in mentions] == [acme, bolt, acme]
    assert [(r.head, r.type, r.tail) for r in rels] == [(acme, "PRODUCED", bolt)]

    new = split_entity_id(bolt, "Bolt Screw")
    split = Curation(splits={bolt: (SplitRule(bolt, new, (), ("d1",)),)}, edits={new: EntityEdit("Bolt Screw")})
    entities, _, rels, _ = canonicalise("d1", _doc(), RULES, split)
    assert new in {e.id for e in entities} and bolt not in {e.id for e in entities}
    assert [(r.head, r.tail) for r in rels] == [(acme, new)]
    other_doc, _, _, _ = canonicalise("d2", _doc(), RULES, split)
    assert bolt in {e.id for e in other_doc}  # the split named d1 only


def test_a_mention_merged_into_an_entity_can_be_split_off_it() -> None:
    new = split_entity_id("t", "Other")
    cur = Curation(merges={"s": "t"}, splits={"t": (SplitRule("t", new, ("Sx",)),)})
    assert cur.resolve("s", "Sx", "d") == new
    assert cur.resolve("s", "S", "d") == "t"
