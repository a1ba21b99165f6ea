"""Ontology diffs: types added, removed and changed field by field; alias rules compared."""

from __future__ import annotations

from graph.ontology import load_ontology
from graph.ontology_diff import TypeChange, diff


def test_a_version_compared_with_itself_is_empty() -> None:
    onto = load_ontology()
    assert diff(onto, onto).empty


def test_changes_are_listed_per_type_and_field() -> None:
    old = load_ontology()
    data = old.model_dump()
    data["version"] = old.version + 1
    data["entity_types"]["Mine"] = {"labels": []}
    founded = data["relation_types"]["FOUNDED"]
    founded["triggers"] = [*founded["triggers"], "set up"]
    founded["head"] = [t for t in founded["head"] if t != founded["head"][0]] + ["Mine"]
    removed_head = old.relation_types["FOUNDED"].head[0]
    data["aliases"]["min_length"] = 3
    new = type(old).model_validate(data)

    d = diff(old, new)
    assert (d.before, d.after) == (old.version, old.version + 1) and not d.empty
    assert d.entity_types_added == ["Mine"] and d.entity_types_removed == []
    assert TypeChange("FOUNDED", {"head": ["Mine"], "triggers": ["set up"]}, {"head": [removed_head]}) \
        in d.relation_types_changed
    assert d.aliases_changed == {"min_length": {"before": old.aliases.min_length, "after": 3}}
    assert diff(new, old).entity_types_removed == ["Mine"]
