"""Authentication, roles, key management over HTTP, and per-key rate limits."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from api.http.app import create_app
from tests.api.conftest import Harness, api_settings, make_keys


def _is_problem(res: object, status: int) -> None:
    assert res.status_code == status, res.text  # type: ignore[attr-defined]
    assert res.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert res.json()["status"] == status  # type: ignore[attr-defined]


def test_requests_without_a_valid_key_are_401(harness: Harness) -> None:
    c = harness.client
    url = "/v1/collections/alpha/documents"
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"},
                    {"X-API-Key": harness.keys["reader_alpha"][:-2] + "xx"}, {"Authorization": "Bearer "}):
        res = c.get(url, headers=headers)
        _is_problem(res, 401)
        assert res.headers["www-authenticate"].startswith("Bearer")
    assert c.get(url, headers={"X-API-Key": harness.keys["reader_alpha"]}).status_code == 200
    assert c.get(url, headers=harness.h("reader_alpha")).status_code == 200


def test_roles_nest(harness: Harness) -> None:
    c = harness.client
    doc = harness.ids["alpha_docs"][0]
    for key in ("reader_alpha",):
        _is_problem(c.post("/v1/collections/alpha/documents", json={"documents": [{"text": "x"}]},
                           headers=harness.h(key)), 403)
        _is_problem(c.delete(f"/v1/collections/alpha/documents/{doc}", headers=harness.h(key)), 403)
    for key in ("reader_alpha", "editor_alpha"):
        _is_problem(c.get("/v1/collections/alpha/audit", headers=harness.h(key)), 403)
    assert c.get("/v1/collections/alpha/audit", headers=harness.h("curator_alpha")).status_code == 200
    for key in ("reader_alpha", "editor_alpha", "curator_alpha"):
        _is_problem(c.get("/v1/keys", headers=harness.h(key)), 403)
        _is_problem(c.post("/v1/collections", json={"name": "gamma"}, headers=harness.h(key)), 403)
        _is_problem(c.delete("/v1/collections/alpha", headers=harness.h(key)), 403)
    assert "needs the admin role" in c.get("/v1/keys", headers=harness.h("editor_alpha")).json()["detail"]


def test_admin_manages_keys_over_http(harness: Harness) -> None:
    c, admin = harness.client, harness.h("admin")
    made = c.post("/v1/keys", json={"role": "reader", "collections": ["beta"], "name": "temp"}, headers=admin)
    assert made.status_code == 201
    key = made.json()
    assert key["key"].startswith("hg_") and key["collections"] == ["beta"]
    listed = c.get("/v1/keys", headers=admin).json()
    entry = next(k for k in listed if k["id"] == key["id"])
    assert "key" not in entry and entry["role"] == "reader"
    assert key["key"] not in c.get("/v1/keys", headers=admin).text  # secrets are never listed
    assert c.get("/v1/collections/beta/documents", headers={"X-API-Key": key["key"]}).status_code == 200
    assert c.delete(f"/v1/keys/{key['id']}", headers=admin).json()["revoked_at"] is not None
    _is_problem(c.get("/v1/collections/beta/documents", headers={"X-API-Key": key["key"]}), 401)
    _is_problem(c.delete(f"/v1/keys/{key['id']}", headers=admin), 404)
    own_id = next(k["id"] for k in listed if k["name"] == "admin")
    _is_problem(c.delete(f"/v1/keys/{own_id}", headers=admin), 409)  # not the key making the request
    bad = c.post("/v1/keys", json={"role": "root", "collections": ["beta"]}, headers=admin)
    _is_problem(bad, 422)
    assert bad.json()["field"] == "role"
    _is_problem(c.post("/v1/keys", json={"role": "reader"}, headers=admin), 400)  # no collections
    audit = c.get("/v1/collections/beta/audit", headers=admin).json()
    assert all(a["action"] != "key.create" for a in audit)  # key changes are server-wide, not per collection
    server_wide = c.get("/v1/audit", headers=admin).json()
    assert [(a["action"], a["target"], a["key_name"]) for a in server_wide[:2]] == [
        ("key.revoke", key["id"], "admin"), ("key.create", key["id"], "admin")]
    assert server_wide[1]["after"] == {"name": "temp", "role": "reader", "collections": ["beta"],
                                      "principals": []}  # as the CLI (a reader: no principals)
    _is_problem(c.get("/v1/audit", headers=harness.h("curator_alpha")), 403)


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, model_cache: Path) -> None:
    settings = api_settings(tmp_path / "data", model_cache, api_rate_per_s=0.5, api_rate_burst=3,
                            api_preload_models=False)
    keys = make_keys(settings)
    with TestClient(create_app(settings)) as c:
        h = {"Authorization": f"Bearer {keys['admin']}"}
        other = {"Authorization": f"Bearer {keys['reader_alpha']}"}
        codes = [c.get("/v1/collections", headers=h).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        res = c.get("/v1/collections", headers=h)
        _is_problem(res, 429)
        assert 1 <= int(res.headers["retry-after"]) <= 2
        assert c.get("/v1/collections", headers=other).status_code == 200  # buckets are per key
        assert c.get("/healthz").status_code == 200  # operations are not limited
