"""/v1/audit: every route leaves its event, no content reaches the trail, tampering shows."""

from __future__ import annotations

import itertools
import json
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select, update

from memory_service.app import Runtime
from memory_service.storage.sql.schema import audit_events
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

ADMIN = auth(ADMIN_KEY)
AWS_KEY = "AKIAZWKRA4UZEPZ1QSSK"
AWS_SECRET = "797TPNbpjava1bMZwIMlvdp5gjTrD8Osj/LnZ5R+"


def events(client: TestClient[Any], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", params={"limit": 500, **params}, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_every_route_emits_its_event(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    created = client.post(
        "/v1/memories",
        json={"content": "Team standup is at 9:30", "scope": "acme/bot", "source": {"agent": "x"}},
        headers=agent,
    ).json()["memory"]
    memory_id = created["id"]
    client.post(
        "/v1/memories/batch",
        json={"items": [{"content": "Prefers tea", "scope": "acme/bot"}]},
        headers=agent,
    )
    client.get(f"/v1/memories/{memory_id}", headers=agent)
    client.get("/v1/memories", params={"scope": "acme/bot"}, headers=agent)
    client.post("/v1/memories/search", json={"query": "standup time"}, headers=agent)
    client.patch(f"/v1/memories/{memory_id}", json={"content": "Standup at 10"}, headers=agent)
    client.get(f"/v1/memories/{memory_id}/history", headers=agent)
    client.post(f"/v1/memories/{memory_id}/restore", json={"version": 1}, headers=agent)
    client.delete(f"/v1/memories/{memory_id}", headers=agent)
    client.post(f"/v1/memories/{memory_id}/restore", json={}, headers=agent)
    held = client.post(
        "/v1/memories",
        json={
            "content": f"aws_access_key_id={AWS_KEY} aws_secret_access_key={AWS_SECRET}",
            "scope": "acme/bot",
        },
        headers=agent,
    )
    assert held.status_code == 202
    client.put(
        "/v1/policies/strict", json={"scope": "acme/strict", "secret": "reject"}, headers=ADMIN
    )
    rejected = client.post(
        "/v1/memories",
        json={"content": f"aws_access_key_id={AWS_KEY}", "scope": "acme/strict"},
        headers=agent,
    )
    assert rejected.status_code == 422
    client.delete("/v1/policies/strict", headers=ADMIN)
    issued = client.post("/v1/keys", json={"name": "temp", "grants": []}, headers=ADMIN).json()
    client.delete(f"/v1/keys/{issued['id']}", headers=ADMIN)

    trail = events(client)
    actions = [e["action"] for e in trail]
    for expected in [
        "key.create",
        "memory.create",
        "memory.get",
        "memory.list",
        "memory.search",
        "memory.update",
        "memory.history",
        "memory.restore",
        "memory.delete",
        "memory.quarantine",
        "policy.put",
        "memory.reject",
        "policy.delete",
        "key.revoke",
    ]:
        assert expected in actions, expected
    about = [e for e in trail if memory_id in e["memory_ids"]]
    assert [e["action"] for e in about] == [
        "memory.create",
        "memory.get",
        "memory.list",
        "memory.search",
        "memory.update",
        "memory.history",
        "memory.restore",
        "memory.delete",
        "memory.restore",
    ]
    create = about[0]
    assert create["actor"] == "agent"
    assert create["scope"] == "acme/bot"
    assert create["decision"]["outcome"] == "stored"
    assert create["request_id"]
    quarantined = next(e for e in trail if e["action"] == "memory.quarantine")
    kinds = {(f["kind"], f["action"]) for f in quarantined["decision"]["findings"]}
    assert ("secret", "quarantine") in kinds
    assert quarantined["details"]["quarantine_id"] == held.json()["quarantine_id"]
    # The chain links each event to the one before it.
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(trail))


