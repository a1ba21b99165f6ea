"""API keys with roles, stored hashed (salted SHA-256) in the server database.

A key is ``hg_<id>_<secret>``; only the id, a random salt and
``sha256(salt + secret)`` are stored, so the secret is shown once, at creation.
Keys are high-entropy random strings, so a fast salted hash is enough (no
password stretching is needed, and verification stays cheap per request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass

from core.errors import InputError, NotFoundError
from graph.access import EVERY_DOCUMENT, EVERYONE, Viewer, check_principals
from service.serverdb import ServerDB

ROLES = ("reader", "editor", "curator", "admin")
ALL_COLLECTIONS = "*"
_PREFIX = "hg"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key's identity and rights (never its secret)."""

    id: str
    name: str
    role: str
    collections: tuple[str, ...]
    created_at: float
    revoked_at: float | None = None
    principals: tuple[str, ...] = (EVERY_DOCUMENT,)

    @property
    def viewer(self) -> Viewer:
        """Whose eyes the key reads with: its principals (an admin sees every document)."""
        return EVERYONE if self.role == "admin" else Viewer.of(self.principals)

    def allows(self, role: str) -> bool:
        """True when this key's role includes ``role`` (reader < editor < curator < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, collection: str) -> bool:
        """True when this key may use ``collection``."""
        return self.role == "admin" or ALL_COLLECTIONS in self.collections or collection in self.collections


def _hash(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode("utf-8")).hexdigest()


def _row_key(r: sqlite3.Row) -> ApiKey:
    revoked = r["revoked_at"]
    return ApiKey(str(r["id"]), str(r["name"]), str(r["role"]), tuple(json.loads(r["collections"])),
                  float(r["created_at"]), float(revoked) if revoked is not None else None,
                  tuple(json.loads(r["principals"])))


class KeyStore:
    """Creates, lists, revokes and verifies keys; verification reads a snapshot refreshed every ``cache_s``."""

    def __init__(self, db: ServerDB, cache_s: float = 2.0) -> None:
        self._db = db
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._snapshot: dict[str, tuple[ApiKey, bytes, str]] = {}
        self._loaded_at = float("-inf")

    def create(self, role: str, collections: list[str], name: str = "",
               principals: list[str] | None = None) -> tuple[ApiKey, str]:
        """Create a key.

        Args:
            role: reader, editor, curator or admin.
            collections: collection names the key may use (``*``: all); ignored for admin.
            name: a label for people.
            principals: whose documents the key may read (``group:finance``, ``user:ana``; ``*``: every
                document). None: none for readers (documents without an ACL only), ``*`` for editors,
                curators and admins (they manage the documents and the graph).

        Returns:
            The key and its secret token (shown once).

        Raises:
            InputError: unknown role, a non-admin key without collections, a malformed principal.
        """
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        if principals is None:
            principals = [EVERY_DOCUMENT] if ROLES.index(role) >= ROLES.index("editor") else []
        held = check_principals(principals, allow_all=True)
        if role == "admin":
            held = (EVERY_DOCUMENT,)
        cols = [c.strip() for c in collections if c.strip()]
        if role == "admin":
            cols = [ALL_COLLECTIONS]
        if not cols:
            raise InputError("a key needs at least one collection (or '*')")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        key = ApiKey(key_id, name or f"{role}-{key_id}", role, tuple(cols), time.time(), principals=held)
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO keys(id, name, role, collections, salt, hash, created_at, principals)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key.id, key.name, key.role, json.dumps(list(key.collections)), salt, _hash(salt, secret),
                 key.created_at, json.dumps(list(held))),
            )
        self._loaded_at = float("-inf")
        return key, f"{_PREFIX}_{key_id}_{secret}"

    def active(self, include_revoked: bool = False) -> list[ApiKey]:
        """Keys, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        return [_row_key(r) for r in self._db.read(f"SELECT * FROM keys{where} ORDER BY created_at")]  # noqa: S608

    def get(self, key_id: str) -> ApiKey:
        """One key.

        Raises:
            NotFoundError: no such key.
        """
        rows = self._db.read("SELECT * FROM keys WHERE id=?", (key_id,))
        if not rows:
            raise NotFoundError(f"no key {key_id!r}")
        return _row_key(rows[0])

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (it stops working within ``cache_s`` in every process).

        Raises:
            NotFoundError: no such key, or it was already revoked.
        """
        with self._db.write() as conn:
            cur = conn.execute("UPDATE keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL", (time.time(), key_id))
            if cur.rowcount == 0:
                raise NotFoundError(f"no active key {key_id!r}")
        self._loaded_at = float("-inf")
        return self.get(key_id)

    def refresh_due(self, after_miss: bool = False) -> bool:
        """True when the snapshot of active keys is older than ``cache_s`` (after an unknown key: 0.25 s,
        so a key made a moment ago works at once while unknown keys cannot force a read per request)."""
        with self._lock:
            return time.monotonic() - self._loaded_at > (0.25 if after_miss else self._cache_s)

    def refresh(self) -> None:
        """Re-read the active keys (blocking).

        Raises:
            StoreError: the key table cannot be read.
        """
        now = time.monotonic()
        rows = self._db.read("SELECT * FROM keys WHERE revoked_at IS NULL")
        snapshot = {str(r["id"]): (_row_key(r), bytes(r["salt"]), str(r["hash"])) for r in rows}
        with self._lock:
            self._snapshot, self._loaded_at = snapshot, now

    def check(self, token: str) -> ApiKey | None:
        """The active key ``token`` belongs to, per the current snapshot (no I/O), or None."""
        parts = token.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != _PREFIX:
            return None
        with self._lock:
            entry = self._snapshot.get(parts[1])
        if entry is None:
            return None
        key, salt, digest = entry
        return key if hmac.compare_digest(_hash(salt, parts[2]), digest) else None

    def verify(self, token: str) -> ApiKey | None:
        """The active key ``token`` belongs to, or None (refreshing the snapshot when due).

        Raises:
            StoreError: the key table cannot be read.
        """
        if self.refresh_due():
            self.refresh()
        key = self.check(token)
        if key is None and self.refresh_due(after_miss=True):
            self.refresh()
            key = self.check(token)
        return key
