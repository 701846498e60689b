"""The asyncio client: the same calls as :class:`~memory_service.client.sync.MemoryClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from memory_service.client import calls as c
from memory_service.client import models as m
from memory_service.client.transport import client_options

T = TypeVar("T")


class AsyncMemoryClient:
    """``AsyncMemoryClient(url, api_key=...)``; use as ``async with``.

    Every method is one API call (shared/API.md) and raises :mod:`memory_service.client.errors`
    for a 4xx/5xx answer.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=transport, **client_options(base_url, api_key, timeout)
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, call: c.Call[T]) -> T:
        """Send any :mod:`~memory_service.client.calls` call (the methods below are shorthands)."""
        response = await self._http.request(
            call.method, call.path, params=call.query, json=call.body, headers=dict(call.headers)
        )
        return call.answer(response.status_code, response.content)

    # -- memories -----------------------------------------------------------------------------

    async def remember(
        self,
        content: str,
        scope: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[c.MemoryFields],
    ) -> m.WriteResult:
        """Store a memory (``metadata``, ``tags``, ``subject``, ``ttl_seconds``, ``expires_at``,
        ``source``); raises :class:`~.errors.RejectedByPolicy` if the scope's policy refuses it."""
        return await self.call(c.remember(c.memory_body(content, scope, **fields), idempotency_key))

    async def remember_batch(
        self, items: Sequence[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> list[m.BatchResult]:
        """Items built with :func:`~memory_service.client.calls.memory_body`."""
        return (await self.call(c.remember_batch(items, idempotency_key))).results

    async def get(self, memory_id: str) -> m.Memory:
        return await self.call(c.get(memory_id))

    async def list_memories(self, **query: Unpack[c.ListQuery]) -> m.MemoryPage:
        """One page (``scope``, ``tag``, ``subject``, ``limit``, ``cursor``)."""
        return await self.call(c.list_memories(**query))

    async def iter_memories(self, **query: Unpack[c.ListQuery]) -> AsyncIterator[m.Memory]:
        """Every memory the query matches, page after page."""
        while True:
            page = await self.call(c.list_memories(**query))
            for memory in page.items:
                yield memory
            if page.next_cursor is None:
                return
            query["cursor"] = page.next_cursor

    async def update(self, memory_id: str, **change: Unpack[c.Change]) -> m.WriteResult:
        """``content``, ``metadata``, ``tags``, ``expires_at``; ``if_match=version``."""
        return await self.call(c.update(memory_id, **change))

    async def delete(self, memory_id: str) -> None:
        await self.call(c.delete(memory_id))

    async def history(self, memory_id: str) -> list[m.HistoryItem]:
        return (await self.call(c.history(memory_id))).items

    async def restore(self, memory_id: str, version: int | None = None) -> m.Memory:
        return await self.call(c.restore(memory_id, version))

    async def search(self, query: str, **options: Unpack[c.SearchOptions]) -> list[m.SearchHit]:
        """``scopes``, ``tags_any``, ``subject``, ``metadata``, ``limit``, ``min_score``."""
        return (await self.call(c.search(query, **options))).results

    # -- keys ---------------------------------------------------------------------------------

    async def create_key(
        self,
        name: str,
        grants: Sequence[m.Grant | Mapping[str, Any]],
        expires_at: datetime | None = None,
    ) -> m.IssuedKey:
        return await self.call(c.create_key(name, grants, expires_at))

    async def list_keys(self) -> list[m.ApiKey]:
        return (await self.call(c.list_keys())).items

    async def revoke_key(self, key_id: str) -> None:
        await self.call(c.revoke_key(key_id))

    # -- quarantine ---------------------------------------------------------------------------

    async def quarantine(self, **query: Unpack[c.QuarantineQuery]) -> m.QuarantinePage:
        """``scope``, ``status``, ``limit``, ``cursor``; previews are masked."""
        return await self.call(c.quarantine_list(**query))

    async def quarantine_item(self, item_id: str) -> m.QuarantineItem:
        return await self.call(c.quarantine_get(item_id))

    async def reveal(self, item_id: str, reason: str) -> str:
        return await self.call(c.reveal(item_id, reason))

    async def release(self, item_id: str, mode: str, reason: str) -> m.ReleaseResult:
        return await self.call(c.release(item_id, mode, reason))

    async def reject(self, item_id: str, reason: str) -> m.QuarantineItem:
        return await self.call(c.reject(item_id, reason))

    # -- purge, erasure, receipts -------------------------------------------------------------

    async def purge(self, **selector: Unpack[c.Selector]) -> m.PurgeResult:
        """``scope``, ``subject``, ``tags_any``, ``created_before``, ``dry_run``."""
        return await self.call(c.purge(**selector))

    async def erase_subject(self, subject: str) -> m.Erasure:
        return await self.call(c.erase_subject(subject))

    async def receipt(self, receipt_id: str) -> m.Receipt:
        return await self.call(c.receipt(receipt_id))

    # -- audit, policies, retention, jobs, health ---------------------------------------------

    async def audit(self, **query: Unpack[c.AuditQuery]) -> m.AuditPage:
        return await self.call(c.audit(**query))

    async def audit_verify(self) -> m.AuditVerification:
        return await self.call(c.audit_verify())

    async def audit_export(self, after_seq: int = 0) -> list[m.AuditEvent]:
        return await self.call(c.audit_export(after_seq))

    async def list_policies(self) -> list[m.Policy]:
        return (await self.call(c.list_policies())).items

    async def put_policy(self, name: str, **policy: Unpack[c.PolicyFields]) -> m.Policy:
        return await self.call(c.put_policy(name, **policy))

    async def delete_policy(self, name: str) -> None:
        await self.call(c.delete_policy(name))

    async def list_retention_policies(self) -> list[m.RetentionPolicy]:
        return (await self.call(c.list_retention_policies())).items

    async def put_retention_policy(
        self, name: str, **policy: Unpack[c.RetentionFields]
    ) -> m.RetentionPolicy:
        return await self.call(c.put_retention_policy(name, **policy))

    async def delete_retention_policy(self, name: str) -> None:
        await self.call(c.delete_retention_policy(name))

    async def jobs(self) -> list[m.Job]:
        return (await self.call(c.jobs())).items

    async def job_runs(self, name: str | None = None, limit: int | None = None) -> list[m.JobRun]:
        return (await self.call(c.job_runs(name, limit))).items

    async def run_job(self, name: str) -> m.JobRun:
        return await self.call(c.run_job(name))

    async def ready(self) -> bool:
        return await self.call(c.ready())
