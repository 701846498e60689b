"""``/mcp`` through Litestar's test client: wiring, authentication and the read-only setting.
(The SDK's own client drives every tool against a started server in tests/e2e/test_mcp_e2e.py.)"""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from memory_service.app import Runtime, create_app
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
# The server binds to loopback in tests, so /mcp accepts loopback Host headers only (DNS
# rebinding protection); the test client's default host would be refused with 421.
LOCAL = "http://127.0.0.1:8080"


def rpc(client: TestClient[Any], key: str | None, method: str, **params: Any) -> Any:
    headers = MCP_HEADERS | (auth(key) if key else {})
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return client.post("/mcp", json=body, headers=headers)


def tool_names(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {tool["name"] for tool in response.json()["result"]["tools"]}


def test_tools_need_a_key_and_read_only_drops_the_writers(runtime: Runtime) -> None:
    with TestClient(app=create_app(runtime=runtime), base_url=LOCAL) as client:
        assert rpc(client, None, "tools/list").status_code == 401
        assert tool_names(rpc(client, ADMIN_KEY, "tools/list")) == {
            "store_memory",
            "find_memories",
            "list_memories",
            "get_memory",
            "update_memory",
            "delete_memory",
        }
    read_only = runtime.settings.model_copy(update={"mcp_read_only": True})
    with TestClient(app=create_app(read_only, runtime=runtime), base_url=LOCAL) as client:
        assert tool_names(rpc(client, ADMIN_KEY, "tools/list")) == {
            "find_memories",
            "list_memories",
            "get_memory",
        }
        refused = rpc(
            client, ADMIN_KEY, "tools/call", name="store_memory", arguments={"content": "x"}
        )
        assert refused.status_code == 200
        assert refused.json()["result"]["isError"] is True
    with TestClient(app=create_app(runtime=runtime)) as client:
        rebound = rpc(client, ADMIN_KEY, "tools/list")  # Host: testserver.local
        assert rebound.status_code == 421
    disabled = runtime.settings.model_copy(update={"mcp_enabled": False})
    with TestClient(app=create_app(disabled, runtime=runtime), base_url=LOCAL) as client:
        assert rpc(client, ADMIN_KEY, "tools/list").status_code == 404


def test_a_tool_call_is_the_keys_own_api_call(runtime: Runtime) -> None:
    with TestClient(app=create_app(runtime=runtime), base_url=LOCAL) as client:
        writer = make_key(client, "mcp-writer", ("acme/w/**", RW))
        reader = make_key(client, "mcp-reader", ("acme/r/**", ["memory:read"]))
        stored = rpc(
            client,
            writer,
            "tools/call",
            name="store_memory",
            arguments={"content": "The on-call rota changes on Mondays", "tags": ["ops"]},
        ).json()["result"]["structuredContent"]
        assert stored["status"] == "stored"
        assert stored["memory"]["scope"] == "acme/w"
        denied = rpc(
            client,
            reader,
            "tools/call",
            name="store_memory",
            arguments={"content": "A note", "scope": "acme/r"},
        ).json()["result"]
        assert denied["isError"] is True
        assert "403" in denied["content"][0]["text"]
        hidden = rpc(
            client,
            reader,
            "tools/call",
            name="get_memory",
            arguments={"memory_id": stored["memory"]["id"]},
        ).json()["result"]
        assert hidden["isError"] is True
        assert "404" in hidden["content"][0]["text"]
