"""The memory tools, defined once for every transport.

Each tool is a thin call into a :class:`MemoryTools` backend; the backend enforces the key's
grants, classifies writes and audits reads exactly like the HTTP API does. A read-only server
leaves the writing tools out of the list entirely, so a client cannot even ask for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Protocol

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

SERVER_NAME = "memory-service"
INSTRUCTIONS = (
    "Long-term memory for this agent. Use find_memories before answering questions about the "
    "user or earlier work, and store_memory for durable facts worth keeping. Every write is "
    "checked: credentials are held for review and never stored searchable; personal data may "
    "be redacted. Scopes (like 'acme/support') are the only boundary: you see only the scopes "
    "your key was granted."
)
WRITING_TOOLS = frozenset({"store_memory", "update_memory", "delete_memory"})

Json = dict[str, Any]


class MemoryTools(Protocol):
    """What the tools need; answers are the HTTP API's JSON shapes (shared/API.md)."""

    async def store(
        self,
        content: str,
        scope: str | None,
        tags: list[str] | None,
        metadata: Json | None,
        subject: str | None,
    ) -> Json: ...

    async def find(
        self,
        query: str,
        scopes: list[str] | None,
        limit: int,
        tags_any: list[str] | None,
        subject: str | None,
    ) -> Json: ...

    async def list_page(
        self, scope: str | None, tag: str | None, limit: int, cursor: str | None
    ) -> Json: ...

    async def get(self, memory_id: str) -> Json: ...

    async def update(
        self,
        memory_id: str,
        content: str | None,
        tags: list[str] | None,
        metadata: Json | None,
    ) -> Json: ...

    async def delete(self, memory_id: str) -> Json: ...


class ToolRefused(ToolError):
    """An error the agent may read: status, title and a detail that never quotes content."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(f"{status} {title}" + (f": {detail}" if detail else ""))


Backend = Callable[[Context], MemoryTools]

ScopeArg = Annotated[
    str | None,
    Field(
        description="Where to store, e.g. 'acme/support'. Omit when the key writes to one scope."
    ),
]
TagsArg = Annotated[list[str] | None, Field(description="Short labels to filter by later.")]
MetadataArg = Annotated[dict[str, Any] | None, Field(description="Small JSON object.")]
IdArg = Annotated[str, Field(description="The memory id (a UUID) from an earlier result.")]


def build_server(backend: Backend, *, read_only: bool = False) -> MCPServer:
    """An MCP server whose tools call ``backend(ctx)``; ``read_only`` drops the writing tools."""
    # The SDK logs each failed tool call at INFO with its error text, and argument validation
    # errors can quote what the agent sent: keep its logger to warnings and above.
    logging.getLogger("mcp").setLevel(logging.WARNING)
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(description="Semantic search over the memories this key can read.")
    async def find_memories(
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        *,
        ctx: Context,
        scopes: Annotated[
            list[str] | None, Field(description="Only these scopes (default: all readable).")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
        tags_any: TagsArg = None,
        subject: Annotated[str | None, Field(description="Only about this data subject.")] = None,
    ) -> Json:
        return await backend(ctx).find(query, scopes, limit, tags_any, subject)

    @server.tool(description="List memories, newest first, one page at a time.")
    async def list_memories(
        ctx: Context,
        scope: Annotated[str | None, Field(description="Only this scope.")] = None,
        tag: Annotated[str | None, Field(description="Only memories with this tag.")] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Field(description="next_cursor of the last page.")] = None,
    ) -> Json:
        return await backend(ctx).list_page(scope, tag, limit, cursor)

    @server.tool(description="One memory by id.")
    async def get_memory(memory_id: IdArg, ctx: Context) -> Json:
        return await backend(ctx).get(memory_id)

    if read_only:
        return server

    @server.tool(
        description=(
            "Store a durable memory. The answer says 'stored' (possibly with personal data "
            "redacted) or 'quarantined' (held for human review: nothing was stored)."
        )
    )
    async def store_memory(
        content: Annotated[str, Field(description="The fact to remember, self-contained.")],
        *,
        ctx: Context,
        scope: ScopeArg = None,
        tags: TagsArg = None,
        metadata: MetadataArg = None,
        subject: Annotated[
            str | None, Field(description="Who this is about (a stable user id), for erasure.")
        ] = None,
    ) -> Json:
        return await backend(ctx).store(content, scope, tags, metadata, subject)

    @server.tool(description="Change a memory; new content is checked like a new write.")
    async def update_memory(
        memory_id: IdArg,
        ctx: Context,
        content: Annotated[str | None, Field(description="The new text.")] = None,
        tags: TagsArg = None,
        metadata: MetadataArg = None,
    ) -> Json:
        return await backend(ctx).update(memory_id, content, tags, metadata)

    @server.tool(description="Delete a memory (an admin can restore it during the undo window).")
    async def delete_memory(memory_id: IdArg, ctx: Context) -> Json:
        return await backend(ctx).delete(memory_id)

    return server
