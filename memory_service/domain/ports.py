"""The ports the services depend on; storage and embedding adapters implement them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from memory_service.domain.audit import (
    AuditEntry,
    AuditEvent,
    AuditQuery,
    Verification,
)
from memory_service.domain.models import (
    ApiKeyRecord,
    IdempotencyRecord,
    IndexQuery,
    Memory,
    PolicyRecord,
    PurgeSelector,
    QuarantineItem,
    Receipt,
    ScoredMemory,
    Sealed,
    VersionRecord,
)
from memory_service.domain.scopes import ScopeFilter


class Embedder(Protocol):
    """Turns texts into unit-length vectors of ``dimension`` floats. CPU-bound; call off-loop."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class MemoryIndex(Protocol):
    """The vector store of live memories.

    Every read takes a :class:`ScopeFilter` and ``now``; the adapter applies the scope filter,
    ``not expired at now`` and (unless asked) ``not deleted`` inside the store query itself.
    An empty filter matches nothing.
    """

    def upsert(self, items: Sequence[tuple[Memory, Sequence[float]]]) -> None: ...

    def get(self, memory_id: UUID, scopes: ScopeFilter, *, now: datetime) -> Memory | None: ...

    def search(
        self,
        vector: Sequence[float],
        scopes: ScopeFilter,
        query: IndexQuery,
        *,
        limit: int,
        now: datetime,
        min_score: float | None = None,
    ) -> list[ScoredMemory]: ...

    def scroll(
        self,
        scopes: ScopeFilter,
        query: IndexQuery,
        *,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> tuple[list[Memory], str | None]:
        """A page in a stable order and an opaque cursor for the next page (None at the end)."""
        ...

    def count(self, scopes: ScopeFilter, query: IndexQuery, *, now: datetime) -> int: ...

    def delete(self, ids: Sequence[UUID]) -> None: ...

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have a point, regardless of scope, expiry or deletion (reconcile)."""
        ...

    def ids_page(self, after: UUID | None, limit: int) -> tuple[list[UUID], UUID | None]:
        """Every point id in a stable order, regardless of scope (reconcile only)."""
        ...

    def flush(self) -> None:
        """Make every write so far durable in the index."""
        ...

    def vacuum(self) -> bool:
        """Physically remove deleted points from disk (blocking; a maintenance job's work)."""
        ...

    def close(self) -> None: ...


class ControlStore(Protocol):
    """Keys, memory heads and versions, idempotency records (SQLite or PostgreSQL)."""

    # keys
    def add_key(self, record: ApiKeyRecord, audit: Sequence[AuditEntry] = ()) -> None: ...

    def key_by_lookup(self, lookup: str) -> ApiKeyRecord | None: ...

    def list_keys(self) -> list[ApiKeyRecord]: ...

    def revoke_key(self, key_id: UUID, at: datetime, audit: Sequence[AuditEntry] = ()) -> bool: ...

    def count_keys(self) -> int: ...

    # memories
    def append_version(
        self,
        record: VersionRecord,
        *,
        expected_version: int | None,
        audit: Sequence[AuditEntry] = (),
    ) -> None:
        """Store ``record`` as the memory's new head, atomically with its history row.

        ``expected_version`` None means "create": the memory must not exist. Otherwise the
        current head must be at ``expected_version``, else :class:`VersionConflict`. The head is
        marked as not yet indexed until :meth:`mark_indexed` is called.
        """
        ...

    def append_versions(
        self,
        changes: Sequence[tuple[VersionRecord, int | None]],
        *,
        audit: Sequence[AuditEntry] = (),
    ) -> None:
        """Several :meth:`append_version` calls and their audit events: all, or none."""
        ...

    def head(self, memory_id: UUID, scopes: ScopeFilter) -> VersionRecord | None:
        """The current version of a memory inside ``scopes`` (deleted ones included)."""
        ...

    def history(self, memory_id: UUID, scopes: ScopeFilter) -> list[VersionRecord]: ...

    def mark_indexed(self, memory_id: UUID, version: int) -> None: ...

    def mark_indexed_many(self, versions: Sequence[tuple[UUID, int]]) -> None: ...

    def known_memory_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` have a head row, in any scope (reconcile only)."""
        ...

    def scope_roots(self) -> list[str]:
        """Every org (first scope segment) that holds a memory."""
        ...

    def unindexed(self, limit: int) -> list[VersionRecord]:
        """Heads whose latest version has not reached the index (crash repair)."""
        ...

    # idempotency
    def idempotent_response(
        self, key_id: str, idempotency_key: str
    ) -> IdempotencyRecord | None: ...

    def save_idempotent_response(self, record: IdempotencyRecord) -> None: ...

    # audit
    def record_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Chain ``entries`` onto the audit trail; raises if it cannot (fail closed)."""
        ...

    def record_read_audit(self, entries: Sequence[AuditEntry]) -> None:
        """:meth:`record_audit` for a read: committed before the caller gets anything, but
        flushed to disk as the store is configured (see ``MEMORY_AUDIT_READS_FSYNC``)."""
        ...

    # health
    def ping(self) -> None: ...

    def close(self) -> None: ...


class Sealer(Protocol):
    """Authenticated encryption of quarantined text (AES-GCM), bound to its record by ``aad``."""

    def seal(self, plaintext: str, aad: bytes) -> Sealed: ...

    def open(self, sealed: Sealed, aad: bytes) -> str:
        """The plaintext; :class:`~memory_service.errors.SealMismatch` if ``aad`` differs."""
        ...


class Pseudonymizer(Protocol):
    """Stable, keyed pseudonyms: the same value in the same org always gets the same token."""

    def pseudonym(self, org: str, entity_type: str, value: str) -> str: ...

    def org_hasher(self, org: str) -> Callable[[str, str], str]:
        """``pseudonym`` bound to one org: ``(entity type, value) -> token``."""
        ...


class PolicyStore(Protocol):
    def list_policies(self) -> list[PolicyRecord]: ...

    def put_policy(self, record: PolicyRecord, audit: Sequence[AuditEntry] = ()) -> None: ...

    def delete_policy(self, name: str, audit: Sequence[AuditEntry] = ()) -> bool: ...


class QuarantineStore(Protocol):
    def add_quarantine(self, item: QuarantineItem, audit: Sequence[AuditEntry] = ()) -> None: ...

    def quarantine_item(self, item_id: UUID, scopes: ScopeFilter) -> QuarantineItem | None: ...

    def list_quarantine(
        self, scopes: ScopeFilter, status: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[QuarantineItem], str | None]: ...

    def approve(
        self, item_id: UUID, approvals: Sequence[str], audit: Sequence[AuditEntry]
    ) -> bool: ...

    def release(
        self,
        item_id: UUID,
        change: tuple[VersionRecord, int | None],
        *,
        decided_by: str,
        decided_at: datetime,
        reason: str,
        approvals: Sequence[str],
        audit: Sequence[AuditEntry],
    ) -> None: ...

    def reject(
        self,
        item_id: UUID,
        *,
        decided_by: str,
        decided_at: datetime,
        reason: str,
        audit: Sequence[AuditEntry],
    ) -> bool: ...


class AuditTrail(Protocol):
    """Reading and checking the hash-chained trail (appends ride on the audited writes)."""

    def query(
        self,
        query: AuditQuery,
        scopes: ScopeFilter,
        *,
        limit: int,
        cursor: str | None,
        newest_first: bool = False,
    ) -> tuple[list[AuditEvent], str | None]: ...

    def events(self, after_seq: int = 0) -> Iterator[AuditEvent]: ...

    def verify(self) -> Verification: ...

    def trim(self, before: datetime) -> int: ...


class ErasureStore(Protocol):
    """Hard deletion in the control store, with receipts (see storage/sql/erasure.py)."""

    def purge_candidates(
        self, scopes: ScopeFilter, selector: PurgeSelector
    ) -> tuple[list[str], list[str]]: ...

    def version_count(self, memory_ids: Sequence[str]) -> int: ...

    def erase(
        self,
        memory_ids: Sequence[str],
        quarantine_ids: Sequence[str],
        receipt: Receipt,
        audit: Sequence[AuditEntry],
    ) -> dict[str, int]: ...

    def record_receipt(self, receipt: Receipt, audit: Sequence[AuditEntry]) -> None: ...

    def destroy_sealed(self, item_ids: Sequence[str]) -> None: ...

    def remaining(
        self, memory_ids: Sequence[str], quarantine_ids: Sequence[str]
    ) -> tuple[set[str], set[str]]: ...

    def scrub_files(self) -> str: ...

    def mark_verified(self, receipt_id: UUID, at: datetime, physical: dict[str, Any]) -> None: ...

    def mark_compacted(self, before: datetime, at: datetime) -> int: ...

    def receipt(self, receipt_id: UUID) -> Receipt | None: ...
