"""The embedded adapters: one SQLite database (WAL, FTS5) in one directory."""
