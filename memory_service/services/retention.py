"""Retention, service side: policies over the API, what reads may show, and the store the
``retention`` package's jobs purge through."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, cast
from uuid import UUID

from memory_service.domain.audit import AuditEntry, audit_entry
from memory_service.domain.grants import Caller, Permission, Principal
from memory_service.domain.models import Receipt
from memory_service.domain.ports import ErasureStore, MemoryIndex
from memory_service.domain.scopes import ScopePattern
from memory_service.errors import InvalidInput, NotFound, ScopeDenied
from memory_service.services.free_text import Screen
from memory_service.services.policies import administers
from retention.errors import RetentionError
from retention.policies import AppliesTo, RetentionPolicy
from retention.selection import MemoryHead, QuarantineHead, visible_cutoff

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,127}")
_INDEX_BATCH = 500
# Reads consult the policies on every request; a second-long cache keeps that off the
# database while a change still takes effect (on every replica) within a second.
_POLICY_CACHE_SECONDS = 1.0


class RetentionPolicyStore(Protocol):
    def list(self) -> list[RetentionPolicy]: ...

    def put(
        self, policy: RetentionPolicy, updated_by: str, audit: Sequence[AuditEntry]
    ) -> None: ...

    def delete(self, name: str, audit: Sequence[AuditEntry]) -> bool: ...


class RetentionCandidates(Protocol):
    def memory_heads(self, *, after: UUID | None, limit: int) -> list[MemoryHead]: ...

    def quarantine_heads(self, *, after: UUID | None, limit: int) -> list[QuarantineHead]: ...


class RetentionPolicies:
    """The policies, cached briefly for the read path, administered per scope pattern."""

    def __init__(
        self, store: RetentionPolicyStore, clock: Callable[[], datetime], *, screen: Screen
    ) -> None:
        self._store = store
        self._clock = clock
        self._screen = screen  # a policy's name is in the audit trail
        self._lock = threading.Lock()
        self._cached: tuple[float, list[RetentionPolicy]] | None = None

    def current(self) -> list[RetentionPolicy]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < _POLICY_CACHE_SECONDS:
                return self._cached[1]
        policies = self._store.list()
        with self._lock:
            self._cached = (time.monotonic(), policies)
        return policies

    def cutoff(self, scope: str, now: datetime) -> datetime | None:
        """Memories of ``scope`` created at or before this are past retention: invisible."""
        return visible_cutoff(scope, self.current(), now)

    def list_for(self, principal: Principal) -> list[RetentionPolicy]:
        return [p for p in self.current() if administers(principal, p.scope)]

    def put(
        self,
        caller: Caller,
        name: str,
        *,
        scope: str,
        max_age_seconds: int | None,
        applies_to: str,
    ) -> RetentionPolicy:
        if not _NAME.fullmatch(name):
            raise InvalidInput("policy names match [a-z0-9][a-z0-9_.-]{0,127}")
        self._screen({"name": name}, caller.principal.key_id)
        pattern = ScopePattern.parse(scope)
        if not administers(caller.principal, str(pattern)):
            raise ScopeDenied(Permission.POLICY_ADMIN.value)
        existing = {p.name: p for p in self._store.list()}.get(name)
        if existing and not administers(caller.principal, existing.scope):
            raise ScopeDenied(Permission.POLICY_ADMIN.value)
        try:
            policy = RetentionPolicy(
                name=name,
                scope=str(pattern),
                max_age=None if max_age_seconds is None else timedelta(seconds=max_age_seconds),
                applies_to=cast("AppliesTo", applies_to),  # checked by RetentionPolicy
            )
        except RetentionError as exc:
            raise InvalidInput(str(exc)) from None
        entry = audit_entry(
            caller,
            "policy.put",
            scope=pattern.base,
            details={
                "kind": "retention",
                "name": name,
                "policy": {
                    "scope": policy.scope,
                    "max_age_seconds": max_age_seconds,
                    "applies_to": applies_to,
                },
            },
        )
        self._store.put(policy, caller.principal.name, [entry])
        self._forget_cache()
        return policy

    def delete(self, caller: Caller, name: str) -> None:
        existing = {p.name: p for p in self._store.list()}.get(name)
        if existing is None or not administers(caller.principal, existing.scope):
            raise NotFound
        entry = audit_entry(
            caller,
            "policy.delete",
            scope=existing.pattern.base,
            details={"kind": "retention", "name": name},
        )
        self._store.delete(name, [entry])
        self._forget_cache()

    def _forget_cache(self) -> None:
        with self._lock:
            self._cached = None


class ServiceRetentionStore:
    """:class:`retention.store.RetentionStore` over the control store and the vector index.

    Each purge leaves a receipt (kind ``retention``) and an audit event, like an admin's purge.
    """

    def __init__(
        self,
        *,
        policies: RetentionPolicies,
        candidates: RetentionCandidates,
        erasure: ErasureStore,
        index: MemoryIndex,
        clock: Callable[[], datetime],
        request_compaction: Callable[[], None],
    ) -> None:
        self._policies = policies
        self._candidates = candidates
        self._erasure = erasure
        self._index = index
        self._clock = clock
        self._request_compaction = request_compaction

    def retention_policies(self) -> Sequence[RetentionPolicy]:
        return self._policies.current()

    def memory_heads(self, *, after: UUID | None, limit: int) -> Sequence[MemoryHead]:
        return self._candidates.memory_heads(after=after, limit=limit)

    def quarantine_heads(self, *, after: UUID | None, limit: int) -> Sequence[QuarantineHead]:
        return self._candidates.quarantine_heads(after=after, limit=limit)

    def purge_memories(self, ids: Sequence[UUID]) -> int:
        if not ids:
            return 0
        # Index first: if the run dies between the stores, the control store still lists the
        # memories, so the next run selects and finishes them (deleting a missing point is a
        # no-op). The other order would leave index points no run would ever select again.
        for start in range(0, len(ids), _INDEX_BATCH):
            self._index.delete(list(ids[start : start + _INDEX_BATCH]))
        self._index.flush()
        memory_ids = [str(i) for i in ids]
        counts, receipt_id = self._erase(memory_ids, [])
        if not self.memories_remaining(ids):
            self._verified(receipt_id, vector_store="points deleted; vacuum by the compact job")
        self._request_compaction()
        return counts["memories"]

    def purge_quarantine(self, ids: Sequence[UUID]) -> int:
        if not ids:
            return 0
        counts, receipt_id = self._erase([], [str(i) for i in ids])
        if not self.quarantine_remaining(ids):
            self._verified(receipt_id, vector_store="not involved")
        return counts["quarantine"]

    def _verified(self, receipt_id: UUID, *, vector_store: str) -> None:
        physical = {"control_store": self._erasure.scrub_files(), "vector_store": vector_store}
        self._erasure.mark_verified(receipt_id, self._clock(), physical)

    def memories_remaining(self, ids: Sequence[UUID]) -> set[UUID]:
        left, _ = self._erasure.remaining([str(i) for i in ids], [])
        return {UUID(i) for i in left} | self._index.existing_ids(list(ids))

    def quarantine_remaining(self, ids: Sequence[UUID]) -> set[UUID]:
        _, left = self._erasure.remaining([], [str(i) for i in ids])
        return {UUID(i) for i in left}

    def _erase(
        self, memory_ids: list[str], quarantine_ids: list[str]
    ) -> tuple[dict[str, int], UUID]:
        now = self._clock()
        receipt = Receipt(
            id=uuid.uuid4(),
            kind="retention",
            created_at=now,
            actor="system",
            actor_id=None,
            request_id=None,
            selector={"job": "retention"},
            dry_run=False,
            counts={},
            memory_ids=tuple(memory_ids),
            quarantine_ids=tuple(quarantine_ids),
            physical={},
        )
        entry = audit_entry(
            None,
            "retention.purge",
            memory_ids=memory_ids,
            details={"receipt_id": str(receipt.id), "quarantine_ids": quarantine_ids},
        )
        return self._erasure.erase(memory_ids, quarantine_ids, receipt, [entry]), receipt.id
