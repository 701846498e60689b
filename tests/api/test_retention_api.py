"""/v1/retention/policies and /v1/jobs: invisible at once, purged by the job, verified."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select

from memory_service.app import Runtime
from memory_service.storage.sql.schema import memories, memory_versions, receipts
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

ADMIN = auth(ADMIN_KEY)
JOBS = {
    "purge_expired",
    "enforce_policies",
    "empty_trash",
    "drop_quarantine",
    "reconcile",
    "compact",
    "audit_trim",
}


def rows(runtime: Runtime, table: Any, *where: Any) -> int:
    with runtime.control.engine.connect() as conn:  # type: ignore[attr-defined]
        query = select(func.count()).select_from(table)
        return int(conn.execute(query.where(*where) if where else query).scalar_one())


def run_job(client: TestClient[Any], name: str) -> dict[str, Any]:
    response = client.post(f"/v1/jobs/{name}/run", headers=ADMIN)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    assert run["status"] == "ok", run
    return run


def test_retention_policy_routes_and_permissions(client: TestClient[Any]) -> None:
    body = {"scope": "acme/**", "applies_to": "memories", "max_age_seconds": 86400}
    created = client.put("/v1/retention/policies/acme-year", json=body, headers=ADMIN)
    assert created.status_code == 200, created.text
    assert created.json() == {"name": "acme-year", **body}
    listed = client.get("/v1/retention/policies", headers=ADMIN).json()["items"]
    assert [p["name"] for p in listed] == ["acme-year"]
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    assert client.get("/v1/retention/policies", headers=agent).status_code == 403
    assert client.put("/v1/retention/policies/x", json=body, headers=agent).status_code == 403
    globex = auth(make_key(client, "globex-admin", ("acme/globex/**", ["policy:admin"])))
    assert client.put("/v1/retention/policies/wide", json=body, headers=globex).status_code == 403
    assert client.get("/v1/retention/policies", headers=globex).json()["items"] == []
    assert client.delete("/v1/retention/policies/acme-year", headers=globex).status_code == 404
    for bad in [
        {**body, "applies_to": "everything"},
        {**body, "max_age_seconds": 0},
        {**body, "scope": "Not A Scope"},
        {"scope": "acme"},
    ]:
        response = client.put("/v1/retention/policies/bad", json=bad, headers=ADMIN)
        assert response.status_code in {400, 422}, bad
    assert client.delete("/v1/retention/policies/acme-year", headers=ADMIN).status_code == 204
    assert client.get("/v1/retention/policies", headers=ADMIN).json()["items"] == []
    actions = [
        e["action"]
        for e in client.get("/v1/audit", params={"limit": 500}, headers=ADMIN).json()["items"]
    ]
    assert actions.count("policy.put") == 1
    assert actions.count("policy.delete") == 1


def test_jobs_are_listed_and_only_for_a_global_admin(client: TestClient[Any]) -> None:
    listed = client.get("/v1/jobs", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    jobs = {j["name"]: j for j in listed.json()["items"]}
    assert set(jobs) == JOBS
    assert jobs["purge_expired"]["schedule"] == "every 300s"
    assert jobs["compact"]["schedule"].startswith("cron ")
    assert jobs["purge_expired"]["next_run"] is not None
    scoped = auth(make_key(client, "scoped-admin", ("acme/**", ["policy:admin"])))
    assert client.get("/v1/jobs", headers=scoped).status_code == 403
    assert client.post("/v1/jobs/purge_expired/run", headers=scoped).status_code == 403
    assert client.post("/v1/jobs/no_such_job/run", headers=ADMIN).status_code == 404
    run = run_job(client, "purge_expired")
    assert run["finished_at"] is not None
    again = client.get("/v1/jobs", headers=ADMIN).json()["items"]
    assert {j["name"]: j for j in again}["purge_expired"]["last_run"]["id"] == run["id"]
    runs = client.get("/v1/jobs/runs", params={"name": "purge_expired"}, headers=ADMIN).json()
    assert [r["id"] for r in runs["items"]] == [run["id"]]


def test_expired_memories_vanish_at_once_and_the_job_purges_them(
    client: TestClient[Any], runtime: Runtime
) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    brief = client.post(
        "/v1/memories",
        json={"content": "a passing thought", "scope": "acme", "ttl_seconds": 1},
        headers=agent,
    ).json()["memory"]
    lasting = client.post(
        "/v1/memories", json={"content": "a lasting thought", "scope": "acme"}, headers=agent
    ).json()["memory"]
    time.sleep(1.2)
    assert client.get(f"/v1/memories/{brief['id']}", headers=agent).status_code == 404
    assert rows(runtime, memories) == 2, "invisible, not yet purged"
    run = run_job(client, "purge_expired")
    assert run["counts"]["purged"] == 1
    assert rows(runtime, memories, memories.c.id == brief["id"]) == 0
    assert rows(runtime, memory_versions, memory_versions.c.memory_id == brief["id"]) == 0
    assert runtime.index.existing_ids([_uuid(brief["id"])]) == set()
    assert client.get(f"/v1/memories/{lasting['id']}", headers=agent).status_code == 200
    assert rows(runtime, receipts, receipts.c.kind == "retention") == 1
    again = run_job(client, "purge_expired")
    assert again["counts"]["purged"] == 0


def test_a_policy_hides_old_memories_at_once_and_enforcement_purges_them(
    client: TestClient[Any], runtime: Runtime
) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    old = client.post(
        "/v1/memories",
        json={"content": "old news about the merger", "scope": "acme/short"},
        headers=agent,
    ).json()["memory"]
    kept = client.post(
        "/v1/memories",
        json={"content": "old news kept elsewhere", "scope": "acme/long"},
        headers=agent,
    ).json()["memory"]
    time.sleep(1.2)
    policy = {"scope": "acme/short/**", "applies_to": "memories", "max_age_seconds": 1}
    assert client.put("/v1/retention/policies/short", json=policy, headers=ADMIN).status_code == 200
    time.sleep(1.1)  # the read path caches policies for up to a second
    assert client.get(f"/v1/memories/{old['id']}", headers=agent).status_code == 404
    assert client.get(f"/v1/memories/{old['id']}/history", headers=agent).status_code == 404
    listed = client.get("/v1/memories", params={"scope": "acme/short"}, headers=agent).json()
    assert listed["items"] == []
    found = client.post("/v1/memories/search", json={"query": "old news"}, headers=agent).json()
    assert [r["memory"]["id"] for r in found["results"]] == [kept["id"]]
    assert run_job(client, "enforce_policies")["counts"]["purged"] == 1
    assert rows(runtime, memories, memories.c.id == old["id"]) == 0
    assert client.get(f"/v1/memories/{kept['id']}", headers=agent).status_code == 200


def test_the_trash_is_restorable_until_the_trash_job_runs(
    client: TestClient[Any], runtime: Runtime
) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    memory = client.post(
        "/v1/memories", json={"content": "deleted by mistake", "scope": "acme"}, headers=agent
    ).json()["memory"]
    policy = {"scope": "acme/**", "applies_to": "deleted", "max_age_seconds": 1}
    client.put("/v1/retention/policies/trash", json=policy, headers=ADMIN)
    assert client.delete(f"/v1/memories/{memory['id']}", headers=agent).status_code == 204
    time.sleep(1.2)
    restored = client.post(f"/v1/memories/{memory['id']}/restore", json={}, headers=agent)
    assert restored.status_code == 200, "restorable until the job runs"
    assert client.delete(f"/v1/memories/{memory['id']}", headers=agent).status_code == 204
    time.sleep(1.2)
    assert run_job(client, "empty_trash")["counts"]["purged"] == 1
    gone = client.post(f"/v1/memories/{memory['id']}/restore", json={}, headers=agent)
    assert gone.status_code == 404
    assert rows(runtime, memories, memories.c.id == memory["id"]) == 0


def test_maintenance_jobs_run(client: TestClient[Any]) -> None:
    reconcile = run_job(client, "reconcile")
    assert set(reconcile["counts"]) == {"repaired", "orphans_removed"}
    assert run_job(client, "compact")["status"] == "ok"
    assert run_job(client, "audit_trim")["counts"] == {"events_trimmed": 0}
    assert run_job(client, "drop_quarantine")["status"] == "ok"
    trail = client.get("/v1/audit", params={"action": "job.run"}, headers=ADMIN).json()["items"]
    assert {e["details"]["job"] for e in trail} >= {"reconcile", "compact", "audit_trim"}
    assert client.get("/metrics").text.count('memory_service_job_runs_total{job="compact"') == 1


def _uuid(value: str) -> Any:
    import uuid  # noqa: PLC0415

    return uuid.UUID(value)


def test_a_purge_cut_short_is_finished_by_the_next_run(
    client: TestClient[Any], runtime: Runtime, monkeypatch: Any
) -> None:
    """The run dies between the two stores; the next run completes it and verifies."""
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    ids = [
        client.post(
            "/v1/memories",
            json={"content": f"short-lived {n}", "scope": "acme", "ttl_seconds": 1},
            headers=agent,
        ).json()["memory"]["id"]
        for n in range(3)
    ]
    time.sleep(1.2)
    erasure = runtime.erasure._store  # type: ignore[attr-defined]
    real_erase = erasure.erase

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("killed")

    monkeypatch.setattr(erasure, "erase", crash)
    failed = client.post("/v1/jobs/purge_expired/run", headers=ADMIN).json()
    assert failed["status"] == "failed"
    assert failed["error"].startswith("RuntimeError")
    assert "killed" not in failed["error"], "messages of foreign errors are withheld"
    assert runtime.index.existing_ids([_uuid(i) for i in ids]) == set(), "index went first"
    assert rows(runtime, memories, memories.c.id.in_(ids)) == 3
    monkeypatch.setattr(erasure, "erase", real_erase)
    finished = run_job(client, "purge_expired")
    assert finished["counts"]["purged"] == 3
    assert rows(runtime, memories, memories.c.id.in_(ids)) == 0
    assert rows(runtime, memory_versions, memory_versions.c.memory_id.in_(ids)) == 0
