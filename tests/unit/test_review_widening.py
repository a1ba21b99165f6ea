"""Accepting a rejected relation widens the ontology: the next version allows the two types, nothing else changes;
an item the ontology can no longer widen for is a conflict, not a crash."""

from __future__ import annotations

import pytest

from core.errors import ConflictError
from graph.ontology import load_ontology
from graph.ontology_diff import TypeChange, diff
from service.review import widened


def test_the_next_version_allows_exactly_the_two_types() -> None:
    onto = load_ontology()
    wider = widened(onto, "BORN_IN", "Organization", "Location")
    assert wider is not None and wider.version == onto.version + 1
    assert wider.allows("Organization", "BORN_IN", "Location")
    changes = diff(onto, wider)
    assert changes.relation_types_changed == [TypeChange("BORN_IN", {"head": ["Organization"]}, {})]
    assert not (changes.entity_types_added or changes.relation_types_added or changes.aliases_changed)
    assert widened(wider, "BORN_IN", "Organization", "Location") is None  # allowed already: no new version


def test_a_relation_or_type_gone_from_the_ontology_is_a_conflict() -> None:
    onto = load_ontology()
    with pytest.raises(ConflictError, match="relation type GONE"):
        widened(onto, "GONE", "Person", "Location")
    with pytest.raises(ConflictError, match="entity type"):
        widened(onto, "BORN_IN", "Spaceship", "Location")
