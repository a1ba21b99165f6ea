"""The models a site runs: the packaged readers' state and checksums (``hopgraph models``).

The faces ask here; :mod:`inference.catalogue` does the work.
"""

from __future__ import annotations

from inference.catalogue import ReaderStatus, pending_assembly, reader_statuses, verify_readers

__all__ = ["ReaderStatus", "pending_assembly", "reader_statuses", "verify_readers"]
