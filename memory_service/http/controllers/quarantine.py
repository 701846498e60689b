"""/v1/quarantine: review (``quarantine:review``) and reveal (``quarantine:reveal``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from memory_service.http import schemas
from memory_service.http.controllers.memories import parse_id
from memory_service.http.requests import caller_of
from memory_service.services.review import AwaitingSecondReview, ReviewService, ReviewView


def item_out(view: ReviewView) -> schemas.QuarantineItemOut:
    item = view.item
    return schemas.QuarantineItemOut(
        id=str(item.id),
        scope=item.scope,
        status=item.status,
        reason=item.reason,
        findings=[
            schemas.QuarantineFindingOut(
                kind=f.kind, type=f.type, start=f.start, end=f.end, field=f.field
            )
            for f in item.findings
        ],
        preview=view.preview,
        created_at=item.created_at,
        created_by=item.provenance.created_by,
        memory_id=str(item.memory_id) if item.memory_id else None,
        subject=view.shown["subject"],
        tags=list(view.shown["tags"]),
        approvals=len(item.approvals),
        metadata=view.shown["metadata"],
        decided_by=item.decided_by,
        decided_at=item.decided_at,
        decision_reason=item.decision_reason,
    )


class QuarantineController(Controller):
    path = "/v1/quarantine"
    tags = ["quarantine"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", summary="Held writes in the scopes the key reviews (findings masked)")
    async def list_items(  # noqa: PLR0917 - Litestar binds query parameters by name
        self,
        request: Request[Any, Any, Any],
        review: NamedDependency[ReviewService],
        scope_filter: Annotated[str | None, QueryParameter(name="scope", max_length=520)] = None,
        status: Annotated[
            Literal["pending", "released", "rejected"] | None, QueryParameter()
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> schemas.QuarantinePage:
        views, next_cursor = await anyio.to_thread.run_sync(
            partial(
                review.list_items,
                caller_of(request),
                scope=scope_filter,
                status=status,
                limit=limit,
                cursor=cursor,
            )
        )
        return schemas.QuarantinePage(items=[item_out(v) for v in views], next_cursor=next_cursor)

    @get("/{item_id:str}", summary="One held write (findings masked)")
    async def show(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[str],
        review: NamedDependency[ReviewService],
    ) -> schemas.QuarantineItemOut:
        view = await anyio.to_thread.run_sync(review.show, caller_of(request), parse_id(item_id))
        return item_out(view)

    @post("/{item_id:str}/reveal", status_code=200, summary="The raw text (audited, with reason)")
    async def reveal(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[str],
        data: JSONBody[schemas.RevealRequest],
        review: NamedDependency[ReviewService],
    ) -> schemas.RevealOut:
        fields = await anyio.to_thread.run_sync(
            review.reveal, caller_of(request), parse_id(item_id), data.reason
        )
        return schemas.RevealOut(
            content=fields.get("content", ""),
            metadata=fields.get("metadata", {}),
            tags=list(fields.get("tags", [])),
            subject=fields.get("subject"),
            source=fields.get("source", {}),
        )

    @post("/{item_id:str}/release", status_code=201, summary="Release as a memory")
    async def release(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[str],
        data: JSONBody[schemas.ReleaseRequest],
        review: NamedDependency[ReviewService],
    ) -> Response[Any]:
        outcome = await anyio.to_thread.run_sync(
            review.release, caller_of(request), parse_id(item_id), data.mode, data.reason
        )
        if isinstance(outcome, AwaitingSecondReview):
            # Accepted, not done: the two-person rule wants another reviewer.
            return Response(
                schemas.AwaitingOut(id=str(outcome.item_id), approvals=outcome.approvals),
                status_code=202,
            )
        return Response(schemas.StoredOut(memory=schemas.memory_out(outcome)), status_code=201)

    @post("/{item_id:str}/reject", status_code=200, summary="Reject; the sealed text is destroyed")
    async def reject(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[str],
        data: JSONBody[schemas.RejectRequest],
        review: NamedDependency[ReviewService],
    ) -> schemas.QuarantineItemOut:
        view = await anyio.to_thread.run_sync(
            review.reject, caller_of(request), parse_id(item_id), data.reason
        )
        return item_out(view)
