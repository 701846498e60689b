"""``/mcp``: the memory tools over MCP's streamable HTTP, behind our key authentication.

Stateless JSON mode: every POST carries its own key and is served on its own, so any API
replica can answer any request (no session affinity) and no session outlives its key. The
key middleware has already authenticated the request before it reaches the MCP app; each
tool call reads the principal from that same ASGI scope and runs the ordinary services with
it, so grants, classification and audit are exactly those of the HTTP API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings

from memory_service import errors
from memory_service.domain.grants import Caller, Principal
from memory_service.domain.models import IndexQuery, Memory
from memory_service.http import schemas
from memory_service.http.controllers.memories import outcome_wire, parse_id
from memory_service.http.problems import describe
from memory_service.mcp.tools import Json, MemoryTools, ToolRefused, build_server
from memory_service.services import mem0_mapping
from memory_service.services.memories import MemoryService, NewMemory, Revision, WriteOutcome

PATH = "/mcp"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServiceTools(MemoryTools):
    """The tools on the in-process services, as one caller."""

    def __init__(self, memories: MemoryService, caller: Caller) -> None:
        self._memories = memories
        self._caller = caller

    async def _run(self, action: Callable[[], Json]) -> Json:
        try:
            return await anyio.to_thread.run_sync(action)
        except errors.MemoryServiceError as exc:
            raise ToolRefused(*describe(exc)) from None

    async def store(
        self,
        content: str,
        scope: str | None,
        tags: list[str] | None,
        metadata: Json | None,
        subject: str | None,
    ) -> Json:
        def action() -> Json:
            item = NewMemory(
                content=content,
                scope=scope or mem0_mapping.write_scope(self._caller.principal),
                metadata=metadata or {},
                tags=list(tags or ()),
                subject=subject,
                source={"via": "mcp"},
            )
            return _outcome(self._memories.remember(self._caller, item))

        return await self._run(action)

    async def find(
        self,
        query: str,
        scopes: list[str] | None,
        limit: int,
        tags_any: list[str] | None,
        subject: str | None,
    ) -> Json:
        def action() -> Json:
            hits = self._memories.recall(
                self._caller,
                query=query,
                scopes=scopes,
                filters=IndexQuery(tags_any=tuple(tags_any or ()), subject=subject),
                limit=limit,
                min_score=None,
            )
            return {"results": [{"memory": _memory(h.memory), "score": h.score} for h in hits]}

        return await self._run(action)

    async def list_page(
        self, scope: str | None, tag: str | None, limit: int, cursor: str | None
    ) -> Json:
        def action() -> Json:
            items, next_cursor = self._memories.list_memories(
                self._caller, scope=scope, tag=tag, subject=None, limit=limit, cursor=cursor
            )
            return {"items": [_memory(m) for m in items], "next_cursor": next_cursor}

        return await self._run(action)

    async def get(self, memory_id: str) -> Json:
        return await self._run(
            lambda: _memory(self._memories.get(self._caller, parse_id(memory_id)))
        )

    async def update(
        self,
        memory_id: str,
        content: str | None,
        tags: list[str] | None,
        metadata: Json | None,
    ) -> Json:
        def action() -> Json:
            change = Revision(content=content, metadata=metadata, tags=tags)
            outcome = self._memories.revise(self._caller, parse_id(memory_id), change, None)
            return _outcome(outcome)

        return await self._run(action)

    async def delete(self, memory_id: str) -> Json:
        def action() -> Json:
            self._memories.forget(self._caller, parse_id(memory_id))
            return {"status": "deleted", "id": memory_id}

        return await self._run(action)


def _memory(memory: Memory) -> Json:
    out: Json = msgspec.to_builtins(schemas.memory_out(memory))
    return out


def _outcome(outcome: WriteOutcome) -> Json:
    """The HTTP API's own answer (stored, or quarantined with what was found)."""
    out: Json = msgspec.to_builtins(outcome_wire(outcome)[1])
    return out


def _caller_of(ctx: Context) -> Caller:
    request = ctx.request_context.request
    scope = getattr(request, "scope", None) or {}
    principal = scope.get("user")
    if not isinstance(principal, Principal):
        # The key middleware guards /mcp; reaching here unauthenticated is a wiring bug.
        raise ToolRefused(401, "Unauthenticated")
    request_id = str(scope.get("state", {}).get("request_id") or "")
    return Caller(principal=principal, request_id=request_id)


def mcp_endpoint(
    memories: Callable[[], MemoryService], *, read_only: bool, host: str
) -> tuple[ASGIRouteHandler, Callable[[Litestar], Any]]:
    """The ``/mcp`` route handler and the lifespan that runs its session manager."""
    server = build_server(
        lambda ctx: ServiceTools(memories(), _caller_of(ctx)), read_only=read_only
    )
    # A browser page on another site could otherwise reach a loopback-bound server (DNS
    # rebinding); behind a proxy the Host is the proxy's, and the key is the guard.
    security = (
        TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
        if host in _LOOPBACK
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=security,
        host=host,
    )
    manager = server.session_manager

    @asgi(PATH, is_mount=True, copy_scope=True)
    async def mcp_app(scope: Scope, receive: Receive, send: Send) -> None:
        await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return mcp_app, lifespan
