from __future__ import annotations

import pytest

from graph.normalize import normalize_name
from graph.ontology import Ontology


@pytest.mark.parametrize(
    ("a", "b", "etype"),
    [
        ("Apple Inc.", "Apple", "Organization"),
        ("Apple's", "apple", "Organization"),
        ("The Beatles", "Beatles", "Group"),
        ("Nestlé S.A.", "Nestle", "Organization"),
        ("AT&T Corp", "AT and T", "Organization"),
    ],
)
def test_aliases_merge(ontology: Ontology, a: str, b: str, etype: str) -> None:
    assert normalize_name(a, etype, ontology.aliases) == normalize_name(b, etype, ontology.aliases)
    assert normalize_name(a, etype, ontology.aliases)


@pytest.mark.parametrize(
    ("a", "b"),
    [("John Smith", "John Brown"), ("Bank of America", "Bank of England"), ("Paris", "Paris Hilton")],
)
def test_different_things_sharing_a_token_stay_apart(ontology: Ontology, a: str, b: str) -> None:
    assert normalize_name(a, "Person", ontology.aliases) != normalize_name(b, "Person", ontology.aliases)


def test_corporate_suffix_only_stripped_for_organizations(ontology: Ontology) -> None:
    assert normalize_name("Walt Disney Co", "Organization", ontology.aliases) == "walt disney"
    assert normalize_name("Ltd", "Organization", ontology.aliases) == "ltd"  # never strip to nothing
    assert normalize_name("Marco Polo Co", "Person", ontology.aliases) == "marco polo co"


def test_too_short_names_are_dropped(ontology: Ontology) -> None:
    assert normalize_name("A", "Person", ontology.aliases) == ""
