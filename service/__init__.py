"""The application layer: one function per thing a user can do, called alike by the CLI and by HTTP.

Collections, ingest jobs and their worker, keys and principals, the audit log, curation and the
server database live here. ``service`` imports ``retrieval``, ``extraction``, ``graph``,
``inference`` and ``core``; only ``api`` (the faces), ``bench`` and the tests import it.
"""
