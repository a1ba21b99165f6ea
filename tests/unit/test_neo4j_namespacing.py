"""Label prefixes of the Neo4j adapter: every label, relationship type and schema name is prefixed."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from graph.neo4j import queries, statements
from graph.neo4j.statements import Statements, namespaced

_TOKEN = re.compile(r"(?<=:)[A-Z]\w*")


def _statements() -> dict[str, str]:
    return {n: v for n, v in vars(queries).items()
            if n.isupper() and not n.startswith("_") and isinstance(v, str) and "PATTERN" not in n}


def test_every_label_and_type_is_prefixed() -> None:
    q = Statements.for_prefix("Cwiki_")
    pairs = [(v, getattr(q, n)) for n, v in _statements().items()] + list(zip(queries.SCHEMA, q.schema, strict=True))
    seen: set[str] = set()
    for text, rendered in pairs:
        assert rendered == namespaced(text, "Cwiki_")
        tokens = _TOKEN.findall(rendered)
        assert all(t.startswith("Cwiki_") for t in tokens), (text, tokens)
        seen |= {t.removeprefix("Cwiki_") for t in tokens}
        assert "hopgraph_" not in rendered.replace("hopgraph_Cwiki_", ""), text
    assert seen == set(statements.LABELS) | set(statements.RELATIONSHIP_TYPES)  # the lists name what statements use
    assert q.labels == tuple(f"Cwiki_{label}" for label in statements.LABELS)


def test_no_prefix_leaves_statements_alone() -> None:
    q = Statements.for_prefix()
    assert q.schema == queries.SCHEMA
    assert all(getattr(q, n) == v for n, v in _statements().items())


@pytest.mark.parametrize("bad", ["1abc", "a-b", "a b", "a`b", "_a", "a:b"])
def test_bad_prefixes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="label prefix"):
        Statements.for_prefix(bad)


def test_every_statement_is_a_named_field() -> None:
    """A statement constant without its field would be unreachable; a field without a constant fails to build."""
    names = {f.name for f in fields(Statements) if f.name.isupper()}
    assert names == set(_statements())
    with pytest.raises(AttributeError):
        _ = Statements.for_prefix("X_").NO_SUCH_STATEMENT  # type: ignore[attr-defined]
