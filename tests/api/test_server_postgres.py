"""The served API end to end with its server state in PostgreSQL (``server_db_url``): the same checks as
tests/api/test_server_e2e.py, keys made with the CLI into the same database, and the state found there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.api import test_server_e2e as e2e
from tests.api.test_server_e2e import Server, _env, _serve
from tests.contract.test_server_db import postgres_url  # noqa: F401 - fixture


@pytest.fixture
def pg_server(tmp_path: Path, model_cache: Path, postgres_url: str) -> Iterator[tuple[Server, str]]:  # noqa: F811
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        with _serve(tmp_path / "data", {**_env(model_cache), "HOPGRAPH_SERVER_DB_URL": url}) as server:
            yield server, url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_served_api_on_postgres(pg_server: tuple[Server, str]) -> None:
    server, url = pg_server
    e2e.test_served_api_end_to_end(server)
    assert not (server.data / "server.db").exists()  # the state went to PostgreSQL, not to a local file
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM keys").fetchone()[0] >= 3  # type: ignore[index]
        succeeded = conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'").fetchone()
        assert succeeded is not None and succeeded[0] >= 2
        assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] >= 1  # type: ignore[index]
