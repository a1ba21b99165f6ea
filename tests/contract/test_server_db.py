"""The server database contract, over the SQLite file and PostgreSQL (a fresh database per test, on the server
of ``deploy/services.sh start postgres``): keys, jobs, the audit log, usage and the model registry behave the
same, and two connections (as two API replicas) claim each queued job exactly once."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from core.errors import NotFoundError
from service.audit import AuditLog
from service.jobs import JobStore
from service.keys import KeyStore
from service.model_registry import ModelRegistry
from service.serverdb import ServerDB, server_db_path
from service.serverdb_pg import PostgresServerDB
from service.usage import Outcome, Usage, UsageLog
from tests.conftest import service_missing


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of the PostgreSQL of deploy/services.sh (skip, or fail in CI, when it is not reachable)."""
    url = os.environ.get("HOPGRAPH_POSTGRES_URL", "")
    if not url:
        service_missing("HOPGRAPH_POSTGRES_URL is not set: `bash deploy/services.sh start` and `. .services/env`")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        service_missing(f"PostgreSQL at HOPGRAPH_POSTGRES_URL is not reachable: {exc}")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[type[object] | object]:
    """Opens connections to one fresh server database (each call: a new connection, as another process)."""
    opened: list[ServerDB] = []
    if request.param == "sqlite":
        def open_sqlite() -> ServerDB:
            opened.append(ServerDB(server_db_path(tmp_path)))
            return opened[-1]
        yield open_sqlite
    else:
        admin_url = request.getfixturevalue("postgres_url")
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        url = admin_url.rsplit("/", 1)[0] + "/" + name

        def open_pg() -> ServerDB:
            opened.append(PostgresServerDB(url))
            return opened[-1]
        yield open_pg
    for db in opened:
        db.close()
    if request.param == "postgresql":
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_keys(db_factory) -> None:  # type: ignore[no-untyped-def]
    keys = KeyStore(db_factory())
    key, token = keys.create("reader", ["alpha"], "ana", ["group:finance"])
    found = keys.verify(token)
    assert found is not None and found.id == key.id and found.sees("alpha") and not found.sees("beta")
    assert keys.verify(token + "x") is None
    other = KeyStore(db_factory())  # another replica sees the key, then its revocation
    assert other.get(key.id).name == "ana"
    keys.revoke(key.id)
    other.refresh()
    assert other.verify(token) is None
    assert [k.id for k in keys.active(include_revoked=True)] == [key.id] and keys.active() == []
    with pytest.raises(NotFoundError):
        keys.get("nope")


def test_jobs(db_factory) -> None:  # type: ignore[no-untyped-def]
    jobs = JobStore(db_factory())
    mine = jobs.create("alpha", ["a.txt"], ["d1"], "k1", payload={"acl": ["group:x"]})
    open_job = jobs.create("alpha", [], ["d2"], None)
    assert jobs.unfinished("alpha") == 2
    assert [j.id for j in jobs.recent("alpha", key_id="k2")] == [open_job.id]  # restricted jobs stay the key's
    assert {j.id for j in jobs.recent("alpha", key_id="k1")} == {mine.id, open_job.id}
    claimed = jobs.claim()
    assert claimed is not None and claimed.id == mine.id and claimed.state == "running" and claimed.attempts == 1
    jobs.progress(mine.id, 1, 2)
    jobs.finish(mine.id, "succeeded", {"documents": 7}, [{"path": "b", "reason": "bad"}], ["d1"])
    done = jobs.get("alpha", mine.id)
    assert (done.state, done.done, done.total, done.errors) == ("succeeded", 1, 2, [{"path": "b", "reason": "bad"}])
    assert jobs.ingested_documents() == {"alpha": 7}
    assert jobs.cancel("alpha", open_job.id).state == "cancelled"
    assert jobs.counts()["succeeded"] == 1 and jobs.counts()["cancelled"] == 1 and jobs.claim() is None


