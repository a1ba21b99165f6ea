"""Vector spaces: which embedding model's vectors a store answers from, and which it keeps beside them.

Vectors of two embedding models cannot be compared, so a store holds each model's vectors
in a space of their own: the original space (``""``, the tables and collections a store has
always had) and one more per model a migration brought in (``v`` + the first 12 hex digits
of the model's weights checksum: the embedded store's ``vchunks_<space>`` tables, Weaviate's
``<prefix><Space>Chunk`` collections). One record, stored with the graph (a model stamp),
says which space queries use (``active``), which one was active before (``previous``, for
rollback) and, per space, the model and whether its vectors are complete. Switching spaces
is one write of that record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from graph.ports import GraphStore

STAMP = "vector_spaces"
ORIGINAL = ""

State = Literal["building", "ready"]


def space_id(checksum: str) -> str:
    """The space of the model whose weights have ``checksum`` (lower-case letters and digits only)."""
    return "v" + checksum[:12].lower()


@dataclass(frozen=True, slots=True)
class Space:
    """One space's model (an :class:`inference.identity.EmbedderIdentity`'s fields) and state."""

    name: str
    checksum: str
    dimension: int
    state: State = "ready"


@dataclass(slots=True)
class SpaceRecord:
    """The store's spaces; ``active`` answers queries, every other one is kept current by ingest."""

    active: str = ORIGINAL
    previous: str | None = None
    spaces: dict[str, Space] = field(default_factory=dict)

    def live(self) -> list[str]:
        """Every space that ingest writes to, the active one first."""
        return [self.active, *sorted(s for s in self.spaces if s != self.active)]

    def dumps(self) -> str:
        """The record as stored (JSON)."""
        return json.dumps({"active": self.active, "previous": self.previous,
                           "spaces": {k: asdict(v) for k, v in sorted(self.spaces.items())}}, sort_keys=True)

    @classmethod
    def loads(cls, raw: str) -> SpaceRecord:
        """Parse a stored record."""
        body = json.loads(raw)
        return cls(body["active"], body.get("previous"), {k: Space(**v) for k, v in body["spaces"].items()})


def load_spaces(graph: GraphStore) -> SpaceRecord | None:
    """The store's record, or None when it has only ever had its original space (and no migration)."""
    raw = graph.model_stamp(STAMP)
    return SpaceRecord.loads(raw) if raw is not None else None


def save_spaces(graph: GraphStore, record: SpaceRecord) -> None:
    """Store the record (one write: a switch of ``active`` is atomic).

    Raises:
        StoreError: the store cannot be written.
    """
    graph.save_model_stamp(STAMP, record.dumps())


def active_space(graph: GraphStore) -> str:
    """The space queries use now."""
    record = load_spaces(graph)
    return record.active if record is not None else ORIGINAL
