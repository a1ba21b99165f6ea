"""Entity curation (edit, merge, split, revert): one path for the CLI and the HTTP API.

:func:`submit` plans a change, stores it as curation records (every later ingest applies
them) and records it in the audit log, all or nothing; the caller then extracts the
touched documents again: the CLI at once (:func:`apply`), the HTTP API in a ``curate`` job
(``after`` queues it inside the same all-or-nothing step). Blocking.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from extraction.curation import CurationChange, Curator, apply_change
from extraction.pipeline import IngestPipeline, IngestReport
from graph.ontology import Ontology
from graph.ports import GraphStore
from service.audit import Actor, AuditLog

__all__ = ["CurationChange", "Plan", "apply", "curate_payload", "records", "submit"]

Plan = Callable[[Curator], CurationChange]
"""What to change, given the curator of the store: ``lambda c: c.merge(...)``."""

_LOCK = threading.Lock()  # one change at a time per process: an edit combines with the stored one


def submit(graph: GraphStore, ontology: Ontology, plan: Plan, audit: AuditLog, by: Actor,
           collection: str | None = None,
           after: Callable[[CurationChange], dict[str, Any]] | None = None) -> CurationChange:
    """Validate and store a change and its audit entry; no audit entry (or failed ``after``), no change.

    ``after`` runs inside the step (the HTTP API queues the change's job there) and what it
    returns is added to the audit entry's ``after``.

    Raises:
        InputError, NotFoundError, ConflictError: the change is invalid (nothing stored).
        StoreError: nothing was stored.
    """
    with _LOCK:
        curator = Curator(graph, ontology)
        change = plan(curator)
        with curator.saving(change):
            extra = after(change) if after is not None else {}
            audit.record(by, collection, change.action, change.target, before=change.before,
                         after={**change.after, **extra})
    return change


def curate_payload(change: CurationChange) -> dict[str, Any]:
    """What a ``curate`` job needs to apply ``change`` (see :func:`apply`)."""
    payload: dict[str, Any] = {"entities": change.entities, "reembed": sorted(change.reembed)}
    if change.named_documents:
        payload["documents"] = change.named_documents
    return payload


def apply(pipeline: IngestPipeline, graph: GraphStore, entities: Sequence[str], reembed: frozenset[str],
          progress: Callable[[int, int], None] | None = None, documents: Sequence[str] = (),
          text_progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Extract again every document that mentions a changed entity, and ``documents`` (the CLI at once, a
    ``curate`` job later).

    Raises:
        StoreError, ModelError: applying again completes the change.
    """
    return apply_change(pipeline, graph, entities, reembed, progress, documents, text_progress)


def records(graph: GraphStore, ontology: Ontology) -> list[dict[str, Any]]:
    """Every stored curation record, by key."""
    return Curator(graph, ontology).records()
