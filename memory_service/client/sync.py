"""The blocking client: one keep-alive connection pool per instance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from memory_service.client import calls as c
from memory_service.client import models as m
from memory_service.client.transport import client_options

T = TypeVar("T")


class MemoryClient:
    """``MemoryClient("http://127.0.0.1:8080", api_key="msk_...")``; use as a context manager.

    Every method is one API call (shared/API.md) and raises :mod:`memory_service.client.errors`
    for a 4xx/5xx answer.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(transport=transport, **client_options(base_url, api_key, timeout))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, call: c.Call[T]) -> T:
        """Send any :mod:`~memory_service.client.calls` call (the methods below are shorthands)."""
        response = self._http.request(
            call.method, call.path, params=call.query, json=call.body, headers=dict(call.headers)
        )
        return call.answer(response.status_code, response.content)

    # -- memories -----------------------------------------------------------------------------

    def remember(
        self,
        content: str,
        scope: str,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[c.MemoryFields],
    ) -> m.WriteResult:
        """Store a memory (``metadata``, ``tags``, ``subject``, ``ttl_seconds``, ``expires_at``,
        ``source``); raises :class:`~.errors.RejectedByPolicy` if the scope's policy refuses it."""
        return self.call(c.remember(c.memory_body(content, scope, **fields), idempotency_key))

    def remember_batch(
        self, items: Sequence[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> list[m.BatchResult]:
        """Items built with :func:`~memory_service.client.calls.memory_body`."""
        return self.call(c.remember_batch(items, idempotency_key)).results

    def get(self, memory_id: str) -> m.Memory:
        return self.call(c.get(memory_id))

    def list_memories(self, **query: Unpack[c.ListQuery]) -> m.MemoryPage:
        """One page (``scope``, ``tag``, ``subject``, ``limit``, ``cursor``)."""
        return self.call(c.list_memories(**query))

    def iter_memories(self, **query: Unpack[c.ListQuery]) -> Iterator[m.Memory]:
        """Every memory the query matches, page after page."""
        while True:
            page = self.call(c.list_memories(**query))
            yield from page.items
            if page.next_cursor is None:
                return
            query["cursor"] = page.next_cursor

    def update(self, memory_id: str, **change: Unpack[c.Change]) -> m.WriteResult:
        """``content``, ``metadata``, ``tags``, ``expires_at``; ``if_match=version``."""
        return self.call(c.update(memory_id, **change))

    def delete(self, memory_id: str) -> None:
        self.call(c.delete(memory_id))

    def history(self, memory_id: str) -> list[m.HistoryItem]:
        return self.call(c.history(memory_id)).items

    def restore(self, memory_id: str, version: int | None = None) -> m.Memory:
        return self.call(c.restore(memory_id, version))

    def search(self, query: str, **options: Unpack[c.SearchOptions]) -> list[m.SearchHit]:
        """``scopes``, ``tags_any``, ``subject``, ``metadata``, ``limit``, ``min_score``."""
        return self.call(c.search(query, **options)).results

    # -- keys ---------------------------------------------------------------------------------

    def create_key(
        self,
        name: str,
        grants: Sequence[m.Grant | Mapping[str, Any]],
        expires_at: datetime | None = None,
    ) -> m.IssuedKey:
        return self.call(c.create_key(name, grants, expires_at))

    def list_keys(self) -> list[m.ApiKey]:
        return self.call(c.list_keys()).items

    def revoke_key(self, key_id: str) -> None:
        self.call(c.revoke_key(key_id))

    # -- quarantine ---------------------------------------------------------------------------

    def quarantine(self, **query: Unpack[c.QuarantineQuery]) -> m.QuarantinePage:
        """``scope``, ``status``, ``limit``, ``cursor``; previews are masked."""
        return self.call(c.quarantine_list(**query))

    def quarantine_item(self, item_id: str) -> m.QuarantineItem:
        return self.call(c.quarantine_get(item_id))

    def reveal(self, item_id: str, reason: str) -> str:
        return self.call(c.reveal(item_id, reason))

    def release(self, item_id: str, mode: str, reason: str) -> m.ReleaseResult:
        return self.call(c.release(item_id, mode, reason))

    def reject(self, item_id: str, reason: str) -> m.QuarantineItem:
        return self.call(c.reject(item_id, reason))

    # -- purge, erasure, receipts -------------------------------------------------------------

    def purge(self, **selector: Unpack[c.Selector]) -> m.PurgeResult:
        """``scope``, ``subject``, ``tags_any``, ``created_before``, ``dry_run``."""
        return self.call(c.purge(**selector))

    def erase_subject(self, subject: str) -> m.Erasure:
        return self.call(c.erase_subject(subject))

    def receipt(self, receipt_id: str) -> m.Receipt:
        return self.call(c.receipt(receipt_id))

    # -- audit, policies, retention, jobs, health ---------------------------------------------

    def audit(self, **query: Unpack[c.AuditQuery]) -> m.AuditPage:
        return self.call(c.audit(**query))

    def audit_verify(self) -> m.AuditVerification:
        return self.call(c.audit_verify())

    def audit_export(self, after_seq: int = 0) -> list[m.AuditEvent]:
        return self.call(c.audit_export(after_seq))

    def list_policies(self) -> list[m.Policy]:
        return self.call(c.list_policies()).items

    def put_policy(self, name: str, **policy: Unpack[c.PolicyFields]) -> m.Policy:
        return self.call(c.put_policy(name, **policy))

    def delete_policy(self, name: str) -> None:
        self.call(c.delete_policy(name))

    def list_retention_policies(self) -> list[m.RetentionPolicy]:
        return self.call(c.list_retention_policies()).items

    def put_retention_policy(
        self, name: str, **policy: Unpack[c.RetentionFields]
    ) -> m.RetentionPolicy:
        return self.call(c.put_retention_policy(name, **policy))

    def delete_retention_policy(self, name: str) -> None:
        self.call(c.delete_retention_policy(name))

    def jobs(self) -> list[m.Job]:
        return self.call(c.jobs()).items

    def job_runs(self, name: str | None = None, limit: int | None = None) -> list[m.JobRun]:
        return self.call(c.job_runs(name, limit)).items

    def run_job(self, name: str) -> m.JobRun:
        return self.call(c.run_job(name))

    def ready(self) -> bool:
        return self.call(c.ready())
