"""Policies and the quarantine, in the same SQL database as the control store."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping

from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import (
    HeldFinding,
    PolicyRecord,
    Provenance,
    QuarantineItem,
    Sealed,
)
from memory_service.domain.scopes import ScopeFilter
from memory_service.storage.sql.schema import policies, quarantine
from memory_service.storage.sql.store import SqlControlStore, scope_condition


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
    )
