"""The one exception hierarchy of hopgraph, documented in one place.

``HopgraphError`` is the root. Adapters translate third-party errors into these
classes with ``raise ... from exc`` so that callers never need to know which
driver or library failed. ``api/`` alone maps them to HTTP problem details.

::

    HopgraphError
    ├── ConfigError              settings or a model path are wrong
    ├── InputError               a user-supplied document or argument is unusable
    │   ├── UnsupportedFormatError
    │   ├── EmptyDocumentError
    │   ├── DocumentTooLargeError
    │   ├── MalformedDocumentError
    │   └── BackupIntegrityError  a backup is corrupt, incomplete, tampered with or not signed as required
    ├── NotFoundError            a document, entity or collection does not exist
    ├── ConflictError            the request contradicts the current state
    ├── AccessDeniedError        the caller may not do this (its documents' view is too narrow)
    ├── OntologyError            an ontology file is invalid
    ├── StoreError               a store failed
    │   └── StoreUnavailableError   ... because it cannot be reached (retry later)
    └── ModelError               a local model failed to load or run
        └── ChecksumMismatchError
"""

from __future__ import annotations


class HopgraphError(Exception):
    """Root of every error hopgraph raises on purpose."""


class ConfigError(HopgraphError):
    """Settings are invalid or point to something that does not exist."""


class InputError(HopgraphError):
    """A document or argument supplied by the user cannot be used; ``field`` names the argument when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnsupportedFormatError(InputError):
    """The file type is not one hopgraph can read."""


class EmptyDocumentError(InputError):
    """The document holds no text."""


class DocumentTooLargeError(InputError):
    """The document is larger than the configured limit."""


class MalformedDocumentError(InputError):
    """The document is corrupt, binary where text was expected, or badly structured."""


class BackupIntegrityError(InputError):
    """A backup does not match its manifest (a changed, missing or extra file, another backup's manifest) or its
    signature, so it is not restored."""


class NotFoundError(HopgraphError):
    """The requested object does not exist."""


class ConflictError(HopgraphError):
    """The request contradicts the current state."""


class AccessDeniedError(HopgraphError):
    """The caller may not do this: e.g. a curation, which changes the whole graph, by a viewer who cannot
    see every document."""


class OntologyError(HopgraphError):
    """An ontology definition is invalid."""


class StoreError(HopgraphError):
    """A knowledge store (graph or vector) failed."""


class StoreUnavailableError(StoreError):
    """A store cannot be reached; the operation may succeed later."""


class ModelError(HopgraphError):
    """A local model could not be loaded or run."""


class ChecksumMismatchError(ModelError):
    """A model file does not match its expected checksum."""