def test_no_planted_secret_reaches_the_trail(client: TestClient[Any], runtime: Runtime) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    planted = {
        "content": f"Deploy with {AWS_KEY} / {AWS_SECRET}; call Emily Zhang at 415-555-0199",
        "clean": "The vault combination is zebra-orchid-4471",
        "meta": "meta-value-kumquat-9931",
        "source": "source-session-persimmon-2210",
        "query": "where is the persimmon kumquat vault",
    }
    client.post(
        "/v1/memories",
        json={"content": planted["content"], "scope": "acme/bot"},
        headers=agent,
    )
    made = client.post(
        "/v1/memories",
        json={
            "content": planted["clean"],
            "scope": "acme/bot",
            "metadata": {"note": planted["meta"]},
            "source": {"session": planted["source"]},
        },
        headers=agent,
    )
    assert made.status_code == 201
    client.post("/v1/memories/search", json={"query": planted["query"]}, headers=agent)
    with runtime_engine(runtime).connect() as conn:
        dump = json.dumps(
            [dict(r) for r in conn.execute(select(audit_events)).mappings()], default=str
        )
    assert "memory.create" in dump
    for value in [
        AWS_KEY,
        AWS_SECRET,
        "Emily",
        "415-555-0199",
        "zebra-orchid",
        "kumquat",
        "persimmon",
    ]:
        assert value not in dump, value


def runtime_engine(runtime: Runtime) -> Any:
    return runtime.control.engine  # type: ignore[attr-defined]


def test_audit_needs_audit_read_and_stays_in_scope(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW), ("initech/**", RW)))
    client.post("/v1/memories", json={"content": "acme fact", "scope": "acme/a"}, headers=agent)
    client.post(
        "/v1/memories", json={"content": "initech fact", "scope": "initech/a"}, headers=agent
    )
    assert client.get("/v1/audit", headers=agent).status_code == 403
    assert client.get("/v1/audit/verify", headers=agent).status_code == 403
    acme_auditor = auth(make_key(client, "acme-auditor", ("acme/**", ["audit:read"])))
    seen = client.get("/v1/audit", headers=acme_auditor).json()["items"]
    assert seen, "the auditor of acme sees acme's events"
    assert {e["scope"] for e in seen} == {"acme/a"}
    assert (
        client.get("/v1/audit", params={"scope": "initech/a"}, headers=acme_auditor).status_code
        == 403
    )
    # The whole chain (and its scope-less key events) is only for an auditor of everything.
    assert client.get("/v1/audit/verify", headers=acme_auditor).status_code == 403
    assert client.get("/v1/audit/export", headers=acme_auditor).status_code == 403
    assert client.get("/v1/audit", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_verify_and_export(client: TestClient[Any], runtime: Runtime) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    for n in range(3):
        client.post("/v1/memories", json={"content": f"fact {n}", "scope": "acme"}, headers=agent)
    ok = client.get("/v1/audit/verify", headers=ADMIN).json()
    assert ok["ok"] is True
    assert ok["first_bad_seq"] is None
    exported = client.get("/v1/audit/export", headers=ADMIN)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert len(lines) >= ok["events"]
    target = next(e for e in lines if e["action"] == "memory.create")["seq"]
    with runtime_engine(runtime).begin() as conn:
        conn.execute(
            update(audit_events).where(audit_events.c.seq == target).values(actor="mallory")
        )
    bad = client.get("/v1/audit/verify", headers=ADMIN).json()
    assert (bad["ok"], bad["first_bad_seq"]) == (False, target)


def test_bad_audit_queries_are_4xx(client: TestClient[Any]) -> None:
    for params in [
        {"cursor": "garbage"},
        {"limit": 0},
        {"since": "yesterday"},
        {"scope": "Bad Scope"},
        {"order": "sideways"},
    ]:
        response = client.get("/v1/audit", params=params, headers=ADMIN)
        assert response.status_code in {400, 422}, params
        assert response.headers["content-type"].startswith("application/problem+json")


def test_without_an_audit_trail_nothing_happens(client: TestClient[Any], runtime: Runtime) -> None:
    """Fail closed: a write that cannot be audited is not stored, a read is not served."""
    from sqlalchemy import delete, func  # noqa: PLC0415

    from memory_service.storage.sql.schema import audit_chain, memories  # noqa: PLC0415

    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    kept = client.post("/v1/memories", json={"content": "before", "scope": "acme"}, headers=agent)
    memory_id = kept.json()["memory"]["id"]
    with runtime_engine(runtime).begin() as conn:
        conn.execute(delete(audit_chain))
    refused = client.post("/v1/memories", json={"content": "after", "scope": "acme"}, headers=agent)
    assert refused.status_code == 503
    assert client.get(f"/v1/memories/{memory_id}", headers=agent).status_code == 503
    assert client.delete(f"/v1/memories/{memory_id}", headers=agent).status_code == 503
    with runtime_engine(runtime).connect() as conn:
        assert conn.execute(select(func.count()).select_from(memories)).scalar_one() == 1
    assert client.get("/v1/audit/verify", headers=ADMIN).status_code == 503
