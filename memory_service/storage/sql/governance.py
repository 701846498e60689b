"""Policies and the quarantine, in the same SQL database as the control store."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.engine import RowMapping

from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import (
    HeldFinding,
    PolicyRecord,
    Provenance,
    QuarantineItem,
    Sealed,
    VersionRecord,
)
from memory_service.domain.scopes import ScopeFilter
from memory_service.errors import Conflict, InvalidInput
from memory_service.storage.sql.schema import policies, quarantine
from memory_service.storage.sql.store import (
    SqlControlStore,
    check_version,
    scope_condition,
    write_version,
)


class SqlPolicyStore:
    def __init__(self, store: SqlControlStore) -> None:
        self._store = store

    def list_policies(self) -> list[PolicyRecord]:
        with self._store.reading() as conn:
            rows = conn.execute(select(policies).order_by(policies.c.name)).mappings().all()
        return [
            PolicyRecord(
                name=row["name"],
                scope=row["scope"],
                secret=row["secret"],
                pii=row["pii"],
                injection=row["injection"],
                pii_types=dict(row["pii_types"]),
                min_score=row["min_score"],
                two_person_release=bool(row["two_person_release"]),
                hold_unclassified=bool(row["hold_unclassified"]),
                updated_at=row["updated_at"],
                updated_by=row["updated_by"],
            )
            for row in rows
        ]

    def put_policy(self, record: PolicyRecord, audit: Sequence[AuditEntry] = ()) -> None:
        values = {
            "scope": record.scope,
            "secret": record.secret,
            "pii": record.pii,
            "injection": record.injection,
            "pii_types": record.pii_types,
            "min_score": record.min_score,
            "two_person_release": record.two_person_release,
            "hold_unclassified": record.hold_unclassified,
            "updated_at": record.updated_at,
            "updated_by": record.updated_by,
        }
        with self._store.writing(audit) as conn:
            conn.execute(delete(policies).where(policies.c.name == record.name))
            conn.execute(policies.insert().values(name=record.name, **values))

    def delete_policy(self, name: str, audit: Sequence[AuditEntry] = ()) -> bool:
        with self._store.writing(audit) as conn:
            result = conn.execute(delete(policies).where(policies.c.name == name))
        return result.rowcount == 1


class SqlQuarantineStore:
    def __init__(self, store: SqlControlStore) -> None:
        self._store = store

    def add_quarantine(self, item: QuarantineItem, audit: Sequence[AuditEntry] = ()) -> None:
        sealed = item.sealed
        with self._store.writing(audit) as conn:
            conn.execute(
                quarantine.insert().values(
                    id=str(item.id),
                    scope=item.scope,
                    status=item.status,
                    reason=item.reason,
                    findings=[f.to_json() for f in item.findings],
                    key_id=sealed.key_id if sealed else None,
                    nonce=sealed.nonce if sealed else None,
                    ciphertext=sealed.ciphertext if sealed else None,
                    metadata=item.metadata,
                    tags=list(item.tags),
                    subject=item.subject,
                    expires_at=item.expires_at,
                    provenance=item.provenance.to_json(),
                    memory_id=str(item.memory_id) if item.memory_id else None,
                    created_at=item.created_at,
                    decided_by=item.decided_by,
                    decided_at=item.decided_at,
                    decision_reason=item.decision_reason,
                )
            )

    def quarantine_item(self, item_id: UUID, scopes: ScopeFilter) -> QuarantineItem | None:
        if scopes.is_empty:
            return None
        query = select(quarantine).where(
            quarantine.c.id == str(item_id), scope_condition(quarantine.c.scope, scopes)
        )
        with self._store.reading() as conn:
            row = conn.execute(query).mappings().one_or_none()
        return None if row is None else _item_from_row(row)

    def list_quarantine(
        self, scopes: ScopeFilter, status: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[QuarantineItem], str | None]:
        """Oldest first (the review queue's order), keyset-paged on (created_at, id)."""
        if scopes.is_empty:
            return [], None
        query = select(quarantine).where(scope_condition(quarantine.c.scope, scopes))
        if status is not None:
            query = query.where(quarantine.c.status == status)
        if cursor is not None:
            query = query.where(_after(*_decode_cursor(cursor)))
        query = query.order_by(quarantine.c.created_at, quarantine.c.id).limit(limit + 1)
        with self._store.reading() as conn:
            rows = conn.execute(query).mappings().all()
        items = [_item_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit and items
        return items, (_encode_cursor(items[-1]) if more else None)

    def approve(self, item_id: UUID, approvals: Sequence[str], audit: Sequence[AuditEntry]) -> bool:
        """Record a first reviewer's approval of an as-is release; False if no longer pending."""
        with self._store.writing(audit) as conn:
            result = conn.execute(
                update(quarantine)
                .where(quarantine.c.id == str(item_id), quarantine.c.status == "pending")
                .values(approvals=list(approvals))
            )
        return result.rowcount == 1

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
    ) -> None:
        """Mark the item released, destroy its sealed copy and store the memory version, all
        in one transaction; :class:`Conflict` if someone decided it first."""
        record, expected = change
        check_version(record, expected)
        with self._store.writing(audit) as conn:
            decided = conn.execute(
                update(quarantine)
                .where(quarantine.c.id == str(item_id), quarantine.c.status == "pending")
                .values(
                    status="released",
                    decided_by=decided_by,
                    decided_at=decided_at,
                    decision_reason=reason,
                    approvals=list(approvals),
                    memory_id=str(record.memory_id),
                    # The text now lives in the memory; no second copy is kept.
                    key_id=None,
                    nonce=None,
                    ciphertext=None,
                )
            )
            if decided.rowcount != 1:
                raise Conflict("the item is no longer pending")
            write_version(conn, record, expected)

    def reject(
        self,
        item_id: UUID,
        *,
        decided_by: str,
        decided_at: datetime,
        reason: str,
        audit: Sequence[AuditEntry],
    ) -> bool:
        """Mark the item rejected and destroy its sealed content; False if not pending."""
        with self._store.writing(audit) as conn:
            result = conn.execute(
                update(quarantine)
                .where(quarantine.c.id == str(item_id), quarantine.c.status == "pending")
                .values(
                    status="rejected",
                    decided_by=decided_by,
                    decided_at=decided_at,
                    decision_reason=reason,
                    key_id=None,
                    nonce=None,
                    ciphertext=None,
                )
            )
        return result.rowcount == 1


def _after(created_at: datetime, item_id: str) -> ColumnElement[bool]:
    return or_(
        quarantine.c.created_at > created_at,
        and_(quarantine.c.created_at == created_at, quarantine.c.id > item_id),
    )


def _encode_cursor(item: QuarantineItem) -> str:
    raw = f"q|{item.created_at.isoformat()}|{item.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, created, item_id = raw.split("|")
        when = datetime.fromisoformat(created)
        UUID(item_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is not valid") from None
    if tag != "q" or when.tzinfo is None:
        raise InvalidInput("cursor is not valid")
    return when, item_id


def _item_from_row(row: RowMapping) -> QuarantineItem:
    findings: Sequence[dict[str, object]] = row["findings"]
    sealed = (
        Sealed(key_id=row["key_id"], nonce=bytes(row["nonce"]), ciphertext=bytes(row["ciphertext"]))
        if row["ciphertext"] is not None
        else None
    )
    tags: Sequence[str] = row["tags"]
    return QuarantineItem(
        id=UUID(row["id"]),
        scope=row["scope"],
        status=row["status"],
        reason=row["reason"],
        findings=tuple(
            HeldFinding(
                kind=str(f["kind"]),
                type=str(f["type"]),
                start=int(str(f["start"])),
                end=int(str(f["end"])),
                field=str(f.get("field", "content")),
            )
            for f in findings
        ),
        sealed=sealed,
        metadata=row["metadata"],
        tags=tuple(tags),
        subject=row["subject"],
        expires_at=row["expires_at"],
        provenance=Provenance.from_json(row["provenance"]),
        memory_id=UUID(row["memory_id"]) if row["memory_id"] else None,
        created_at=row["created_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
        approvals=tuple(row["approvals"] or ()),
    )
