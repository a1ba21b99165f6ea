"""Which embedding model made a store's vectors (see :class:`EmbedderIdentity`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmbedderIdentity:
    """Which model makes a store's vectors: vectors of two models are not comparable."""

    name: str  # the embedding_model setting: a packaged model or a path
    checksum: str  # SHA-256 of its weights file
    dimension: int

    def same_space(self, other: EmbedderIdentity) -> bool:
        """True when vectors of ``other`` may be compared with vectors of this model (same weights and size)."""
        return (self.checksum, self.dimension) == (other.checksum, other.dimension)

    def describe(self) -> str:
        """For messages: name, dimension and a short checksum."""
        return f"{self.name!r} ({self.dimension} dimensions, sha256 {self.checksum[:12]})"
