from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from memory_service.app import Runtime
from tests.api.conftest import ADMIN_KEY, auth, make_key

Client = TestClient[Any]


def test_put_list_delete_policy(client: Client) -> None:
    admin = auth(ADMIN_KEY)
    body = {
        "scope": "acme/globex/**",
        "secret": "reject",
        "pii": "redact",
        "pii_types": {"EMAIL_ADDRESS": "allow"},
        "min_score": 0.5,
    }
    put = client.put("/v1/policies/globex-strict", json=body, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["secret"] == "reject"
    assert put.json()["injection"] == "quarantine"  # default when omitted
    assert put.json()["updated_by"] == "bootstrap-admin"
    listed = client.get("/v1/policies", headers=admin).json()["items"]
    assert [p["name"] for p in listed] == ["globex-strict"]
    assert client.delete("/v1/policies/globex-strict", headers=admin).status_code == 204
    assert client.get("/v1/policies", headers=admin).json()["items"] == []
    assert client.delete("/v1/policies/globex-strict", headers=admin).status_code == 404


def test_most_specific_policy_wins(client: Client, runtime: Runtime) -> None:
    admin = auth(ADMIN_KEY)
    client.put("/v1/policies/org", json={"scope": "acme/**", "pii": "redact"}, headers=admin)
    client.put(
        "/v1/policies/client", json={"scope": "acme/globex/**", "pii": "allow"}, headers=admin
    )
    client.put("/v1/policies/exact", json={"scope": "acme/globex", "pii": "reject"}, headers=admin)
    assert runtime.policies.resolve("acme/initech").pii.value == "redact"
    assert runtime.policies.resolve("acme/globex/bot").pii.value == "allow"
    assert runtime.policies.resolve("acme/globex").pii.value == "reject"
    assert runtime.policies.resolve("other").pii.value == "pseudonymize"


def test_policy_admin_is_limited_to_its_scopes(client: Client) -> None:
    admin = auth(ADMIN_KEY)
    client.put("/v1/policies/initech", json={"scope": "acme/initech/**"}, headers=admin)
    globex_admin = auth(make_key(client, "globex-admin", ("acme/globex/**", ["policy:admin"])))
    ok = client.put("/v1/policies/mine", json={"scope": "acme/globex/bot"}, headers=globex_admin)
    assert ok.status_code == 200
    for scope in ["acme/**", "acme/initech", "**"]:
        r = client.put("/v1/policies/wide", json={"scope": scope}, headers=globex_admin)
        assert r.status_code == 403, scope
    hijack = client.put("/v1/policies/initech", json={"scope": "acme/globex"}, headers=globex_admin)
    assert hijack.status_code == 403
    assert [
        p["name"] for p in client.get("/v1/policies", headers=globex_admin).json()["items"]
    ] == ["mine"]
    assert client.delete("/v1/policies/initech", headers=globex_admin).status_code == 404
    agent = auth(make_key(client, "agent", ("acme/**", ["memory:read", "memory:write"])))
    assert client.get("/v1/policies", headers=agent).status_code == 403


def test_bad_policies_are_422(client: Client) -> None:
    admin = auth(ADMIN_KEY)
    for name, body in [
        ("x", {"scope": "acme", "secret": "shrug"}),
        ("x", {"scope": "ACME"}),
        ("x", {"scope": "acme", "pii_types": {"person": "allow"}}),
        ("x", {"scope": "acme", "min_score": 2}),
        ("Bad Name", {"scope": "acme"}),
        ("x", {"scope": "acme", "extra": 1}),
    ]:
        r = client.put(f"/v1/policies/{name}", json=body, headers=admin)
        assert r.status_code == 422, (name, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/policies", headers=admin).json()["items"] == []
