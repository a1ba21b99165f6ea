"""Label prefixes of the Neo4j adapter: every label, relationship type and schema name is prefixed."""

from __future__ import annotations

import re

import pytest

from graph.neo4j import queries
from graph.neo4j.queries import Statements, namespaced

_TOKEN = re.compile(r"(?<=:)[A-Z]\w*")


def _statements() -> dict[str, str]:
    return {n: v for n, v in vars(queries).items() if n.isupper() and isinstance(v, str) and "PATTERN" not in n}


def test_every_label_and_type_is_prefixed() -> None:
    q = Statements("Cwiki_")
    pairs = [(v, getattr(q, n)) for n, v in _statements().items()] + list(zip(queries.SCHEMA, q.schema, strict=True))
    seen: set[str] = set()
    for text, rendered in pairs:
        assert rendered == namespaced(text, "Cwiki_")
        tokens = _TOKEN.findall(rendered)
        assert all(t.startswith("Cwiki_") for t in tokens), (text, tokens)
        seen |= {t.removeprefix("Cwiki_") for t in tokens}
        assert "hopgraph_" not in rendered.replace("hopgraph_Cwiki_", ""), text
    assert seen == set(queries.LABELS) | set(queries.RELATIONSHIP_TYPES)  # the lists name what statements use
    assert q.labels == [f"Cwiki_{label}" for label in queries.LABELS]


def test_no_prefix_leaves_statements_alone() -> None:
    q = Statements()
    assert q.schema == queries.SCHEMA
    assert all(getattr(q, n) == v for n, v in _statements().items())


@pytest.mark.parametrize("bad", ["1abc", "a-b", "a b", "a`b", "_a", "a:b"])
def test_bad_prefixes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="label prefix"):
        Statements(bad)


def test_unknown_statement_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = Statements("X_").NO_SUCH_STATEMENT
