"""The mem0 ``MemoryClient`` wire contract (shared/COMPAT.md) through Litestar's test client.

Requests are shaped as mem0's client shapes them: ``Authorization: Token <key>``, paths with a
trailing slash, entity ids in ``filters``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

GITHUB = "ghp_" + "R8x2Lq9ZtV4mN7cW1pK6yH3sD0fJ5gB2aE8u"  # split: not a secret in our repo


def token(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}", "Mem0-User-ID": "0" * 32}


def add(
    client: TestClient[Any], key: str, text: str, *, status: int = 200, **fields: Any
) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": text}], "infer": False, **fields}
    response = client.post("/v3/memories/add/", json=body, headers=token(key))
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def add_one(client: TestClient[Any], key: str, text: str, **fields: Any) -> dict[str, Any]:
    results = add(client, key, text, **fields)["results"]
    assert len(results) == 1
    assert results[0]["event"] == "ADD", results
    item: dict[str, Any] = results[0]
    return item


def search(client: TestClient[Any], key: str, query: str, **body: Any) -> list[dict[str, Any]]:
    response = client.post(
        "/v3/memories/search/", json={"query": query, **body}, headers=token(key)
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def get_all(client: TestClient[Any], key: str, filters: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v3/memories/", json={"filters": filters}, headers=token(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def key(client: TestClient[Any]) -> str:
    return make_key(client, "mem0-bot", ("acme/bot/**", RW))


# -- basics -------------------------------------------------------------------------------


def test_ping_answers_what_the_client_needs(client: TestClient[Any], key: str) -> None:
    response = client.get("/v1/ping/", headers=token(key))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"org_id", "project_id", "user_email"} <= body.keys()


def test_a_bad_token_is_401(client: TestClient[Any]) -> None:
    response = client.get("/v1/ping/", headers=token("msk_0000000000000000_nope"))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert "API key" in response.json()["detail"]
    response = client.post("/v3/memories/search/", json={"query": "x"})
    assert response.status_code == 401


def test_add_stores_one_memory_per_message_in_the_keys_write_scope(
    client: TestClient[Any], key: str
) -> None:
    body = {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "I prefer green tea in the morning"},
            {"role": "assistant", "content": "Noted, green tea in the morning"},
        ],
        "user_id": "alice",
        "agent_id": "support",
        "run_id": "r1",
        "metadata": {"topic": "drinks"},
        "infer": False,
    }
    response = client.post("/v3/memories/add/", json=body, headers=token(key))
    assert response.status_code == 200, response.text
    out = response.json()
    assert "message" not in out  # infer=false: nothing to explain
    results = out["results"]
    assert [r["event"] for r in results] == ["ADD", "ADD"]
    first = results[0]
    assert first["data"] == {"memory": "I prefer green tea in the morning"}
    assert first["user_id"] == "alice"
    assert first["agent_id"] == "support"
    assert first["run_id"] == "r1"
    assert first["app_id"] is None
    assert first["metadata"] == {"topic": "drinks"}
    assert first["scope"] == "acme/bot"

    native = client.get(f"/v1/memories/{first['id']}", headers=auth(key)).json()
    assert native["scope"] == "acme/bot"
    assert native["subject"] == "alice"
    assert native["metadata"]["mem0_agent_id"] == "support"
    assert native["metadata"]["mem0_role"] == "user"
    assert native["provenance"]["source"] == {"client": "mem0", "api": "v3"}


def test_infer_true_stores_as_given_and_says_so(client: TestClient[Any], key: str) -> None:
    out = add(client, key, "likes hiking on weekends", infer=True, user_id="bob")
    assert out["inferred"] is False
    assert "infer=true is not supported" in out["message"]
    assert out["results"][0]["event"] == "ADD"
    assert out["results"][0]["memory"] == "likes hiking on weekends"


def test_entity_ids_inside_filters_are_accepted_on_add(client: TestClient[Any], key: str) -> None:
    item = add_one(client, key, "likes jazz", filters={"user_id": "carol", "app_id": "web"})
    assert item["user_id"] == "carol"
    assert item["app_id"] == "web"


def test_pii_is_pseudonymised_before_it_is_stored(client: TestClient[Any], key: str) -> None:
    item = add_one(
        client, key, "Emily Johnson's email is emily.johnson@example.com", user_id="emily"
    )
    assert "emily.johnson@example.com" not in item["memory"]
    assert item["classification"] == "redacted"
    fetched = client.get(f"/v1/memories/{item['id']}/", headers=token(key)).json()
    assert "emily.johnson@example.com" not in fetched["memory"]


def test_a_secret_is_held_not_stored_and_not_echoed(client: TestClient[Any], key: str) -> None:
    text = f"the deploy token is {GITHUB}"
    out = add(client, key, text, user_id="alice")
    assert GITHUB not in str(out)
    [held] = out["results"]
    assert held["event"] == "QUARANTINED"
    assert held["id"] is None
    assert held["data"] == {"memory": None}
    assert held["quarantine_id"]
    assert {f["kind"] for f in held["findings"]} == {"secret"}

    assert search(client, key, "deploy token", filters={"user_id": "*"}) == []
    assert get_all(client, key, {"user_id": "alice"})["count"] == 0
    quarantine = client.get("/v1/quarantine", headers=auth(ADMIN_KEY)).json()["items"]
    assert [q["id"] for q in quarantine] == [held["quarantine_id"]]


def test_an_ambiguous_write_scope_is_a_clear_400(client: TestClient[Any]) -> None:
    two = make_key(client, "two", ("acme/a/**", RW), ("acme/b", RW))
    response = client.post(
        "/v3/memories/add/",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers=token(two),
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert "exactly one memory:write grant" in response.json()["detail"]
    reader = make_key(client, "reader", ("acme/**", ["memory:read"]))
    response = client.post(
        "/v3/memories/add/",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers=token(reader),
    )
    assert response.status_code == 400
    admin = client.post(
        "/v3/memories/add/",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers=token(ADMIN_KEY),
    )
    assert admin.status_code == 400
    assert "'**'" in admin.json()["detail"]


def test_wildcard_and_unknown_filters_on_add_and_search_are_refused(
    client: TestClient[Any], key: str
) -> None:
    response = client.post(
        "/v3/memories/add/",
        json={"messages": "hi there", "user_id": "*"},
        headers=token(key),
    )
    assert response.status_code == 400
    for filters in (
        {"OR": [{"user_id": "a"}, {"user_id": "b"}]},
        {"created_at": {"gte": "2024-01-01"}},
        {"categories": {"in": ["x"]}},
        {"user_id": {"in": ["a"]}},
    ):
        response = client.post(
            "/v3/memories/search/",
            json={"query": "anything", "filters": filters},
            headers=token(key),
        )
        assert response.status_code == 400, filters
        assert response.json()["detail"]


def test_reserved_metadata_keys_are_refused(client: TestClient[Any], key: str) -> None:
    add(client, key, "x", status=400, metadata={"mem0_agent_id": "spoof"})


# -- reads ----------------------------------------------------------------------------------


def test_search_filters_by_entities(client: TestClient[Any], key: str) -> None:
    add_one(client, key, "Alice prefers green tea", user_id="alice", agent_id="a1")
    add_one(client, key, "Bob prefers black coffee", user_id="bob", agent_id="a2")
    hits = search(client, key, "what does she drink?", filters={"user_id": "alice"})
    assert [h["user_id"] for h in hits] == ["alice"]
    hit = hits[0]
    assert {"id", "memory", "score", "metadata", "created_at", "updated_at"} <= hit.keys()
    hits = search(client, key, "drink", filters={"AND": [{"agent_id": "a2"}]})
    assert [h["user_id"] for h in hits] == ["bob"]
    everyone = search(client, key, "drink", filters={"user_id": "*"}, top_k=5)
    assert {h["user_id"] for h in everyone} == {"alice", "bob"}
    legacy = client.post(
        "/v2/memories/search/",
        json={"query": "drink", "filters": {"user_id": "bob"}},
        headers=token(key),
    )
    assert legacy.status_code == 200
    assert [h["user_id"] for h in legacy.json()["results"]] == ["bob"]


def test_get_all_pages_newest_first(client: TestClient[Any], key: str) -> None:
    for n in range(5):
        add_one(client, key, f"note number {n}", user_id="alice", run_id="r")
    add_one(client, key, "someone else", user_id="bob")
    response = client.post(
        "/v3/memories/",
        json={"filters": {"AND": [{"user_id": "alice"}, {"run_id": "r"}]}},
        params={"page": 2, "page_size": 2},
        headers=token(key),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 5
    assert body["next"].endswith("/v3/memories/?page=3&page_size=2")
    assert body["previous"].endswith("/v3/memories/?page=1&page_size=2")
    assert [r["memory"] for r in body["results"]] == ["note number 2", "note number 1"]
    legacy = client.post("/v2/memories/", json={"filters": {"user_id": "bob"}}, headers=token(key))
    assert legacy.status_code == 200
    assert [r["memory"] for r in legacy.json()["results"]] == ["someone else"]
    assert get_all(client, key, {})["count"] == 6
    old = client.get("/v1/memories/", params={"user_id": "bob"}, headers=token(key))
    assert old.status_code == 200, old.text
    assert [r["memory"] for r in old.json()["results"]] == ["someone else"]
    old = client.post(
        "/v1/memories/search/", json={"query": "note", "user_id": "bob"}, headers=token(key)
    )
    assert old.status_code == 200, old.text
    assert [r["memory"] for r in old.json()["results"]] == ["someone else"]


def test_get_update_history_delete_by_id(client: TestClient[Any], key: str) -> None:
    item = add_one(client, key, "likes tea", user_id="alice", agent_id="a1")
    memory_id = item["id"]
    got = client.get(f"/v1/memories/{memory_id}/", headers=token(key))
    assert got.status_code == 200
    assert got.json()["memory"] == "likes tea"

    updated = client.put(
        f"/v1/memories/{memory_id}/",
        json={"text": "likes coffee", "metadata": {"k": "v"}, "expiration_date": "2099-12-31"},
        headers=token(key),
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["memory"] == "likes coffee"
    assert body["metadata"] == {"k": "v"}
    assert body["agent_id"] == "a1"  # entity ids survive a metadata replacement
    assert body["expiration_date"] == "2099-12-31"

    history = client.get(f"/v1/memories/{memory_id}/history/", headers=token(key))
    assert history.status_code == 200
    entries = history.json()
    assert [e["event"] for e in entries] == ["ADD", "UPDATE"]
    assert entries[1]["old_memory"] == "likes tea"
    assert entries[1]["new_memory"] == "likes coffee"
    assert all(e["memory_id"] == memory_id for e in entries)

    deleted = client.delete(f"/v1/memories/{memory_id}/", headers=token(key))
    assert deleted.status_code == 200
    assert "message" in deleted.json()
    gone = client.get(f"/v1/memories/{memory_id}/", headers=token(key))
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/json")
    assert gone.json()["detail"]


def test_a_secret_in_an_update_is_held_and_the_memory_unchanged(
    client: TestClient[Any], key: str
) -> None:
    item = add_one(client, key, "the deploy runbook lives in the wiki", user_id="ops")
    response = client.put(
        f"/v1/memories/{item['id']}/",
        json={"text": f"deploy with token {GITHUB}"},
        headers=token(key),
    )
    assert response.status_code == 202
    assert response.json()["event"] == "QUARANTINED"
    assert GITHUB not in response.text
    got = client.get(f"/v1/memories/{item['id']}/", headers=token(key)).json()
    assert got["memory"] == "the deploy runbook lives in the wiki"


def test_bad_ids_and_bodies_answer_json_detail(client: TestClient[Any], key: str) -> None:
    response = client.get("/v1/memories/not-a-uuid/", headers=token(key))
    assert response.status_code == 400
    assert response.json()["detail"] == "memory id must be a UUID"
    response = client.get(f"/v1/memories/{uuid.uuid4()}/history/", headers=token(key))
    assert response.status_code == 404
    assert response.json()["detail"]
    response = client.put(f"/v1/memories/{uuid.uuid4()}/", json={}, headers=token(key))
    assert response.status_code == 400


def test_delete_all_needs_a_filter_and_deletes_only_matches(
    client: TestClient[Any], key: str
) -> None:
    add_one(client, key, "alice one", user_id="alice")
    add_one(client, key, "alice two", user_id="alice", agent_id="x")
    add_one(client, key, "bob one", user_id="bob")
    response = client.delete("/v1/memories/", headers=token(key))
    assert response.status_code == 400
    response = client.delete(
        "/v1/memories/", params={"user_id": "alice", "agent_id": "x"}, headers=token(key)
    )
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == 1
    response = client.delete("/v1/memories/", params={"user_id": "alice"}, headers=token(key))
    assert response.json()["deleted"] == 1
    assert get_all(client, key, {"user_id": "*"})["count"] == 1
    response = client.delete("/v1/memories/", params={"user_id": "*"}, headers=token(key))
    assert response.json()["deleted"] == 1
    assert get_all(client, key, {})["count"] == 0


def test_legacy_v1_add_with_top_level_entity_ids(client: TestClient[Any], key: str) -> None:
    response = client.post(
        "/v1/memories/",
        json={
            "messages": [{"role": "user", "content": "prefers window seats"}],
            "user_id": "dave",
            "agent_id": "travel",
            "output_format": "v1.1",
            "version": "v2",
        },
        headers=token(key),
    )
    assert response.status_code == 200, response.text
    [item] = response.json()["results"]
    assert item["event"] == "ADD"
    assert item["user_id"] == "dave"
    assert item["agent_id"] == "travel"


def test_entities_and_entity_delete(client: TestClient[Any], key: str) -> None:
    add_one(client, key, "one", user_id="alice", agent_id="helper")
    add_one(client, key, "two", user_id="alice")
    add_one(client, key, "three", user_id="bob")
    response = client.get("/v1/entities/", headers=token(key))
    assert response.status_code == 200
    found = {(e["type"], e["name"]): e["total_memories"] for e in response.json()["results"]}
    assert found == {("user", "alice"): 2, ("user", "bob"): 1, ("agent", "helper"): 1}
    response = client.delete("/v2/entities/user/alice/", headers=token(key))
    assert response.status_code == 200
    assert response.json()["deleted"] == 2
    assert client.delete("/v2/entities/planet/mars/", headers=token(key)).status_code == 400
    assert get_all(client, key, {})["count"] == 1


def test_batch_update_and_delete(client: TestClient[Any], key: str) -> None:
    a = add_one(client, key, "first", user_id="alice")["id"]
    b = add_one(client, key, "second", user_id="alice")["id"]
    response = client.put(
        "/v1/batch/",
        json={"memories": [{"memory_id": a, "text": "first, revised"}, {"memory_id": b}]},
        headers=token(key),
    )
    assert response.status_code == 400  # an item with nothing to change
    response = client.put(
        "/v1/batch/",
        json={"memories": [{"memory_id": a, "text": "first, revised"}]},
        headers=token(key),
    )
    assert response.status_code == 200, response.text
    assert "message" in response.json()
    assert client.get(f"/v1/memories/{a}/", headers=token(key)).json()["memory"] == (
        "first, revised"
    )
    missing = str(uuid.uuid4())
    response = client.request(
        "DELETE",
        "/v1/batch/",
        json={"memories": [{"memory_id": a}, {"memory_id": missing}]},
        headers=token(key),
    )
    assert response.status_code == 404
    assert get_all(client, key, {})["count"] == 2  # checked before anything was deleted
    response = client.request(
        "DELETE",
        "/v1/batch/",
        json={"memories": [{"memory_id": a}, {"memory_id": b}]},
        headers=token(key),
    )
    assert response.status_code == 200
    assert get_all(client, key, {})["count"] == 0


# -- the native API is untouched --------------------------------------------------------------


def test_native_routes_keep_their_shapes(client: TestClient[Any], key: str) -> None:
    created = client.post(
        "/v1/memories",
        json={"scope": "acme/bot", "content": "native memory", "subject": "alice"},
        headers=auth(key),
    )
    assert created.status_code == 201
    memory_id = created.json()["memory"]["id"]
    for path in (f"/v1/memories/{memory_id}", f"/v1/memories/{memory_id}/"):
        native = client.get(path, headers=auth(key))
        assert native.status_code == 200
        assert native.json()["content"] == "native memory"
    history = client.get(f"/v1/memories/{memory_id}/history/", headers=auth(key))
    assert "items" in history.json()
    # The same memory through the mem0 dialect.
    assert client.get(f"/v1/memories/{memory_id}/", headers=token(key)).json()["memory"] == (
        "native memory"
    )
    listed = client.get("/v1/memories/", headers=auth(key))
    assert listed.status_code == 200
    assert "items" in listed.json()
    assert client.delete(f"/v1/memories/{memory_id}", headers=auth(key)).status_code == 204


# -- isolation --------------------------------------------------------------------------------


def test_two_keys_never_see_each_other_through_any_mem0_route(
    client: TestClient[Any],
) -> None:
    a = make_key(client, "tenant-a", ("acme/a/**", RW))
    b = make_key(client, "tenant-b", ("acme/b/**", RW))
    a_item = add_one(client, a, "tenant A's user likes green tea", user_id="alice", agent_id="x")
    b_item = add_one(client, b, "tenant B's user likes black coffee", user_id="alice", agent_id="x")
    b_id = b_item["id"]

    for flt in ({"user_id": "*"}, {"user_id": "alice"}, {"agent_id": "x"}, {}):
        hits = search(client, a, "what does the user drink?", filters=flt, top_k=100)
        assert {h["id"] for h in hits} == {a_item["id"]}, flt
        listing = get_all(client, a, flt)
        assert [r["id"] for r in listing["results"]] == [a_item["id"]], flt
        legacy = client.post("/v2/memories/", json={"filters": flt}, headers=token(a)).json()
        assert [r["id"] for r in legacy["results"]] == [a_item["id"]]
    legacy_search = client.post(
        "/v2/memories/search/", json={"query": "coffee", "user_id": "*"}, headers=token(a)
    ).json()
    assert b_id not in str(legacy_search)

    entities = client.get("/v1/entities/", headers=token(a)).json()["results"]
    assert {(e["type"], e["total_memories"]) for e in entities} == {("user", 1), ("agent", 1)}

    assert client.get(f"/v1/memories/{b_id}/", headers=token(a)).status_code == 404
    assert client.get(f"/v1/memories/{b_id}/history/", headers=token(a)).status_code == 404
    put = client.put(f"/v1/memories/{b_id}/", json={"text": "overwritten"}, headers=token(a))
    assert put.status_code == 404
    assert client.delete(f"/v1/memories/{b_id}/", headers=token(a)).status_code == 404
    batch = {"memories": [{"memory_id": b_id, "text": "overwritten"}]}
    assert client.put("/v1/batch/", json=batch, headers=token(a)).status_code == 404
    batch = {"memories": [{"memory_id": b_id}]}
    assert client.request("DELETE", "/v1/batch/", json=batch, headers=token(a)).status_code == (404)
    wiped = client.delete("/v1/memories/", params={"user_id": "*"}, headers=token(a))
    assert wiped.json()["deleted"] == 1
    gone = client.delete("/v2/entities/user/alice/", headers=token(a))
    assert gone.json()["deleted"] == 0

    # B's memory is intact and still B's alone.
    survivor = client.get(f"/v1/memories/{b_id}/", headers=token(b))
    assert survivor.status_code == 200
    assert survivor.json()["memory"] == "tenant B's user likes black coffee"
    assert get_all(client, b, {"user_id": "*"})["count"] == 1
    assert get_all(client, a, {"user_id": "*"})["count"] == 0
