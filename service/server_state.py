"""Opening the server database the settings name: PostgreSQL (``server_db_url``) or the SQLite file."""

from __future__ import annotations

from core.settings import Settings
from service.serverdb import ServerDB, server_db_path


def open_server_db(settings: Settings) -> ServerDB:
    """The settings' server database: PostgreSQL at ``server_db_url``, else the SQLite file of the data dir.

    Raises:
        StoreError: it cannot be opened (StoreUnavailableError: PostgreSQL cannot be reached).
    """
    if settings.server_db_url:
        from service.serverdb_pg import PostgresServerDB  # psycopg only where it is used

        return PostgresServerDB(settings.server_db_url, settings.store_timeout_s)
    return ServerDB(server_db_path(settings.data_dir))
