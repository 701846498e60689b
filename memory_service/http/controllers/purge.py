"""/v1/purge, /v1/subjects/{subject}, /v1/receipts/{id}: permission ``purge``."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from memory_service.domain.models import PurgeSelector, Receipt
from memory_service.http import schemas
from memory_service.http.controllers.memories import parse_id
from memory_service.http.requests import caller_of
from memory_service.services.erasure import ErasureService


def receipt_out(receipt: Receipt) -> schemas.ReceiptOut:
    return schemas.ReceiptOut(
        id=str(receipt.id),
        kind=receipt.kind,
        created_at=receipt.created_at,
        actor=receipt.actor,
        request_id=receipt.request_id,
        selector=receipt.selector,
        dry_run=receipt.dry_run,
        counts=receipt.counts,
        memory_ids=list(receipt.memory_ids),
        quarantine_ids=list(receipt.quarantine_ids),
        verified_at=receipt.verified_at,
        compacted_at=receipt.compacted_at,
        physical=receipt.physical,
    )


class PurgeController(Controller):
    tags = ["purge"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/v1/purge", status_code=200, summary="Hard-delete by selector (or count: dry_run)")
    async def purge(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[schemas.PurgeRequest],
        erasure: NamedDependency[ErasureService],
    ) -> schemas.PurgeOut:
        selector = PurgeSelector(
            scope=data.scope,
            subject=data.subject,
            tags_any=tuple(data.tags_any or ()),
            created_before=data.created_before,
        )
        receipt = await anyio.to_thread.run_sync(
            partial(erasure.purge, caller_of(request), selector, dry_run=data.dry_run)
        )
        matched = len(receipt.memory_ids) + len(receipt.quarantine_ids)
        return schemas.PurgeOut(
            matched=matched,
            purged=0
            if receipt.dry_run
            else receipt.counts["memories"] + receipt.counts["quarantine"],
            receipt_id=str(receipt.id),
            counts=receipt.counts,
            dry_run=receipt.dry_run,
            verified_at=receipt.verified_at,
            physical=receipt.physical,
        )

    @delete(
        "/v1/subjects/{subject:str}",
        status_code=200,
        summary="Erase every trace of a data subject in the key's purge scopes",
    )
    async def erase_subject(
        self,
        request: Request[Any, Any, Any],
        subject: FromPath[str],
        erasure: NamedDependency[ErasureService],
    ) -> schemas.ErasureOut:
        receipt = await anyio.to_thread.run_sync(erasure.erase_subject, caller_of(request), subject)
        return schemas.ErasureOut(
            purged=receipt.counts,
            receipt_id=str(receipt.id),
            verified_at=receipt.verified_at,
            physical=receipt.physical,
        )

    @get("/v1/receipts/{receipt_id:str}", summary="A purge or erasure receipt (purge, audit:read)")
    async def receipt(
        self,
        request: Request[Any, Any, Any],
        receipt_id: FromPath[str],
        erasure: NamedDependency[ErasureService],
    ) -> schemas.ReceiptOut:
        found = await anyio.to_thread.run_sync(
            erasure.receipt, caller_of(request), parse_id(receipt_id)
        )
        return receipt_out(found)
