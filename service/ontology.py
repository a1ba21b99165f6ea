"""A collection's own ontology: read, and replace when the current graph conforms to the new version.

``DATA_DIR/collections/<c>/ontology.yaml`` overrides the server's ontology for that
collection (ingest types and checks with it; names are normalised with its alias
rules); every accepted version is also kept as ``ontology.v<N>.yaml``, and so is the server's version a
collection replaced, so that any two versions can be compared (:func:`versions`, :func:`version`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import ConflictError, NotFoundError, OntologyError
from core.settings import Settings
from graph.ontology import Ontology, load_ontology
from graph.ontology_diff import OntologyDiff as OntologyDiff
from graph.ontology_diff import diff
from graph.ports import GraphStore
from service import collections

MAX_VIOLATIONS = 100


class OntologyViolations(ConflictError):
    """The current graph does not conform to a proposed ontology."""

    def __init__(self, message: str, violations: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.problem_extensions = {"violations": violations}


@dataclass(frozen=True, slots=True)
class OntologyInForce:
    """The ontology a collection uses and where it comes from (``collection`` or ``server``)."""

    ontology: Ontology
    source: str


def file_for(settings: Settings, name: str) -> Path:
    """Where a collection's own ontology lives."""
    return collections.directory(settings, name) / "ontology.yaml"


def in_force(settings: Settings, name: str) -> OntologyInForce:
    """The collection's ontology, or the server's when it has none.

    Raises:
        OntologyError: the file is invalid.
    """
    own = file_for(settings, name)
    if own.is_file():
        return OntologyInForce(load_ontology(own), "collection")
    return OntologyInForce(load_ontology(settings.ontology_path), "server")


@dataclass(frozen=True, slots=True)
class OntologyVersion:
    """A version a collection has used or uses: kept in its directory (``collection``) or the server's."""

    version: int
    source: str
    current: bool


def _kept(settings: Settings, name: str) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for path in collections.directory(settings, name).glob("ontology.v*.yaml"):
        number = path.name[len("ontology.v"):-len(".yaml")]
        if number.isdigit():
            found[int(number)] = path
    return found


def versions(settings: Settings, name: str) -> list[OntologyVersion]:
    """Every version the collection keeps, and the server's while it uses that, newest first.

    Raises:
        OntologyError: the ontology in force is invalid.
    """
    now = in_force(settings, name)
    kept = {v: OntologyVersion(v, "collection", now.source == "collection" and v == now.ontology.version)
            for v in _kept(settings, name)}
    if now.source == "server":
        kept[now.ontology.version] = OntologyVersion(now.ontology.version, "server", True)
    return [kept[v] for v in sorted(kept, reverse=True)]


def version(settings: Settings, name: str, number: int) -> Ontology:
    """Version ``number`` of the collection's ontology.

    Raises:
        NotFoundError: the collection keeps no such version.
        OntologyError: its file is invalid.
    """
    kept = _kept(settings, name)
    if number in kept:
        return load_ontology(kept[number])
    now = in_force(settings, name)
    if now.ontology.version == number:
        return now.ontology
    raise NotFoundError(f"collection {name!r} keeps no ontology version {number} "
                        f"(kept: {', '.join(str(v.version) for v in versions(settings, name))})")


def compare(settings: Settings, name: str, before: int, after: int | None = None) -> OntologyDiff:
    """What version ``after`` (default: the one in force) changes of version ``before``.

    Raises:
        NotFoundError: the collection keeps no such version.
        OntologyError: a version's file is invalid.
    """
    old = version(settings, name, before)
    new = version(settings, name, after) if after is not None else in_force(settings, name).ontology
    return diff(old, new)


def violations(graph: GraphStore, ontology: Ontology) -> list[dict[str, Any]]:
    """What in the stored graph ``ontology`` would not allow: entity types it lacks, relations whose
    type it lacks or whose head/tail types it forbids (with counts, at most ``MAX_VIOLATIONS``).

    Read through the store's port (:meth:`GraphStore.type_census`), so every adapter is checked.

    Raises:
        StoreError: the store cannot be read.
    """
    census = graph.type_census()
    found: list[dict[str, Any]] = [
        {"kind": "entity_type", "type": t, "count": n}
        for t, n in sorted(census.entity_types.items()) if t not in ontology.entity_types
    ]
    found += [
        {"kind": "relation", "relation": r, "head_type": h, "tail_type": t, "count": n}
        for (r, h, t), n in sorted(census.relation_triples.items()) if not ontology.allows(h, r, t)
    ]
    return found[:MAX_VIOLATIONS]


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ontology-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace(settings: Settings, name: str, graph: GraphStore, data: dict[str, Any]) -> tuple[OntologyInForce, Ontology]:
    """Make ``data`` the collection's ontology, if the collection's ``graph`` conforms to it.

    Returns:
        (the ontology before, the new one).

    Raises:
        OntologyError: ``data`` is not a valid ontology.
        ConflictError: its version is not above the current one.
        OntologyViolations: the stored graph does not conform to it (nothing changes).
    """
    try:
        new = Ontology.model_validate(data)
    except ValidationError as exc:
        raise OntologyError(f"invalid ontology: {exc}") from exc
    before = in_force(settings, name)
    if new.version <= before.ontology.version:
        raise ConflictError(f"version {new.version} is not above the current version {before.ontology.version}")
    found = violations(graph, new)
    if found:
        raise OntologyViolations(f"the collection's graph does not conform to version {new.version} "
                                 f"({len(found)} violation(s))", found)
    target = file_for(settings, name)
    if before.source == "server":  # keep the version the collection leaves, to compare with later
        kept = target.with_name(f"ontology.v{before.ontology.version}.yaml")
        if not kept.exists():
            _write(kept, yaml.safe_dump(before.ontology.model_dump(), sort_keys=False, allow_unicode=True))
    text = yaml.safe_dump(new.model_dump(), sort_keys=False, allow_unicode=True)
    _write(target.with_name(f"ontology.v{new.version}.yaml"), text)
    _write(target, text)
    return before, new
