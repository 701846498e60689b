"""/v1/purge, /v1/subjects/{subject} and receipts: scoped, dry runs inert, nothing left."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select

from memory_service.app import Runtime
from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex
from memory_service.storage.sql.schema import memories, memory_versions, quarantine
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

ADMIN = auth(ADMIN_KEY)
SECRET = "aws_access_key_id=AKIAZWKRA4UZEPZ1QSSK"


def write(client: TestClient[Any], headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/memories", json=body, headers=headers)
    assert response.status_code in {201, 202}, response.text
    result: dict[str, Any] = response.json()
    return result


def rows(runtime: Runtime, table: Any) -> int:
    with runtime.control.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_purge_needs_permission_and_a_selector(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    assert client.post("/v1/purge", json={"scope": "acme"}, headers=agent).status_code == 403
    empty = client.post("/v1/purge", json={"dry_run": True}, headers=ADMIN)
    assert empty.status_code in {400, 422}
    assert empty.headers["content-type"].startswith("application/problem+json")
    unknown = client.post("/v1/purge", json={"scope": "acme", "everything": True}, headers=ADMIN)
    assert unknown.status_code in {400, 422}


def test_dry_run_counts_and_changes_nothing(client: TestClient[Any], runtime: Runtime) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    ids = [
        write(client, agent, content=f"note {n}", scope="acme/a")["memory"]["id"] for n in range(3)
    ]
    client.patch(f"/v1/memories/{ids[0]}", json={"content": "note zero, revised"}, headers=agent)
    before = (rows(runtime, memories), rows(runtime, memory_versions))
    result = client.post("/v1/purge", json={"scope": "acme/a", "dry_run": True}, headers=ADMIN)
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["matched"], body["purged"], body["dry_run"]) == (3, 0, True)
    assert body["counts"] == {"memories": 3, "versions": 4, "quarantine": 0}
    assert (rows(runtime, memories), rows(runtime, memory_versions)) == before
    for memory_id in ids:
        assert client.get(f"/v1/memories/{memory_id}", headers=agent).status_code == 200
    receipt = client.get(f"/v1/receipts/{body['receipt_id']}", headers=ADMIN).json()
    assert receipt["dry_run"] is True
    assert sorted(receipt["memory_ids"]) == sorted(ids)


def test_purge_outside_the_callers_scopes_touches_nothing(client: TestClient[Any]) -> None:
    writer = auth(make_key(client, "writer", ("acme/**", RW)))
    globex_purger = auth(make_key(client, "purger", ("acme/globex/**", ["purge", "memory:read"])))
    mine = write(client, writer, content="globex note", scope="acme/globex", subject="u1")
    theirs = write(client, writer, content="initech note", scope="acme/initech", subject="u1")
    refused = client.post("/v1/purge", json={"scope": "acme/initech"}, headers=globex_purger)
    assert refused.status_code == 403
    # A subject-wide purge reaches only the purger's own scopes.
    done = client.post("/v1/purge", json={"subject": "u1"}, headers=globex_purger).json()
    assert (done["matched"], done["purged"]) == (1, 1)
    assert client.get(f"/v1/memories/{mine['memory']['id']}", headers=writer).status_code == 404
    assert client.get(f"/v1/memories/{theirs['memory']['id']}", headers=writer).status_code == 200


def test_purge_by_tags_and_age(client: TestClient[Any]) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    tagged = write(client, agent, content="tagged", scope="acme", tags=["tmp"])["memory"]["id"]
    kept = write(client, agent, content="untagged", scope="acme", tags=["keep"])["memory"]["id"]
    result = client.post("/v1/purge", json={"scope": "acme", "tags_any": ["tmp"]}, headers=ADMIN)
    assert result.json()["purged"] == 1
    assert client.get(f"/v1/memories/{tagged}", headers=agent).status_code == 404
    assert client.get(f"/v1/memories/{kept}", headers=agent).status_code == 200
    old = client.post(
        "/v1/purge", json={"created_before": "2000-01-01T00:00:00Z"}, headers=ADMIN
    ).json()
    assert old["matched"] == 0


def test_erasure_removes_every_trace_and_leaves_a_receipt(
    client: TestClient[Any], runtime: Runtime
) -> None:
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    first = write(client, agent, content="Dana likes oolong", scope="acme/a", subject="dana")
    memory_id = first["memory"]["id"]
    client.patch(f"/v1/memories/{memory_id}", json={"content": "Dana likes sencha"}, headers=agent)
    deleted = write(client, agent, content="Dana moved city", scope="acme/b", subject="dana")
    client.delete(f"/v1/memories/{deleted['memory']['id']}", headers=agent)
    held = write(client, agent, content=f"Dana's key {SECRET}", scope="acme/a", subject="dana")
    assert held["status"] == "quarantined"
    other = write(client, agent, content="Eve likes coffee", scope="acme/a", subject="eve")

    erased = client.delete("/v1/subjects/dana", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["purged"] == {"memories": 2, "versions": 4, "quarantine": 1}
    assert body["verified_at"] is not None

    assert client.get(f"/v1/memories/{memory_id}", headers=agent).status_code == 404
    assert client.get(f"/v1/memories/{memory_id}/history", headers=agent).status_code == 404
    restore = client.post(f"/v1/memories/{deleted['memory']['id']}/restore", json={}, headers=agent)
    assert restore.status_code == 404
    listed = client.get("/v1/memories", params={"subject": "dana"}, headers=agent).json()
    assert listed["items"] == []
    hits = client.post("/v1/memories/search", json={"query": "Dana likes tea"}, headers=agent)
    assert all(r["memory"]["subject"] != "dana" for r in hits.json()["results"])
    assert client.get(f"/v1/memories/{other['memory']['id']}", headers=agent).status_code == 200
    with runtime.control.engine.connect() as conn:  # type: ignore[attr-defined]
        assert (
            conn.execute(select(quarantine.c.id).where(quarantine.c.subject == "dana")).all() == []
        )

    auditor = auth(make_key(client, "auditor", ("**", ["audit:read"])))
    receipt = client.get(f"/v1/receipts/{body['receipt_id']}", headers=auditor).json()
    assert receipt["kind"] == "erasure"
    assert receipt["counts"] == body["purged"]
    assert sorted(receipt["memory_ids"]) == sorted([memory_id, deleted["memory"]["id"]])
    assert receipt["quarantine_ids"] == [held["quarantine_id"]]
    assert "dana" not in str(receipt).lower()
    assert len(receipt["selector"]["subject_digest"]) == 64
    assert client.get(f"/v1/receipts/{body['receipt_id']}", headers=agent).status_code == 404

    trail = client.get("/v1/audit", params={"action": "subject.erase"}, headers=ADMIN).json()
    assert trail["items"][0]["details"]["receipt_id"] == body["receipt_id"]
    assert "dana" not in str(trail).lower()

    # Erasing again finds nothing and says so.
    again = client.delete("/v1/subjects/dana", headers=ADMIN).json()
    assert again["purged"] == {"memories": 0, "versions": 0, "quarantine": 0}


def test_erasure_receipt_records_the_vacuum(client: TestClient[Any], runtime: Runtime) -> None:
    """Edge: the receipt is stamped once the segment files are rewritten. A Qdrant server
    vacuums on its own, and the receipt says so instead."""
    agent = auth(make_key(client, "agent", ("acme/**", RW)))
    write(client, agent, content="Frank's note", scope="acme", subject="frank")
    receipt_id = client.delete("/v1/subjects/frank", headers=ADMIN).json()["receipt_id"]
    receipt = client.get(f"/v1/receipts/{receipt_id}", headers=ADMIN).json()
    assert receipt["physical"]["control_store"].startswith(("sqlite:", "postgresql:"))
    if not isinstance(runtime.index, QdrantEdgeMemoryIndex):
        assert "server's optimizers" in receipt["physical"]["vector_store"]
        return
    deadline = time.monotonic() + 30
    while receipt["compacted_at"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        receipt = client.get(f"/v1/receipts/{receipt_id}", headers=ADMIN).json()
    assert receipt["compacted_at"] is not None
    assert receipt["physical"]["vector_store"].startswith("vacuumed")
