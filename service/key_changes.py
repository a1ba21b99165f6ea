"""Creating and revoking API keys, audited: the same functions for ``hopgraph keys`` and ``/v1/keys``."""

from __future__ import annotations

from core.errors import ConflictError
from service.audit import Actor, AuditLog
from service.keys import ApiKey, KeyStore


def create_key(keys: KeyStore, audit: AuditLog, by: Actor, role: str, collections: list[str],
               name: str = "", principals: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once: only its hash is stored); audited.

    Raises:
        InputError: an unknown role, a bad collection name or principal (see :meth:`KeyStore.create`).
        StoreError: the server database failed.
    """
    key, secret = keys.create(role, collections, name, principals)
    audit.record(by, None, "key.create", key.id, after={"name": key.name, "role": key.role,
                                                        "collections": list(key.collections),
                                                        "principals": list(key.principals)})
    return key, secret


def revoke_key(keys: KeyStore, audit: AuditLog, by: Actor, key_id: str) -> ApiKey:
    """Revoke a key (servers stop accepting it within seconds); audited.

    Raises:
        ConflictError: a key revoking itself.
        NotFoundError: no such key.
    """
    if isinstance(by, ApiKey) and by.id == key_id:
        raise ConflictError("a key cannot revoke itself; use another admin key or 'hopgraph keys revoke'")
    key = keys.revoke(key_id)
    audit.record(by, None, "key.revoke", key.id)
    return key
