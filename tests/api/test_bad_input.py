"""Bad input gets a 4xx problem+json, never echoes content, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import RW, auth, make_key

Client = TestClient[Any]
PLANTED = "zebra-canary-7731"


@pytest.fixture
def agent(client: Client) -> dict[str, str]:
    return auth(make_key(client, "agent", ("acme/**", RW)))


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": PLANTED}
    for _ in range(levels):
        value = {"n": value}
    return value


BAD_WRITES: list[tuple[str, Any]] = [
    ("empty content", {"content": "", "scope": "acme"}),
    ("blank content", {"content": "   ", "scope": "acme"}),
    ("oversized content", {"content": PLANTED + "x" * 32_769, "scope": "acme"}),
    ("missing scope", {"content": PLANTED}),
    ("upper-case scope", {"content": PLANTED, "scope": "ACME"}),
    ("dot-dot scope", {"content": PLANTED, "scope": "acme/.."}),
    ("empty segment", {"content": PLANTED, "scope": "a//b"}),
    ("too deep", {"content": PLANTED, "scope": "a/b/c/d/e/f/g/h/i"}),
    ("pattern as scope", {"content": PLANTED, "scope": "acme/**"}),
    ("metadata too deep", {"content": PLANTED, "scope": "acme", "metadata": deep(10)}),
    ("metadata too large", {"content": PLANTED, "scope": "acme", "metadata": {"x": "y" * 20_000}}),
    ("negative ttl", {"content": PLANTED, "scope": "acme", "ttl_seconds": -5}),
    ("zero ttl", {"content": PLANTED, "scope": "acme", "ttl_seconds": 0}),
    (
        "ttl and expires_at",
        {
            "content": PLANTED,
            "scope": "acme",
            "ttl_seconds": 5,
            "expires_at": "2999-01-01T00:00:00Z",
        },
    ),
    (
        "expires in the past",
        {"content": PLANTED, "scope": "acme", "expires_at": "2001-01-01T00:00:00Z"},
    ),
    ("unknown field", {"content": PLANTED, "scope": "acme", "owner": "me"}),
    ("tags not a list", {"content": PLANTED, "scope": "acme", "tags": "a"}),
    ("content not a string", {"content": 42, "scope": "acme"}),
    ("array body", [PLANTED]),
]


@pytest.mark.parametrize(("case", "body"), BAD_WRITES, ids=[c for c, _ in BAD_WRITES])
def test_bad_write_is_a_4xx_problem_that_stores_nothing(
    client: Client, agent: dict[str, str], case: str, body: Any
) -> None:
    response = client.post("/v1/memories", json=body, headers=agent)
    assert 400 <= response.status_code < 500, (case, response.status_code)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"title", "status"} <= problem.keys()
    assert PLANTED not in response.text
    assert client.get("/v1/memories", headers=agent).json()["items"] == []


def test_malformed_json_is_400(client: Client, agent: dict[str, str]) -> None:
    response = client.post(
        "/v1/memories",
        content=b'{"content": "' + PLANTED.encode() + b'", "scope": ',
        headers=agent | {"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert PLANTED not in response.text


def test_oversized_batch_is_refused(client: Client, agent: dict[str, str]) -> None:
    items = [{"content": f"{PLANTED} {i}", "scope": "acme"} for i in range(101)]
    response = client.post("/v1/memories/batch", json={"items": items}, headers=agent)
    assert 400 <= response.status_code < 500
    assert PLANTED not in response.text
    assert client.get("/v1/memories", headers=agent).json()["items"] == []


def test_oversized_body_is_413(client: Client, agent: dict[str, str]) -> None:
    response = client.post("/v1/memories", content=b"x" * (3 * 1024 * 1024), headers=agent)
    assert response.status_code == 413


def test_batch_with_one_forbidden_scope_stores_nothing(client: Client) -> None:
    headers = auth(make_key(client, "narrow", ("acme/globex/**", RW)))
    items = [
        {"content": "fine", "scope": "acme/globex"},
        {"content": "not mine", "scope": "acme/initech"},
    ]
    response = client.post("/v1/memories/batch", json={"items": items}, headers=headers)
    assert response.status_code == 403
    assert client.get("/v1/memories", headers=headers).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"limit": -1}, {"limit": "many"}, {"scope": "Bad Scope"}],
)
def test_bad_list_parameters(client: Client, agent: dict[str, str], params: Any) -> None:
    response = client.get("/v1/memories", params=params, headers=agent)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "x", "limit": 0},
        {"query": "x", "limit": 101},
        {"query": "x", "scopes": ["NOT VALID"]},
        {"query": "x", "scopes": []},
        {"query": "x", "filters": {"unknown": 1}},
    ],
)
def test_bad_search(client: Client, agent: dict[str, str], body: Any) -> None:
    response = client.post("/v1/memories/search", json=body, headers=agent)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_bad_if_match_and_unknown_patch_field(client: Client, agent: dict[str, str]) -> None:
    created = client.post(
        "/v1/memories", json={"content": "v1", "scope": "acme"}, headers=agent
    ).json()["memory"]
    url = f"/v1/memories/{created['id']}"
    assert (
        client.patch(url, json={"content": "v2"}, headers=agent | {"If-Match": "abc"}).status_code
        == 422
    )
    assert client.patch(url, json={"nope": 1}, headers=agent).status_code == 422
    assert client.patch(url, json={"content": ""}, headers=agent).status_code == 422
    assert client.get(url, headers=agent).json()["version"] == 1


def test_bad_key_requests(client: Client) -> None:
    from tests.api.conftest import ADMIN_KEY  # noqa: PLC0415

    admin = auth(ADMIN_KEY)
    for body in [
        {"name": "x", "grants": [{"scope": "acme", "permissions": ["memory:fly"]}]},
        {"name": "x", "grants": [{"scope": "ACME", "permissions": ["memory:read"]}]},
        {"name": "", "grants": []},
        {"name": "x", "grants": [], "expires_at": "2001-01-01T00:00:00Z"},
    ]:
        response = client.post("/v1/keys", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
    assert client.delete("/v1/keys/not-a-uuid", headers=admin).status_code == 422
    assert (
        client.delete("/v1/keys/00000000-0000-0000-0000-000000000001", headers=admin).status_code
        == 404
    )
