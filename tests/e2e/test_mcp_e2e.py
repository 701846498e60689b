"""The official ``mcp`` SDK's client against a started server: /mcp over streamable HTTP, and
``memory-service mcp`` over stdio. Same keys, scoping, classification and audit as the API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from memory_service.client import MemoryClient
from tests.e2e.conftest import ADMIN_KEY, RW, Server, create_key

pytestmark = pytest.mark.e2e

AWS = "AKIA" + "ZX3Q7PLM2RT4VB6N"  # split: not a secret in our repo
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYZQ3WXK9PLM"
READ_TOOLS = {"find_memories", "list_memories", "get_memory"}
ALL_TOOLS = READ_TOOLS | {"store_memory", "update_memory", "delete_memory"}


def over_http(server: Server, key: str, session: Callable[[Client], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            transport = streamable_http_client(f"{server.base_url}/mcp", http_client=http)
            async with Client(transport) as client:
                return await session(client)

    return asyncio.run(run())


def over_stdio(
    server: Server, key: str, session: Callable[[Client], Awaitable[Any]], *flags: str
) -> Any:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "memory_service.cli", "mcp", "--url", server.base_url, *flags],
        env={"MEMORY_API_KEY": key, "PATH": os.environ.get("PATH", "")},
    )

    async def run() -> Any:
        async with Client(params) as client:
            return await session(client)

    return asyncio.run(run())


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def call(client: Client, name: str, **arguments: Any) -> tuple[bool, Any]:
    result = await client.call_tool(name, arguments)
    if result.is_error:
        return True, result.content[0].text  # type: ignore[union-attr]
    return False, result.structured_content


async def alice_session(client: Client) -> dict[str, Any]:
    assert await tool_names(client) == ALL_TOOLS
    error, stored = await call(
        client, "store_memory", content="The build agent uses Python 3.11", tags=["ci"]
    )
    assert not error
    assert stored["status"] == "stored"
    memory = stored["memory"]
    assert memory["scope"] == "acme/alice"  # the key's single write grant
    error, found = await call(client, "find_memories", query="which python does CI use")
    assert not error
    assert found["results"][0]["memory"]["id"] == memory["id"]
    error, page = await call(client, "list_memories", tag="ci")
    assert [m["id"] for m in page["items"]] == [memory["id"]]
    error, got = await call(client, "get_memory", memory_id=memory["id"])
    assert got["content"] == "The build agent uses Python 3.11"
    error, updated = await call(
        client, "update_memory", memory_id=memory["id"], content="CI uses Python 3.12 now"
    )
    assert updated["memory"]["version"] == 2
    error, held = await call(client, "store_memory", content=f"ci deploy creds {AWS} {AWS_SECRET}")
    assert not error
    assert held["status"] == "quarantined"
    assert AWS not in str(held)
    error, found = await call(client, "find_memories", query="ci deploy creds", limit=100)
    assert all(AWS not in hit["memory"]["content"] for hit in found["results"])
    return memory


async def bob_session(client: Client, memory_id: str) -> None:
    error, found = await call(client, "find_memories", query="which python does CI use")
    assert not error
    assert memory_id not in {hit["memory"]["id"] for hit in found["results"]}
    error, text = await call(client, "get_memory", memory_id=memory_id)
    assert error
    assert "404" in text
    error, text = await call(client, "delete_memory", memory_id=memory_id)
    assert error
    assert "404" in text
    error, text = await call(client, "store_memory", content="sneaky", scope="acme/alice")
    assert error
    assert "403" in text
    error, text = await call(client, "find_memories", query="python", scopes=["acme/alice"])
    assert error
    assert "403" in text


def test_every_tool_over_http_within_the_keys_scopes(module_server: Server) -> None:
    alice = create_key(module_server, "mcp-alice", ("acme/alice/**", RW))
    bob = create_key(module_server, "mcp-bob", ("acme/bob/**", RW))

    memory = over_http(module_server, alice, alice_session)

    over_http(module_server, bob, partial(bob_session, memory_id=memory["id"]))

    async def alice_deletes(client: Client) -> None:
        error, _ = await call(client, "delete_memory", memory_id=memory["id"])
        assert not error
        error, text = await call(client, "get_memory", memory_id=memory["id"])
        assert error
        assert "404" in text

    over_http(module_server, alice, alice_deletes)

    with MemoryClient(module_server.base_url, ADMIN_KEY) as admin:
        trail = admin.audit(memory_id=memory["id"]).items
    assert [(e.actor, e.action) for e in trail if e.actor == "mcp-alice"][:3] == [
        ("mcp-alice", "memory.create"),
        ("mcp-alice", "memory.search"),
        ("mcp-alice", "memory.list"),
    ]
    assert ("mcp-bob", "memory.search") not in {(e.actor, e.action) for e in trail}


def test_http_endpoint_refuses_requests_without_a_valid_key(module_server: Server) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer msk_0000000000000000_nottherealsecret0000"}):
        response = httpx.post(
            f"{module_server.base_url}/mcp", json=hello, headers=headers | auth, timeout=30
        )
        assert response.status_code == 401
        assert "tools" not in response.text


def test_stdio_server_for_desktop_agents(module_server: Server) -> None:
    key = create_key(module_server, "mcp-desktop", ("acme/desk/**", RW))

    async def session(client: Client) -> None:
        assert await tool_names(client) == ALL_TOOLS
        error, stored = await call(
            client, "store_memory", content="The desk agent's release train leaves on Thursdays"
        )
        assert not error
        assert stored["memory"]["scope"] == "acme/desk"
        error, found = await call(
            client, "find_memories", query="when does the release train leave"
        )
        assert found["results"][0]["memory"]["id"] == stored["memory"]["id"]
        error, text = await call(client, "get_memory", memory_id="not-a-uuid")
        assert error
        assert "422" in text

    over_stdio(module_server, key, session, "--scope", "acme/desk")

    async def read_only(client: Client) -> None:
        assert await tool_names(client) == READ_TOOLS
        result = await client.call_tool("store_memory", {"content": "should not be stored"})
        assert result.is_error

    over_stdio(module_server, key, read_only, "--read-only")
    with MemoryClient(module_server.base_url, key) as desk:
        contents = [m.content for m in desk.iter_memories(scope="acme/desk")]
    assert contents == ["The desk agent's release train leaves on Thursdays"]