def test_each_job_claimed_once_by_two_replicas(db_factory) -> None:  # type: ignore[no-untyped-def]
    first, second = JobStore(db_factory()), JobStore(db_factory())
    created = {first.create("alpha", [], [f"d{i}"], None).id for i in range(40)}
    claims: list[list[str]] = [[], []]

    def drain(store: JobStore, out: list[str]) -> None:
        while (job := store.claim()) is not None:
            out.append(job.id)

    threads = [threading.Thread(target=drain, args=(s, c)) for s, c in zip((first, second), claims, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(claims[0] + claims[1]) == sorted(created)  # every job once, none twice


def test_audit_usage_and_models(db_factory) -> None:  # type: ignore[no-untyped-def]
    db = db_factory()
    audit = AuditLog(db)
    audit.record("cli:ana", "alpha", "document.delete", "d1", before={"title": "x"})
    audit.record("cli:ana", None, "key.create", "k1")
    assert [e.action for e in audit.recent("alpha")] == ["document.delete"]
    assert [e.target for e in audit.recent(None)] == ["k1"]

    clock = iter(float(t) for t in (100, 100, 101, 101, 102, 200)).__next__
    usage = UsageLog(db, lambda: clock())
    for endpoint, error in (("retrieve", False), ("retrieve", True), ("query", False)):
        usage.add(Outcome("alpha", "k1", endpoint, error, False, Usage(cpu_s=0.5, prompt_tokens=10)))
    assert usage.flush() >= 1
    summary = usage.summary("alpha", 0, 1000)
    assert summary.requests == 3 and summary.errors == 1

    models = ModelRegistry(db)
    entry = models.record("reader", "tiny", "/models/tiny.gguf", "ab" * 32, 1234, "apache-2.0")
    assert entry.version == 1 and models.record("reader", "tiny", "/m/t2.gguf", "cd" * 32, 5).version == 2
    assert [e.version for e in models.get("tiny")] == [1, 2]


def test_job_leases_hand_over_a_dead_holders_job_once(db_factory) -> None:  # type: ignore[no-untyped-def]
    a = JobStore(db_factory(), owner="replica-a", lease_s=0.5)
    b = JobStore(db_factory(), owner="replica-b", lease_s=0.5)
    job = a.create("alpha", [], ["d1"], None)
    assert (claimed := a.claim()) is not None and claimed.id == job.id
    assert b.claim() is None  # held
    assert a.renew(job.id)
    time.sleep(0.7)  # replica a dies: its lease runs out
    taken = b.claim()
    assert taken is not None and taken.id == job.id and taken.attempts == 2
    assert not a.renew(job.id)  # a, back, learns it lost the job
    assert not a.finish(job.id, "succeeded", {"documents": 1}, [])  # and cannot record its end
    assert b.finish(job.id, "succeeded", {"documents": 1}, [])
    row = b.db.read("SELECT state, lease_owner, attempts FROM jobs WHERE id=?", (job.id,))[0]
    assert (row["state"], row["lease_owner"], row["attempts"]) == ("succeeded", "replica-b", 2)
    interrupted = a.create("alpha", [], ["d2"], None)
    assert a.claim() is not None and a.finish(interrupted.id, "interrupted", None, [])
    again = b.claim()  # an interrupted job is claimed again at once
    assert again is not None and again.id == interrupted.id


@pytest.mark.parametrize("db_factory", ["postgresql"], indirect=True)  # SQLite: tests/unit/test_ratelimit.py
def test_rate_limit_shared_by_replicas(db_factory) -> None:  # type: ignore[no-untyped-def]
    first = db_factory()
    assert isinstance(first, PostgresServerDB)
    from api.http.ratelimit_shared import SharedBuckets

    a, b = SharedBuckets(1.0, 3, first), SharedBuckets(1.0, 3, db_factory())  # two replicas, one budget
    assert [a.take("k1"), b.take("k1"), a.take("k1")] == [0.0, 0.0, 0.0]
    wait = b.take("k1")
    assert 0.0 < wait <= 1.0 and a.take("k2") == 0.0  # another key has its own bucket
    time.sleep(wait + 0.05)
    assert a.take("k1") == 0.0 and b.take("k1") > 0.0
