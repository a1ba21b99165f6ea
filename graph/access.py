"""Document-level access: who may see a document.

A document's ACL is a tuple of principals (``group:finance``, ``user:ana``); an empty ACL
means everyone in the collection. A :class:`Viewer` sees a document when its ACL is empty
or shares a principal with the viewer's. The principal ``*`` sees every document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.errors import InputError

EVERY_DOCUMENT = "*"
PRINCIPAL_PATTERN = r"^[a-z][a-z0-9_-]*:[^\s,*]+$"
_PRINCIPAL = re.compile(PRINCIPAL_PATTERN)
MAX_PRINCIPALS = 64


def check_principals(values: Iterable[str], *, allow_all: bool) -> tuple[str, ...]:
    """``values`` sorted and de-duplicated, each checked to be ``kind:name`` (``*`` too, if ``allow_all``).

    Raises:
        InputError: a malformed principal, or more than :data:`MAX_PRINCIPALS`.
    """
    out: set[str] = set()
    for raw in values:
        value = raw.strip()
        if value == EVERY_DOCUMENT and allow_all:
            out.add(value)
            continue
        if not _PRINCIPAL.fullmatch(value):
            hint = " or '*'" if allow_all else ""
            raise InputError(f"invalid principal {raw!r}: use kind:name, e.g. group:finance or user:ana{hint}")
        out.add(value)
    if len(out) > MAX_PRINCIPALS:
        raise InputError(f"at most {MAX_PRINCIPALS} principals")
    return tuple(sorted(out))


def parse_principals(text: str, *, allow_all: bool) -> tuple[str, ...]:
    """Comma-separated principals (see :func:`check_principals`); '' is none."""
    return check_principals([p for p in text.split(",") if p.strip()], allow_all=allow_all)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose eyes a read is made with. ``principals`` None: every document (the local operator, admins)."""

    principals: frozenset[str] | None = None

    @classmethod
    def of(cls, principals: Iterable[str]) -> Viewer:
        """The viewer holding ``principals``; ``*`` among them sees every document."""
        held = frozenset(principals)
        return cls(None) if EVERY_DOCUMENT in held else cls(held)

    @property
    def sees_everything(self) -> bool:
        """True when no document is hidden from this viewer."""
        return self.principals is None

    @property
    def key(self) -> str:
        """A stable name of what this viewer may see (for caches)."""
        return EVERY_DOCUMENT if self.principals is None else ",".join(sorted(self.principals))

    def sees(self, acl: Sequence[str]) -> bool:
        """True when a document with ``acl`` is visible to this viewer."""
        return self.principals is None or not acl or not self.principals.isdisjoint(acl)


EVERYONE = Viewer(None)
