"""Quarantine review: list and show masked, reveal with a reason, release or reject.

Every decision is recorded in the audit trail in the same transaction as the decision itself.
A reviewer sees *that* an item holds an AWS key and where, never the key: previews mask every
finding; only ``quarantine:reveal`` opens the raw text, and only with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from classifiers.findings import Finding, Kind
from classifiers.record import mask as mask_findings
from memory_service.domain.access import require, scope_filter_for
from memory_service.domain.audit import audit_entry
from memory_service.domain.grants import Caller, Permission
from memory_service.domain.models import (
    Classification,
    FindingSummary,
    HeldFinding,
    Memory,
    QuarantineItem,
    VersionRecord,
)
from memory_service.domain.ports import ControlStore, QuarantineStore, Sealer
from memory_service.domain.scopes import ScopeFilter, ScopePattern, parse_scope
from memory_service.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    ScopeDenied,
    StoreUnavailable,
)
from memory_service.services.free_text import Screen
from memory_service.services.gate import ContentGate
from memory_service.services.index_writer import IndexWriter, memory_from_version
from memory_service.services.quarantine import open_record

PREVIEW_CHARS = 4000
MAX_REASON_CHARS = 1000
Status = Literal["pending", "released", "rejected"]
ReleaseMode = Literal["redacted", "as_is"]


@dataclass(frozen=True, slots=True)
class ReviewView:
    item: QuarantineItem
    preview: str | None  # None once the content is gone (rejected or released)
    # metadata, tags and subject as a reviewer may see them: masked, or absent when unread
    shown: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AwaitingSecondReview:
    """A two-person release has its first approval; another reviewer must confirm."""

    item_id: uuid.UUID
    approvals: int


def mask(text: str, findings: Sequence[HeldFinding]) -> str:
    """``text`` with every finding replaced by ``[kind:type]`` (the classifiers' own masking),
    cut to :data:`PREVIEW_CHARS`."""
    masked = mask_findings(
        text,
        [
            Finding(Kind(f.kind), f.type, f.start, f.end, 1.0, "held")
            for f in findings
            if f.end > f.start
        ],
    )
    return masked if len(masked) <= PREVIEW_CHARS else masked[:PREVIEW_CHARS] + "…"


def _columns(item: QuarantineItem) -> dict[str, Any]:
    """The item's readable columns (masked when it was held)."""
    return {"metadata": item.metadata, "tags": list(item.tags), "subject": item.subject}


class ReviewService:
    def __init__(
        self,
        *,
        store: QuarantineStore,
        control: ControlStore,
        sealer: Sealer,
        gate: ContentGate,
        writer: IndexWriter,
        two_person_release: Callable[[str], bool],
        clock: Callable[[], datetime],
        scrub: Callable[[], object],
        screen: Screen,
    ) -> None:
        self._store = store
        self._control = control
        self._sealer = sealer
        self._gate = gate
        self._writer = writer
        self._two_person_release = two_person_release
        self._clock = clock
        self._scrub = scrub
        self._screen = screen

    # -- reading ----------------------------------------------------------------------------

    def list_items(
        self,
        caller: Caller,
        *,
        scope: str | None,
        status: Status | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ReviewView], str | None]:
        requested = [parse_scope(scope)] if scope else None
        scopes = scope_filter_for(caller.principal, Permission.QUARANTINE_REVIEW, requested)
        if scopes.is_empty:
            raise ScopeDenied(Permission.QUARANTINE_REVIEW.value)
        items, next_cursor = self._store.list_quarantine(scopes, status, limit=limit, cursor=cursor)
        self._control.record_audit(
            [
                audit_entry(
                    caller,
                    "quarantine.list",
                    scope=scope,
                    details={"quarantine_ids": [str(i.id) for i in items]},
                )
            ]
        )
        return [self._view(i) for i in items], next_cursor

    def show(self, caller: Caller, item_id: uuid.UUID) -> ReviewView:
        item = self._item(caller, item_id, Permission.QUARANTINE_REVIEW)
        self._control.record_audit(
            [
                audit_entry(
                    caller,
                    "quarantine.show",
                    scope=item.scope,
                    details={"quarantine_id": str(item.id)},
                )
            ]
        )
        return self._view(item)

    def reveal(self, caller: Caller, item_id: uuid.UUID, reason: str) -> dict[str, Any]:
        """Every field as written, for ``quarantine:reveal`` only, never to the writer;
        recorded (with the reason) before it is returned, so an unaudited reveal cannot
        happen."""
        why = self._reason(reason, caller)
        item = self._item(caller, item_id, Permission.QUARANTINE_REVEAL)
        self._not_the_writer(caller, item)
        raw = self._open(item)
        self._control.record_audit(
            [
                audit_entry(
                    caller,
                    "quarantine.reveal",
                    scope=item.scope,
                    details={"quarantine_id": str(item.id), "reason": why},
                )
            ]
        )
        return raw

    # -- deciding ---------------------------------------------------------------------------

    def release(
        self, caller: Caller, item_id: uuid.UUID, mode: ReleaseMode, reason: str
    ) -> Memory | AwaitingSecondReview:
        why = self._reason(reason, caller)
        item = self._pending(caller, item_id)
        self._not_the_writer(caller, item)
        if mode == "as_is":
            # The released memory holds the text as written: only for those who may see it.
            require(caller.principal, Permission.QUARANTINE_REVEAL, item.scope)
        raw = self._open(item)
        approvals = (*item.approvals, caller.principal.key_id)
        if mode == "as_is" and self._needs_two(item):
            if self._approved_by_this_reviewer(caller, item):
                raise Conflict("a second, different reviewer must approve this release")
            if not item.approvals:
                entry = audit_entry(
                    caller,
                    "quarantine.approve",
                    scope=item.scope,
                    decision={"mode": mode},
                    details={"quarantine_id": str(item.id), "reason": why},
                )
                if not self._store.approve(item.id, approvals, [entry]):
                    raise Conflict("the item is no longer pending")
                return AwaitingSecondReview(item.id, len(approvals))
        fields, classification = self._released_fields(caller, item, raw, mode)
        record = self._release_version(
            caller,
            item=item,
            fields=fields,
            classification=classification,
            mode=mode,
            reason=why,
            approvals=approvals,
        )
        expected = None if record.version == 1 else record.version - 1
        entry = audit_entry(
            caller,
            "quarantine.release",
            scope=item.scope,
            memory_ids=[record.memory_id],
            decision={
                "mode": mode,
                "findings": [f.to_json() for f in classification.findings],
            },
            details={
                "quarantine_id": str(item.id),
                "reason": why,
                "approved_by": list(approvals),
            },
        )
        self._writer.commit(
            [record],
            lambda: self._store.release(
                item.id,
                (record, expected),
                decided_by=caller.principal.name,
                decided_at=record.changed_at,
                reason=why,
                approvals=approvals,
                audit=[entry],
            ),
        )
        return memory_from_version(record)

    def reject(self, caller: Caller, item_id: uuid.UUID, reason: str) -> ReviewView:
        """Reject and destroy the sealed content (overwritten in place on SQLite)."""
        why = self._reason(reason, caller)
        item = self._pending(caller, item_id)
        self._not_the_writer(caller, item)
        shown = self._view(item).shown
        now = self._clock()
        entry = audit_entry(
            caller,
            "quarantine.reject",
            scope=item.scope,
            details={"quarantine_id": str(item.id), "reason": why},
        )
        if not self._store.reject(
            item.id, decided_by=caller.principal.name, decided_at=now, reason=why, audit=[entry]
        ):
            raise Conflict("the item is no longer pending")
        self._scrub()
        rejected = replace(
            item,
            status="rejected",
            sealed=None,
            decided_by=caller.principal.name,
            decided_at=now,
            decision_reason=why,
        )
        return ReviewView(item=rejected, preview=None, shown=shown)

    # -- helpers ----------------------------------------------------------------------------

    def _reason(self, reason: str, caller: Caller) -> str:
        """The reason as recorded in the audit trail: bounded, and holding no credential."""
        cleaned = reason.strip()
        if not cleaned or len(cleaned) > MAX_REASON_CHARS:
            raise InvalidInput(f"reason must be 1..{MAX_REASON_CHARS} characters")
        self._screen({"reason": cleaned}, caller.principal.key_id)
        return cleaned

    def _item(self, caller: Caller, item_id: uuid.UUID, permission: Permission) -> QuarantineItem:
        scopes = scope_filter_for(caller.principal, permission)
        item = self._store.quarantine_item(item_id, scopes)
        if item is None:
            if permission is Permission.QUARANTINE_REVEAL and self._store.quarantine_item(
                item_id, scope_filter_for(caller.principal, Permission.QUARANTINE_REVIEW)
            ):
                # A reviewer may know the item exists; only revealing is refused.
                raise ScopeDenied(Permission.QUARANTINE_REVEAL.value)
            raise NotFound
        return item

    def _pending(self, caller: Caller, item_id: uuid.UUID) -> QuarantineItem:
        item = self._item(caller, item_id, Permission.QUARANTINE_REVIEW)
        if item.status != "pending":
            raise Conflict(f"the item is already {item.status}")
        return item

    def _open(self, item: QuarantineItem) -> dict[str, Any]:
        """Every field of the held write, as written."""
        return self._unseal(item)[0]

    def _unseal(self, item: QuarantineItem) -> tuple[dict[str, Any], bool]:
        if item.sealed is None:
            raise Conflict("the item's content has been destroyed")
        fields, whole = open_record(self._sealer, item.id, item.scope, item.sealed)
        if whole:
            return fields, True
        # Held before every field was sealed: the other fields are the clear columns, as
        # written and never classified (a redacted release classifies them all).
        return {
            "content": fields["content"],
            "metadata": item.metadata,
            "tags": list(item.tags),
            "subject": item.subject,
            "source": item.provenance.source,
        }, False

    def _view(self, item: QuarantineItem) -> ReviewView:
        nothing: dict[str, Any] = {"metadata": {}, "tags": [], "subject": None}
        if item.sealed is None:
            return ReviewView(item=item, preview=None, shown=_columns(item))
        if item.reason == "classifier_failed":
            # Never read by the classifiers: nothing of it can be shown safely.
            return ReviewView(item=item, preview=None, shown=nothing)
        fields, whole = self._unseal(item)
        in_content = [f for f in item.findings if f.field == "content"]
        preview = mask(fields["content"], in_content)
        # An item held before every field was classified keeps them in the clear: not shown.
        return ReviewView(item=item, preview=preview, shown=_columns(item) if whole else nothing)

    def _approved_by_this_reviewer(self, caller: Caller, item: QuarantineItem) -> bool:
        """Whether the first approval was this key's, or another key's of the same name (one
        person with two keys is still one reviewer)."""
        if caller.principal.key_id in item.approvals:
            return True
        names = {str(k.id): k.name for k in self._control.list_keys()}
        return any(names.get(key_id) == caller.principal.name for key_id in item.approvals)

    def _not_the_writer(self, caller: Caller, item: QuarantineItem) -> None:
        # Whatever the grants: a writer who also reviews cannot wave their own write through.
        if self._is_writer(caller, item):
            raise ScopeDenied("nobody decides on or reveals a held write of their own")

    def _needs_two(self, item: QuarantineItem) -> bool:
        # What nobody classified may hold a secret as well as anything else.
        may_hold_secret = item.reason == "classifier_failed" or any(
            f.kind == "secret" for f in item.findings
        )
        return may_hold_secret and self._two_person_release(item.scope)

    @staticmethod
    def _is_writer(caller: Caller, item: QuarantineItem) -> bool:
        # The key that wrote it, or another key of the same name (a second key of one agent
        # or person): the name is who the trail says wrote it.
        writer_key = item.provenance.key_id
        return (
            writer_key is not None and writer_key == caller.principal.key_id
        ) or item.provenance.created_by == caller.principal.name

    def _released_fields(
        self, caller: Caller, item: QuarantineItem, raw: dict[str, Any], mode: ReleaseMode
    ) -> tuple[dict[str, Any], Classification]:
        if mode == "as_is":
            # The reviewer's explicit decision: every field as written, every finding allowed.
            findings = tuple(
                FindingSummary(f.kind, f.type, "allow", field=f.field) for f in item.findings
            )
            return raw, Classification(action="clean", findings=findings)
        try:
            decision = self._gate.decide_for_release(raw, item.scope, owner=caller.principal.key_id)
        except ValueError as exc:
            raise StoreUnavailable("the classifiers failed; nothing was released") from exc
        findings = tuple(
            FindingSummary(
                f.decided.finding.kind.value,
                f.decided.finding.type,
                f.decided.action.value,
                field=f.field,
            )
            for f in decision.findings
        )
        action: Literal["clean", "redacted"] = "redacted" if decision.altered else "clean"
        return decision.fields or {}, Classification(action=action, findings=findings)

    def _release_version(
        self,
        caller: Caller,
        *,
        item: QuarantineItem,
        fields: dict[str, Any],
        classification: Classification,
        mode: ReleaseMode,
        reason: str,
        approvals: tuple[str, ...],
    ) -> VersionRecord:
        now = self._clock()
        content: str = fields.get("content", "")
        # Items sealed before every field was keep their other fields in the clear columns.
        metadata = fields.get("metadata", item.metadata)
        tags = tuple(fields.get("tags", item.tags))
        subject = fields.get("subject", item.subject)
        provenance = replace(
            item.provenance,
            source=fields.get("source", item.provenance.source),
            review={
                "quarantine_id": str(item.id),
                "mode": mode,
                "reason": reason,
                "reviewed_by": caller.principal.name,
                "approvals": list(approvals),
            },
        )
        if item.memory_id is None:
            return VersionRecord(
                memory_id=uuid.uuid4(),
                version=1,
                scope=item.scope,
                content=content,
                metadata=metadata,
                tags=tags,
                subject=subject,
                expires_at=item.expires_at,
                classification=classification,
                provenance=provenance,
                op="create",
                changed_by=caller.principal.name,
                changed_at=now,
                created_at=now,
            )
        # A held update applies to the memory as it is now, in the item's own scope (which the
        # reviewer holds quarantine:review on, or the item would not have been found).
        require(caller.principal, Permission.QUARANTINE_REVIEW, item.scope)
        in_scope = ScopeFilter((ScopePattern(base=item.scope, subtree=False),))
        current = self._control.head(item.memory_id, in_scope)
        if current is None or current.op == "delete":
            raise Conflict("the memory this update was for no longer exists")
        return replace(
            current,
            version=current.version + 1,
            content=content,
            metadata=metadata,
            tags=tags,
            expires_at=item.expires_at,
            classification=classification,
            provenance=provenance,
            op="update",
            changed_by=caller.principal.name,
            changed_at=now,
        )
