"""Purge by selector and erasure of a data subject: every trace, verified, with a receipt."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.access import scope_filter_for
from memory_service.domain.audit import audit_entry
from memory_service.domain.grants import Caller, Permission
from memory_service.domain.models import PurgeSelector, Receipt
from memory_service.domain.ports import ErasureStore, MemoryIndex
from memory_service.domain.scopes import parse_scope
from memory_service.errors import InvalidInput, NotFound, ScopeDenied, StoreUnavailable
from memory_service.services.stored_forms import StoredForms

_INDEX_BATCH = 500


class ErasureService:
    """Deletes in the control store first (one transaction with receipt and audit event), then
    in the index; then checks both; then asks for the index files to be compacted.

    If the process dies between the two stores, start-up's orphan sweep deletes the index
    points the control store no longer knows, so the purge still completes.
    """

    def __init__(
        self,
        *,
        store: ErasureStore,
        index: MemoryIndex,
        clock: Callable[[], datetime],
        subject_digest: Callable[[str], str],
        forms: StoredForms,
        request_compaction: Callable[[], None],
        vector_store_kind: str,
    ) -> None:
        self._store = store
        self._index = index
        self._clock = clock
        self._subject_digest = subject_digest
        self._forms = forms
        self._request_compaction = request_compaction
        self._vector_store_kind = vector_store_kind

    def purge(self, caller: Caller, selector: PurgeSelector, *, dry_run: bool) -> Receipt:
        if selector.is_empty:
            raise InvalidInput("give at least one of scope, subject, tags_any, created_before")
        return self._run(caller, selector, kind="purge", dry_run=dry_run)

    def erase_subject(self, caller: Caller, subject: str) -> Receipt:
        if not subject or len(subject) > 256:  # noqa: PLR2004 - the subject field's limit
            raise InvalidInput("subject must be 1..256 characters")
        return self._run(caller, PurgeSelector(subject=subject), kind="erasure", dry_run=False)

    def receipt(self, caller: Caller, receipt_id: UUID) -> Receipt:
        """Receipts are for whoever may purge or audit; their ids are unguessable UUIDs."""
        principal = caller.principal
        allowed = principal.can_anywhere(Permission.PURGE) or principal.can_anywhere(
            Permission.AUDIT_READ
        )
        found = self._store.receipt(receipt_id) if allowed else None
        if found is None:
            raise NotFound
        return found

    def _run(self, caller: Caller, selector: PurgeSelector, *, kind: str, dry_run: bool) -> Receipt:
        requested = [parse_scope(selector.scope)] if selector.scope else None
        scopes = scope_filter_for(caller.principal, Permission.PURGE, requested)
        if scopes.is_empty:
            raise ScopeDenied(Permission.PURGE.value)
        memory_ids, quarantine_ids = self._store.purge_candidates(
            scopes, self._forms.selector(selector, scopes, caller.principal.key_id)
        )
        now = self._clock()
        counts = {
            "memories": len(memory_ids),
            "versions": self._store.version_count(memory_ids),
            "quarantine": len(quarantine_ids),
        }
        receipt = Receipt(
            id=uuid.uuid4(),
            kind="erasure" if kind == "erasure" else "purge",
            created_at=now,
            actor=caller.principal.name,
            actor_id=caller.principal.key_id,
            request_id=caller.request_id,
            selector=self._selector_json(selector),
            dry_run=dry_run,
            counts=counts,
            memory_ids=tuple(memory_ids),
            quarantine_ids=tuple(quarantine_ids),
            physical={},
        )
        entry = audit_entry(
            caller,
            "subject.erase" if kind == "erasure" else "purge",
            scope=selector.scope,
            memory_ids=memory_ids,
            decision={"dry_run": dry_run},
            details={
                "receipt_id": str(receipt.id),
                "counts": counts,
                "quarantine_ids": quarantine_ids,
            },
        )
        if dry_run:
            self._store.record_receipt(receipt, [entry])
            return receipt
        counts = self._store.erase(memory_ids, quarantine_ids, receipt, [entry])
        receipt = replace(receipt, counts=counts)
        ids = [UUID(m) for m in memory_ids]
        for start in range(0, len(ids), _INDEX_BATCH):
            self._index.delete(ids[start : start + _INDEX_BATCH])
        self._index.flush()
        return self._verify(receipt, ids)

    def _verify(self, receipt: Receipt, ids: list[UUID]) -> Receipt:
        left_memories, left_held = self._store.remaining(receipt.memory_ids, receipt.quarantine_ids)
        left_points = self._index.existing_ids(ids) if ids else set()
        if left_memories or left_held or left_points:
            # Recorded unverified; the receipt says so and the reconcile job finishes it.
            raise StoreUnavailable("purge could not be verified; it will be retried")
        control = self._store.scrub_files()
        physical: dict[str, Any] = {
            "control_store": control,
            "vector_store": (
                "points deleted; vacuum of the segment files pending (compact job)"
                if self._vector_store_kind == "qdrant-edge"
                else "points deleted; the Qdrant server's optimizers vacuum segments"
            ),
        }
        verified_at = self._clock()
        self._store.mark_verified(receipt.id, verified_at, physical)
        if ids and self._vector_store_kind == "qdrant-edge":
            self._request_compaction()
        return replace(receipt, verified_at=verified_at, physical=physical)

    def _selector_json(self, selector: PurgeSelector) -> dict[str, Any]:
        return {
            "scope": selector.scope,
            # Keyed, so the receipt names the subject only to someone who already knows it.
            "subject_digest": (
                self._subject_digest(selector.subject) if selector.subject is not None else None
            ),
            # Keyed too: a tag can be a person's name or address (the gate stores those as
            # pseudonyms, and a purge by the value as the caller knows it must not keep it).
            "tag_digests": [self._subject_digest(tag) for tag in selector.tags_any],
            "created_before": (
                selector.created_before.isoformat() if selector.created_before else None
            ),
        }
