"""Document-level access for the faces: who a caller reads as (see :mod:`graph.access`)."""

from __future__ import annotations

from core.errors import AccessDeniedError
from graph.access import EVERY_DOCUMENT, EVERYONE, Viewer, parse_principals

__all__ = ["EVERYONE", "EVERY_DOCUMENT", "Viewer", "parse_principals", "require_every_document"]


def require_every_document(viewer: Viewer, what: str) -> None:
    """Curator work spans the whole graph: refuse it to a viewer who cannot see every document.

    Raises:
        AccessDeniedError: ``viewer`` does not see every document.
    """
    if not viewer.sees_everything:
        raise AccessDeniedError(f"{what} spans the whole graph: it needs every document in view (principals '*')")
