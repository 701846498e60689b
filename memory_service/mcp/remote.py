"""The tools on a running service, through the typed client: the stdio server's backend.

A desktop agent starts ``memory-service mcp`` as a subprocess and talks MCP over its stdin and
stdout; every tool call becomes an HTTP call with the agent's key, so the server enforces the
grants, classifies and audits exactly as for any other client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import anyio
import msgspec

from memory_service.client import AsyncMemoryClient, errors
from memory_service.client import models as m
from memory_service.mcp.tools import Json, MemoryTools, ToolRefused, build_server

T = TypeVar("T")


class ClientTools(MemoryTools):
    def __init__(self, client: AsyncMemoryClient, default_scope: str | None = None) -> None:
        self._client = client
        self._default_scope = default_scope

    @staticmethod
    async def _run(call: Awaitable[T]) -> T:
        try:
            return await call
        except errors.ApiError as exc:
            raise ToolRefused(exc.status, exc.title, exc.detail) from None

    async def store(
        self,
        content: str,
        scope: str | None,
        tags: list[str] | None,
        metadata: Json | None,
        subject: str | None,
    ) -> Json:
        scope = scope or self._default_scope
        if not scope:
            raise ToolRefused(422, "Invalid input", "scope is required (or start with --scope)")
        given = _given(tags=tags, metadata=metadata, subject=subject)
        return _wire(await self._run(self._client.remember(content, scope, **given)))

    async def find(
        self,
        query: str,
        scopes: list[str] | None,
        limit: int,
        tags_any: list[str] | None,
        subject: str | None,
    ) -> Json:
        given = _given(scopes=scopes, tags_any=tags_any, subject=subject)
        hits = await self._run(self._client.search(query, limit=limit, **given))
        return {"results": [_wire(hit) for hit in hits]}

    async def list_page(
        self, scope: str | None, tag: str | None, limit: int, cursor: str | None
    ) -> Json:
        given = _given(scope=scope, tag=tag, cursor=cursor)
        return _wire(await self._run(self._client.list_memories(limit=limit, **given)))

    async def get(self, memory_id: str) -> Json:
        return _wire(await self._run(self._client.get(memory_id)))

    async def update(
        self,
        memory_id: str,
        content: str | None,
        tags: list[str] | None,
        metadata: Json | None,
    ) -> Json:
        given = _given(content=content, tags=tags, metadata=metadata)
        result = await self._run(self._client.update(memory_id, **given))
        if isinstance(result, m.Stored):
            return {"status": "stored", "memory": _wire(result.memory)}
        return _wire(result)

    async def delete(self, memory_id: str) -> Json:
        await self._run(self._client.delete(memory_id))
        return {"status": "deleted", "id": memory_id}


def _given(**values: Any) -> dict[str, Any]:
    """The arguments the agent gave: an omitted tool argument is absent from the API call."""
    return {name: value for name, value in values.items() if value is not None}


def _wire(value: msgspec.Struct) -> Json:
    out: Json = msgspec.to_builtins(value)
    return out


def serve_stdio(url: str, api_key: str, *, scope: str | None, read_only: bool) -> None:
    """Run the MCP server on stdin/stdout until the agent closes it."""

    # The SDK logs every HTTP request at INFO; on a desktop agent's stderr that is noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def main() -> None:
        async with AsyncMemoryClient(url, api_key) as client:
            tools = ClientTools(client, default_scope=scope)
            await build_server(lambda _ctx: tools, read_only=read_only).run_stdio_async()

    anyio.run(main)
