"""Two keys on two client scopes, over real HTTP: neither sees anything of the other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import RW, Server, create_key, list_all, search_ids, store

pytestmark = pytest.mark.e2e


@dataclass
class Tenant:
    name: str
    scope: str
    client: httpx.Client
    ids: list[str]
    contents: list[str]


@pytest.fixture(scope="module")
def tenants(module_server: Server) -> Iterator[dict[str, Tenant]]:
    globex_key = create_key(module_server, "globex-bot", ("acme/globex/**", RW))
    initech_key = create_key(module_server, "initech-bot", ("acme/initech/**", RW))
    result: dict[str, Tenant] = {}
    clients: list[httpx.Client] = []
    try:
        for name, key, scope in [
            ("globex", globex_key, "acme/globex"),
            ("initech", initech_key, "acme/initech/support"),
        ]:
            client = module_server.client(key)
            clients.append(client)
            tenant = Tenant(name, scope, client, [], [])
            for i in range(5):
                content = f"{name} roadmap note number {i} about the tea supplier"
                memory = store(
                    client,
                    content,
                    scope,
                    tags=["plan", f"n{i}"],
                    subject="shared-subject",
                    metadata={"team": "ops"},
                )
                assert memory["scope"] == scope
                tenant.ids.append(memory["id"])
                tenant.contents.append(content)
            # A second version, so that history has something to leak.
            patched = client.patch(
                f"/v1/memories/{tenant.ids[0]}", json={"tags": ["plan", "patched"]}
            )
            assert patched.status_code == 200, patched.text
            result[name] = tenant
        yield result
    finally:
        for client in clients:
            client.close()


PAIRS = [("globex", "initech"), ("initech", "globex")]


@pytest.mark.parametrize(("me", "other"), PAIRS)
def test_foreign_ids_are_404_on_get_and_history(
    tenants: dict[str, Tenant], me: str, other: str
) -> None:
    mine, theirs = tenants[me], tenants[other]
    for foreign_id, foreign_content in zip(theirs.ids, theirs.contents, strict=True):
        response = mine.client.get(f"/v1/memories/{foreign_id}")
        assert response.status_code == 404, response.text
        assert foreign_content not in response.text
        history = mine.client.get(f"/v1/memories/{foreign_id}/history")
        assert history.status_code == 404, history.text
        assert foreign_content not in history.text
    # The owner does see them: the 404 is isolation, not a missing record.
    for own in mine.ids:
        assert mine.client.get(f"/v1/memories/{own}").json()["id"] == own
        own_history = mine.client.get(f"/v1/memories/{own}/history")
        assert own_history.status_code == 200
        assert own_history.json()["items"]
    # An unknown id is indistinguishable from a foreign one.
    unknown = mine.client.get(f"/v1/memories/{uuid.uuid4()}")
    foreign = mine.client.get(f"/v1/memories/{theirs.ids[0]}")
    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json()["title"] == foreign.json()["title"]


@pytest.mark.parametrize(("me", "other"), PAIRS)
@pytest.mark.parametrize("page_size", [2, 50])
def test_listing_pages_only_own_scope(
    tenants: dict[str, Tenant], me: str, other: str, page_size: int
) -> None:
    mine = tenants[me]
    listed = list_all(mine.client, page_size=page_size)
    ids = [m["id"] for m in listed]
    assert len(ids) == len(set(ids)), "a memory was listed twice across pages"
    assert sorted(ids) == sorted(mine.ids)
    assert all(m["scope"] == mine.scope for m in listed)
    # Filters that the other tenant's memories also match do not widen the listing.
    for params in [{"tag": "plan"}, {"subject": "shared-subject"}]:
        filtered = list_all(mine.client, page_size=page_size, **params)
        assert sorted(m["id"] for m in filtered) == sorted(mine.ids)
    assert [m["id"] for m in list_all(mine.client, tag="patched")] == [mine.ids[0]]


@pytest.mark.parametrize(("me", "other"), PAIRS)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"filters": {"tags_any": ["plan"]}},
        {"filters": {"subject": "shared-subject"}},
        {"filters": {"metadata": {"team": "ops"}}},
        {"filters": {"tags_any": ["n1", "n2"], "subject": "shared-subject"}},
        # Patterns wider than the grants are narrowed to them, never widened.
        {"scopes": ["acme/**"]},
        {"scopes": ["**"]},
    ],
)
def test_search_finds_only_own_scope(
    tenants: dict[str, Tenant], me: str, other: str, extra: dict[str, object]
) -> None:
    mine, theirs = tenants[me], tenants[other]
    # The other tenant's exact text is the best possible match for their memory: still not found.
    for query in [theirs.contents[1], f"{other} roadmap note"]:
        found = search_ids(mine.client, query, **extra)
        assert found, f"search {query!r} {extra} found nothing of the caller's own memories"
        assert set(found) <= set(mine.ids), f"search {query!r} {extra} leaked {found}"
    # Every filter above matches this one: its own text finds it first.
    assert search_ids(mine.client, mine.contents[2], **extra)[0] == mine.ids[2]


@pytest.mark.parametrize(("me", "other"), PAIRS)
def test_explicit_foreign_scopes_in_search_are_403(
    tenants: dict[str, Tenant], me: str, other: str
) -> None:
    mine, theirs = tenants[me], tenants[other]
    for scopes in [
        [theirs.scope],
        [f"{theirs.scope}/**"],
        [mine.scope, theirs.scope],
        ["acme"],
    ]:
        response = mine.client.post(
            "/v1/memories/search", json={"query": "roadmap note", "scopes": scopes}
        )
        assert response.status_code == 403, (scopes, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    listing = mine.client.get("/v1/memories", params={"scope": theirs.scope})
    assert listing.status_code == 403


@pytest.mark.parametrize(("me", "other"), PAIRS)
def test_writes_outside_the_grants_are_refused(
    tenants: dict[str, Tenant], me: str, other: str
) -> None:
    mine, theirs = tenants[me], tenants[other]
    for scope in [theirs.scope, "acme", "acme/elsewhere", "other"]:
        response = mine.client.post(
            "/v1/memories", json={"content": "an intruding note", "scope": scope}
        )
        assert response.status_code == 403, (scope, response.text)
        assert "intruding" not in response.text
    batch = mine.client.post(
        "/v1/memories/batch",
        json={
            "items": [
                {"content": "a fine note", "scope": mine.scope},
                {"content": "an intruding note", "scope": theirs.scope},
            ]
        },
    )
    assert batch.status_code == 403, batch.text
    foreign = theirs.ids[1]
    assert (
        mine.client.patch(f"/v1/memories/{foreign}", json={"content": "overwritten"}).status_code
        == 404
    )
    assert mine.client.delete(f"/v1/memories/{foreign}").status_code == 404
    assert (
        mine.client.post(f"/v1/memories/{foreign}/restore", json={"version": 1}).status_code == 404
    )
    # Nothing above changed anything: neither tenant gained a memory, the foreign one is intact.
    assert sorted(m["id"] for m in list_all(mine.client)) == sorted(mine.ids)
    assert sorted(m["id"] for m in list_all(theirs.client)) == sorted(theirs.ids)
    untouched = theirs.client.get(f"/v1/memories/{foreign}").json()
    assert untouched["content"] == theirs.contents[1]
    assert untouched["version"] == 1
