from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

Client = TestClient[Any]


@pytest.fixture
def agent(client: Client) -> dict[str, str]:
    return auth(make_key(client, "agent", ("acme/globex/**", RW)))


def store(client: Client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("scope", "acme/globex")
    response = client.post("/v1/memories", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_store_then_get_returns_every_field(client: Client, agent: dict[str, str]) -> None:
    created = store(
        client,
        agent,
        content="The user prefers green tea in the morning",
        metadata={"source": "chat", "n": 1},
        tags=["prefs", "drinks"],
        subject="user-42",
        ttl_seconds=3600,
        source={"agent": "support-bot", "session": "s1"},
    )
    assert created["status"] == "stored"
    memory = created["memory"]
    assert memory["classification"] == {"action": "clean", "findings": []}
    assert memory["provenance"]["created_by"] == "agent"
    assert memory["provenance"]["source"] == {"agent": "support-bot", "session": "s1"}
    assert memory["version"] == 1
    assert memory["expires_at"] is not None
    got = client.get(f"/v1/memories/{memory['id']}", headers=agent)
    assert got.status_code == 200
    assert got.json() == memory


def test_search_finds_a_paraphrase(client: Client, agent: dict[str, str]) -> None:
    store(client, agent, content="The customer's favourite drink is green tea")
    store(client, agent, content="The deployment runs on Kubernetes in eu-west-1")
    response = client.post(
        "/v1/memories/search", json={"query": "what does the client like to drink?"}, headers=agent
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["memory"]["content"] == "The customer's favourite drink is green tea"
    assert results[0]["score"] > results[1]["score"]


def test_search_filters_by_tag_subject_and_metadata(client: Client, agent: dict[str, str]) -> None:
    store(client, agent, content="likes tea", tags=["a"], subject="u1", metadata={"k": "v"})
    store(client, agent, content="likes tea too", tags=["b"], subject="u2", metadata={"k": "w"})

    def contents(filters: dict[str, Any]) -> list[str]:
        r = client.post(
            "/v1/memories/search", json={"query": "tea", "filters": filters}, headers=agent
        )
        assert r.status_code == 200, r.text
        return [x["memory"]["content"] for x in r.json()["results"]]

    assert contents({"tags_any": ["a"]}) == ["likes tea"]
    assert contents({"subject": "u2"}) == ["likes tea too"]
    assert contents({"metadata": {"k": "v"}}) == ["likes tea"]


def test_list_pages_with_cursor(client: Client, agent: dict[str, str]) -> None:
    ids = {store(client, agent, content=f"fact number {i}")["memory"]["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/memories", params=params, headers=agent).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_patch_versions_and_if_match(client: Client, agent: dict[str, str]) -> None:
    memory = store(client, agent, content="first text", tags=["x"])["memory"]
    url = f"/v1/memories/{memory['id']}"
    updated = client.patch(url, json={"content": "second text"}, headers=agent | {"If-Match": "1"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["content"] == "second text"
    assert updated.json()["tags"] == ["x"]
    stale = client.patch(url, json={"content": "third"}, headers=agent | {"If-Match": "1"})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, headers=agent).json()["content"] == "second text"
    history = client.get(f"{url}/history", headers=agent).json()["items"]
    assert [(h["version"], h["op"], h["content"]) for h in history] == [
        (1, "create", "first text"),
        (2, "update", "second text"),
    ]


def test_delete_is_soft_and_restorable(client: Client, agent: dict[str, str]) -> None:
    memory = store(client, agent, content="remember the milk")["memory"]
    url = f"/v1/memories/{memory['id']}"
    assert client.delete(url, headers=agent).status_code == 204
    assert client.get(url, headers=agent).status_code == 404
    search = client.post("/v1/memories/search", json={"query": "milk"}, headers=agent).json()
    assert search["results"] == []
    assert client.delete(url, headers=agent).status_code == 404
    restored = client.post(f"{url}/restore", json={}, headers=agent)
    assert restored.status_code == 200, restored.text
    assert restored.json()["content"] == "remember the milk"
    assert client.get(url, headers=agent).status_code == 200


def test_restore_rolls_back_to_a_version(client: Client, agent: dict[str, str]) -> None:
    memory = store(client, agent, content="v1 text")["memory"]
    url = f"/v1/memories/{memory['id']}"
    client.patch(url, json={"content": "v2 text"}, headers=agent)
    rolled = client.post(f"{url}/restore", json={"version": 1}, headers=agent)
    assert rolled.status_code == 200
    assert rolled.json()["content"] == "v1 text"
    assert rolled.json()["version"] == 3
    found = client.post("/v1/memories/search", json={"query": "v1 text"}, headers=agent).json()
    assert found["results"][0]["memory"]["content"] == "v1 text"


def test_batch_stores_every_item(client: Client, agent: dict[str, str]) -> None:
    items = [{"content": f"batch fact {i}", "scope": "acme/globex"} for i in range(5)]
    response = client.post("/v1/memories/batch", json={"items": items}, headers=agent)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["stored"] * 5
    assert [r["memory"]["content"] for r in results] == [i["content"] for i in items]


def test_idempotency_key_replays_and_stores_once(client: Client, agent: dict[str, str]) -> None:
    body = {"content": "only once", "scope": "acme/globex"}
    headers = agent | {"Idempotency-Key": "abc-123"}
    first = client.post("/v1/memories", json=body, headers=headers)
    second = client.post("/v1/memories", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    page = client.get("/v1/memories", headers=agent).json()
    assert [m["content"] for m in page["items"]] == ["only once"]
    other = client.post("/v1/memories", json=body | {"content": "different"}, headers=headers)
    assert other.status_code == 422


def test_expired_memory_is_invisible(client: Client, agent: dict[str, str], runtime: Any) -> None:
    from datetime import timedelta  # noqa: PLC0415

    memory = store(client, agent, content="short lived fact", ttl_seconds=60)["memory"]
    real_clock = runtime.memories._clock
    runtime.memories._clock = lambda: real_clock() + timedelta(seconds=61)
    try:
        assert client.get(f"/v1/memories/{memory['id']}", headers=agent).status_code == 404
        found = client.post("/v1/memories/search", json={"query": "short lived"}, headers=agent)
        assert found.json()["results"] == []
    finally:
        runtime.memories._clock = real_clock


def test_keys_admin_routes(client: Client) -> None:
    admin = auth(ADMIN_KEY)
    key = make_key(client, "reader", ("acme/**", ["memory:read"]))
    listed = client.get("/v1/keys", headers=admin).json()["items"]
    assert {k["name"] for k in listed} == {"bootstrap-admin", "reader"}
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    assert key not in str(listed)
    reader_id = next(k["id"] for k in listed if k["name"] == "reader")
    assert client.get("/v1/memories", headers=auth(key)).status_code == 200
    assert client.delete(f"/v1/keys/{reader_id}", headers=admin).status_code == 204
    assert client.get("/v1/memories", headers=auth(key)).status_code == 401
    assert client.get("/v1/keys", headers=auth(key)).status_code == 401


def test_a_non_admin_key_cannot_manage_keys(client: Client, agent: dict[str, str]) -> None:
    assert client.get("/v1/keys", headers=agent).status_code == 403
    body = {"name": "escalate", "grants": [{"scope": "**", "permissions": ["keys:admin"]}]}
    assert client.post("/v1/keys", json=body, headers=agent).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer msk_nope_nope"},
        {"Authorization": "Basic " + ADMIN_KEY},
        {"Authorization": f"Bearer {ADMIN_KEY}x"},
        {"Authorization": f"Bearer {ADMIN_KEY[:-1]}"},
    ],
)
def test_bad_keys_are_401_problems(client: Client, headers: dict[str, str]) -> None:
    response = client.get("/v1/memories", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_health_ready_metrics_schema(client: Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    client.get("/v1/memories", headers=auth(ADMIN_KEY))
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "litestar_requests_total" in metrics.text
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/v1/memories", "/v1/memories/search", "/v1/memories/batch", "/v1/keys"]:
        assert path in paths


def test_unknown_id_is_404_and_bad_id_is_4xx(client: Client, agent: dict[str, str]) -> None:
    assert client.get(f"/v1/memories/{uuid.uuid4()}", headers=agent).status_code == 404
    bad = client.get("/v1/memories/not-a-uuid", headers=agent)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_metrics_labels_never_carry_ids_or_scopes(client: Client, agent: dict[str, str]) -> None:
    memory = store(client, agent, content="a fact", scope="acme/globex/team-x")["memory"]
    client.get(f"/v1/memories/{memory['id']}", headers=agent)
    client.get(f"/v1/memories/{uuid.uuid4()}", headers=agent)
    client.get("/v1/memories", params={"scope": "acme/globex/team-x"}, headers=agent)
    client.get("/no/such/route/team-x")
    text = client.get("/metrics").text
    assert 'path="/v1/memories/{memory_id}"' in text
    assert memory["id"] not in text
    assert "team-x" not in text
