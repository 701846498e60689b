"""/v1/audit: the hash-chained trail, its verification and a JSON-lines export (audit:read)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

import anyio.to_thread
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from memory_service.domain.audit import AuditEvent, AuditQuery
from memory_service.http import schemas
from memory_service.http.requests import caller_of
from memory_service.services.audit import AuditService

_EXPORT_BATCH = 500


def _out(event: AuditEvent) -> schemas.AuditEventOut:
    entry = event.entry
    return schemas.AuditEventOut(
        seq=event.seq,
        at=event.at,
        actor=entry.actor,
        actor_id=entry.actor_id,
        action=entry.action,
        scope=entry.scope,
        memory_ids=list(entry.memory_ids),
        decision=entry.decision,
        details=entry.details,
        request_id=entry.request_id,
        hash=event.hash,
        prev_hash=event.prev_hash,
    )


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", summary="Audit events in the scopes the key audits")
    async def list_events(  # noqa: PLR0917 - Litestar binds query parameters by name
        self,
        request: Request[Any, Any, Any],
        audit: NamedDependency[AuditService],
        actor: Annotated[str | None, QueryParameter(max_length=256)] = None,
        action: Annotated[str | None, QueryParameter(max_length=64)] = None,
        memory_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        scope_filter: Annotated[str | None, QueryParameter(name="scope", max_length=520)] = None,
        since: FromQuery[datetime | None] = None,
        order: FromQuery[Literal["asc", "desc"]] = "asc",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> schemas.AuditPage:
        query = AuditQuery(
            actor=actor, action=action, memory_id=memory_id, scope=scope_filter, since=since
        )
        events, next_cursor = await anyio.to_thread.run_sync(
            partial(
                audit.query,
                caller_of(request),
                query,
                limit=limit,
                cursor=cursor,
                newest_first=order == "desc",
            )
        )
        return schemas.AuditPage(items=[_out(e) for e in events], next_cursor=next_cursor)

    @get("/verify", summary="Recompute the chain; the first bad sequence number if any")
    async def verify(
        self, request: Request[Any, Any, Any], audit: NamedDependency[AuditService]
    ) -> schemas.AuditVerification:
        result = await anyio.to_thread.run_sync(audit.verify, caller_of(request))
        return schemas.AuditVerification(
            ok=result.ok, events=result.events, first_bad_seq=result.first_bad_seq
        )

    @get(
        "/export",
        summary="Every event after after_seq, as JSON lines (for a SIEM)",
        media_type="application/x-ndjson",
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        audit: NamedDependency[AuditService],
        after_seq: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Stream:
        events = await anyio.to_thread.run_sync(audit.export, caller_of(request), after_seq)

        def next_lines() -> str:
            lines = []
            for event in events:
                lines.append(json.dumps(event.to_json(), separators=(",", ":")) + "\n")
                if len(lines) >= _EXPORT_BATCH:
                    break
            return "".join(lines)

        async def body() -> AsyncIterator[str]:
            while chunk := await anyio.to_thread.run_sync(next_lines):
                yield chunk

        return Stream(body(), media_type="application/x-ndjson")
