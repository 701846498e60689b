"""/v1/memories: thin adapters from the wire to :class:`MemoryService`."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from memory_service.domain.models import IndexQuery
from memory_service.errors import InvalidInput
from memory_service.http import schemas
from memory_service.http.auth import principal_of
from memory_service.http.blocking import blocking_calls
from memory_service.http.requests import caller_of
from memory_service.services.idempotency import IdempotencyService, Replayable
from memory_service.services.memories import (
    BatchOutcome,
    Held,
    MemoryService,
    NewMemory,
    Revision,
    Stored,
)

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]


def parse_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput("id must be a UUID") from None


def _new_memory(body: schemas.CreateMemory) -> NewMemory:
    return NewMemory(
        content=body.content,
        scope=body.scope,
        metadata=body.metadata,
        tags=body.tags,
        subject=body.subject,
        ttl_seconds=body.ttl_seconds,
        expires_at=body.expires_at,
        source=body.source,
    )


def outcome_wire(outcome: BatchOutcome) -> tuple[int, Any]:
    if isinstance(outcome, Stored):
        return 201, schemas.StoredOut(memory=schemas.memory_out(outcome.memory))
    findings = [schemas.HeldFinding(kind=f.kind, type=f.type) for f in outcome.findings]
    if isinstance(outcome, Held):
        return 202, schemas.QuarantinedOut(quarantine_id=outcome.quarantine_id, findings=findings)
    return 422, schemas.RejectedOut(findings=findings)


def _replayable(status: int, body: Any) -> Replayable:
    return Replayable(status, msgspec.to_builtins(body))


def _response(result: Replayable) -> Response[Any]:
    return Response(result.body, status_code=result.status_code)


class MemoryController(Controller):
    path = "/v1/memories"
    tags = ["memories"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=201, summary="Store a memory (classified first)")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.CreateMemory],
        memories: NamedDependency[MemoryService],
        idempotency: NamedDependency[IdempotencyService],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        caller = caller_of(request)

        def action() -> Replayable:
            return _replayable(*outcome_wire(memories.remember(caller, _new_memory(data))))

        fingerprint = b"POST /v1/memories\n" + await request.body()
        result = await anyio.to_thread.run_sync(
            idempotency.run, caller.principal.key_id, idempotency_key, fingerprint, action
        )
        return _response(result)

    @post("/batch", status_code=200, summary="Store up to 100 memories")
    async def create_batch(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.BatchCreate],
        memories: NamedDependency[MemoryService],
        idempotency: NamedDependency[IdempotencyService],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        caller = caller_of(request)

        def action() -> Replayable:
            outcomes = memories.remember_batch(caller, [_new_memory(i) for i in data.items])
            results = [outcome_wire(o)[1] for o in outcomes]
            return _replayable(200, schemas.BatchOut(results=results))

        fingerprint = b"POST /v1/memories/batch\n" + await request.body()
        result = await anyio.to_thread.run_sync(
            idempotency.run, caller.principal.key_id, idempotency_key, fingerprint, action
        )
        return _response(result)

    @get("/{memory_id:str}", summary="Get a memory")
    async def get_one(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> schemas.MemoryOut:
        memory = await blocking_calls(request).short(
            partial(memories.get, caller_of(request), parse_id(memory_id))
        )
        return schemas.memory_out(memory)

    @get("/", summary="List memories in readable scopes")
    async def list_page(  # noqa: PLR0917 - Litestar binds query parameters by name
        self,
        request: Request[Any, Any, Any],
        memories: NamedDependency[MemoryService],
        scope_filter: Annotated[str | None, QueryParameter(name="scope", max_length=520)] = None,
        # Bounded like the fields they match: a filter value is classified (see stored_forms).
        tag: Annotated[str | None, QueryParameter(min_length=1, max_length=128)] = None,
        subject: Annotated[str | None, QueryParameter(min_length=1, max_length=256)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> schemas.MemoryPage:
        items, next_cursor = await anyio.to_thread.run_sync(
            partial(
                memories.list_memories,
                caller_of(request),
                scope=scope_filter,
                tag=tag,
                subject=subject,
                limit=limit,
                cursor=cursor,
            )
        )
        return schemas.MemoryPage(
            items=[schemas.memory_out(m) for m in items], next_cursor=next_cursor
        )

    @patch("/{memory_id:str}", summary="Update a memory")
    async def update(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        data: JSONBody[schemas.PatchMemory],
        memories: NamedDependency[MemoryService],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match", required=False)] = None,
    ) -> Response[Any]:
        expected = _parse_if_match(if_match)
        change = Revision(
            content=None if data.content is msgspec.UNSET else data.content,
            metadata=None if data.metadata is msgspec.UNSET else data.metadata,
            tags=None if data.tags is msgspec.UNSET else data.tags,
            expires_at=data.expires_at if isinstance(data.expires_at, datetime) else None,
            clear_expiry=data.expires_at is None,
        )
        outcome = await anyio.to_thread.run_sync(
            memories.revise, caller_of(request), parse_id(memory_id), change, expected
        )
        status, body = outcome_wire(outcome)
        if isinstance(outcome, Stored):
            return Response(body.memory, status_code=200)
        return Response(body, status_code=status)

    @delete("/{memory_id:str}", status_code=204, summary="Soft-delete a memory")
    async def remove(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> None:
        await anyio.to_thread.run_sync(memories.forget, caller_of(request), parse_id(memory_id))

    @get("/{memory_id:str}/history", summary="Versions of a memory")
    async def history(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
    ) -> schemas.HistoryOut:
        versions = await anyio.to_thread.run_sync(
            memories.history, caller_of(request), parse_id(memory_id)
        )
        return schemas.HistoryOut(items=[schemas.history_item(v) for v in versions])

    @post("/{memory_id:str}/restore", status_code=200, summary="Undelete or roll back")
    async def restore(
        self,
        request: Request[Any, Any, Any],
        memory_id: FromPath[str],
        memories: NamedDependency[MemoryService],
        data: JSONBody[schemas.RestoreMemory | None] = None,
    ) -> schemas.MemoryOut:
        version = data.version if data else None
        memory = await anyio.to_thread.run_sync(
            memories.restore, caller_of(request), parse_id(memory_id), version
        )
        return schemas.memory_out(memory)

    @post("/search", status_code=200, summary="Semantic search in readable scopes")
    async def search(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.SearchRequest],
        memories: NamedDependency[MemoryService],
    ) -> schemas.SearchOut:
        filters = data.filters or schemas.SearchFilters()
        query = IndexQuery(
            tags_any=tuple(filters.tags_any or ()),
            subject=filters.subject,
            metadata=dict(filters.metadata or {}),
        )
        hits = await blocking_calls(request).short(
            partial(
                memories.recall,
                caller_of(request),
                query=data.query,
                scopes=data.scopes,
                filters=query,
                limit=data.limit,
                min_score=data.min_score,
            )
        )
        return schemas.SearchOut(
            results=[
                schemas.SearchHit(memory=schemas.memory_out(h.memory), score=h.score) for h in hits
            ]
        )


def _parse_if_match(raw: str | None) -> int | None:
    if raw is None:
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidInput("If-Match must be a version number")
    return int(text)


__all__ = ["MemoryController", "principal_of"]
