"""Two client scopes, two keys: nothing of one is visible to the other through any route."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import RW, auth, make_key

Client = TestClient[Any]


@pytest.fixture
def tenants(client: Client) -> dict[str, Any]:
    globex = auth(make_key(client, "globex-bot", ("acme/globex/**", RW)))
    initech = auth(make_key(client, "initech-bot", ("acme/initech/**", RW)))
    ids: dict[str, list[str]] = {"globex": [], "initech": []}
    for name, headers, scope in [
        ("globex", globex, "acme/globex"),
        ("initech", initech, "acme/initech/support"),
    ]:
        for i in range(4):
            r = client.post(
                "/v1/memories",
                json={
                    "content": f"{name} secret plan number {i} about tea",
                    "scope": scope,
                    "tags": ["plan"],
                    "subject": "shared-subject",
                },
                headers=headers,
            )
            assert r.status_code == 201
            ids[name].append(r.json()["memory"]["id"])
    return {"globex": globex, "initech": initech, "ids": ids}


def test_every_read_route_hides_the_other_scope(client: Client, tenants: dict[str, Any]) -> None:
    for me, other in [("globex", "initech"), ("initech", "globex")]:
        headers = tenants[me]
        for foreign in tenants["ids"][other]:
            assert client.get(f"/v1/memories/{foreign}", headers=headers).status_code == 404
            hist = client.get(f"/v1/memories/{foreign}/history", headers=headers)
            assert hist.status_code == 404
        listed: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/memories", params=params, headers=headers).json()
            listed += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(listed) == sorted(tenants["ids"][me])
        for query_filter in [
            {},
            {"filters": {"tags_any": ["plan"]}},
            {"filters": {"subject": "shared-subject"}},
        ]:
            found = client.post(
                "/v1/memories/search",
                json={"query": f"{other} secret plan", "limit": 100, **query_filter},
                headers=headers,
            ).json()["results"]
            assert {r["memory"]["id"] for r in found} <= set(tenants["ids"][me])
            assert found


def test_every_write_route_hides_the_other_scope(client: Client, tenants: dict[str, Any]) -> None:
    headers = tenants["globex"]
    foreign = tenants["ids"]["initech"][0]
    assert (
        client.patch(f"/v1/memories/{foreign}", json={"content": "x"}, headers=headers).status_code
        == 404
    )
    assert client.delete(f"/v1/memories/{foreign}", headers=headers).status_code == 404
    assert (
        client.post(
            f"/v1/memories/{foreign}/restore", json={"version": 1}, headers=headers
        ).status_code
        == 404
    )
    owner = tenants["initech"]
    assert client.get(f"/v1/memories/{foreign}", headers=owner).json()["version"] == 1


def test_explicit_foreign_scopes_are_403(client: Client, tenants: dict[str, Any]) -> None:
    headers = tenants["globex"]
    for scopes in [["acme/initech"], ["acme/globex", "acme/initech/support"], ["acme"]]:
        r = client.post(
            "/v1/memories/search", json={"query": "plan", "scopes": scopes}, headers=headers
        )
        assert r.status_code == 403, scopes
    assert (
        client.get("/v1/memories", params={"scope": "acme/initech"}, headers=headers).status_code
        == 403
    )
    write = client.post(
        "/v1/memories", json={"content": "x", "scope": "acme/initech"}, headers=headers
    )
    assert write.status_code == 403
    parent = client.post("/v1/memories", json={"content": "x", "scope": "acme"}, headers=headers)
    assert parent.status_code == 403


def test_a_subtree_request_is_narrowed_not_widened(client: Client, tenants: dict[str, Any]) -> None:
    r = client.post(
        "/v1/memories/search",
        json={"query": "plan", "scopes": ["acme/**"], "limit": 100},
        headers=tenants["globex"],
    )
    assert r.status_code == 200
    assert {x["memory"]["id"] for x in r.json()["results"]} == set(tenants["ids"]["globex"])


def test_read_only_key_cannot_write_or_delete(client: Client, tenants: dict[str, Any]) -> None:
    reader = auth(make_key(client, "reader", ("acme/globex/**", ["memory:read"])))
    mine = tenants["ids"]["globex"][0]
    assert client.get(f"/v1/memories/{mine}", headers=reader).status_code == 200
    assert (
        client.post(
            "/v1/memories", json={"content": "x", "scope": "acme/globex"}, headers=reader
        ).status_code
        == 403
    )
    assert client.delete(f"/v1/memories/{mine}", headers=reader).status_code == 403
    assert (
        client.patch(f"/v1/memories/{mine}", json={"content": "y"}, headers=reader).status_code
        == 403
    )


def test_write_only_key_reads_nothing(client: Client, tenants: dict[str, Any]) -> None:
    writer = auth(make_key(client, "writer", ("acme/globex/**", ["memory:write"])))
    mine = tenants["ids"]["globex"][0]
    assert client.get(f"/v1/memories/{mine}", headers=writer).status_code == 404
    assert client.get("/v1/memories", headers=writer).json()["items"] == []
    assert (
        client.post("/v1/memories/search", json={"query": "plan"}, headers=writer).json()["results"]
        == []
    )
