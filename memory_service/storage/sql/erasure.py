"""Hard deletion in the control store: purges, erasures and their receipts.

On SQLite the rows are overwritten where they lay (``secure_delete``) and the write-ahead log
is checkpointed and truncated afterwards, so the text leaves the files, not only the tables.
On PostgreSQL the rows are deleted and the tables vacuumed; the server's own WAL segments
are recycled on its schedule (see the README).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import structlog
from sqlalchemy import ColumnElement, Connection, String, cast, delete, func, or_, select, update
from sqlalchemy.engine import RowMapping

from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import PurgeSelector, Receipt
from memory_service.domain.scopes import ScopeFilter
from memory_service.storage.sql.schema import (
    idempotency,
    memories,
    memory_versions,
    quarantine,
    receipts,
)
from memory_service.storage.sql.store import SqlControlStore, scope_condition

_log = structlog.get_logger("memory_service.erasure")
_ID_BATCH: Final = 500
_CHECKPOINT_ATTEMPTS: Final = 5
_PURGED_TABLES: Final = ("memory_versions", "memories", "quarantine", "idempotency")


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _ID_BATCH] for i in range(0, len(ids), _ID_BATCH)]


def _matches_tags(tags: Sequence[str], wanted: tuple[str, ...]) -> bool:
    return not wanted or any(t in tags for t in wanted)


class SqlErasureStore:
    def __init__(self, store: SqlControlStore) -> None:
        self._store = store

    # -- selection --------------------------------------------------------------------------

    def purge_candidates(
        self, scopes: ScopeFilter, selector: PurgeSelector
    ) -> tuple[list[str], list[str]]:
        """Ids of the memories (live, deleted or expired) and quarantine items that match."""
        if scopes.is_empty:
            return [], []
        memory_query = (
            select(memories.c.id, memory_versions.c.tags)
            .join(
                memory_versions,
                (memory_versions.c.memory_id == memories.c.id)
                & (memory_versions.c.version == memories.c.version),
            )
            .where(scope_condition(memories.c.scope, scopes))
        )
        held_query = select(quarantine.c.id, quarantine.c.tags).where(
            scope_condition(quarantine.c.scope, scopes)
        )
        if selector.subject is not None:
            subjects = selector.subject_forms or (selector.subject,)
            memory_query = memory_query.where(memories.c.subject.in_(subjects))
            held_query = held_query.where(quarantine.c.subject.in_(subjects))
        if selector.created_before is not None:
            memory_query = memory_query.where(memories.c.created_at < selector.created_before)
            held_query = held_query.where(quarantine.c.created_at < selector.created_before)
        with self._store.reading() as conn:
            found = conn.execute(memory_query.order_by(memories.c.id)).all()
            held = conn.execute(held_query.order_by(quarantine.c.id)).all()
        # Tags are a JSON list: matched here rather than in two dialects of JSON SQL.
        return (
            [row.id for row in found if _matches_tags(row.tags, selector.tags_any)],
            [row.id for row in held if _matches_tags(row.tags, selector.tags_any)],
        )

    def version_count(self, memory_ids: Sequence[str]) -> int:
        total = 0
        with self._store.reading() as conn:
            for chunk in _chunks(memory_ids):
                total += int(
                    conn.execute(
                        select(func.count())
                        .select_from(memory_versions)
                        .where(memory_versions.c.memory_id.in_(chunk))
                    ).scalar_one()
                )
        return total

    # -- deletion ---------------------------------------------------------------------------

    def erase(
        self,
        memory_ids: Sequence[str],
        quarantine_ids: Sequence[str],
        receipt: Receipt,
        audit: Sequence[AuditEntry],
    ) -> dict[str, int]:
        """Delete every row of these memories and quarantine items, and record the receipt
        and the audit event, in one transaction. Ids already gone are skipped."""
        counts = {"memories": 0, "versions": 0, "quarantine": 0}
        with self._store.writing(audit) as conn:
            for chunk in _chunks(memory_ids):
                counts["versions"] += _deleted(
                    conn, delete(memory_versions).where(memory_versions.c.memory_id.in_(chunk))
                )
                counts["memories"] += _deleted(
                    conn, delete(memories).where(memories.c.id.in_(chunk))
                )
                # Replayable responses of idempotent writes quote the memory they stored.
                _deleted(conn, delete(idempotency).where(_mentions_any(chunk)))
            for chunk in _chunks(quarantine_ids):
                counts["quarantine"] += _deleted(
                    conn, delete(quarantine).where(quarantine.c.id.in_(chunk))
                )
            conn.execute(receipts.insert().values(**_receipt_values(receipt, counts)))
        return counts

    def record_receipt(self, receipt: Receipt, audit: Sequence[AuditEntry]) -> None:
        """A receipt for a dry run: nothing deleted, the match recorded."""
        with self._store.writing(audit) as conn:
            conn.execute(receipts.insert().values(**_receipt_values(receipt, receipt.counts)))

    def destroy_sealed(self, item_ids: Sequence[str]) -> None:
        """Overwrite the ciphertext of these quarantine items (after a reject or release)."""
        with self._store.writing() as conn:
            for chunk in _chunks(item_ids):
                conn.execute(
                    update(quarantine)
                    .where(quarantine.c.id.in_(chunk))
                    .values(ciphertext=None, nonce=None, key_id=None)
                )

    def remaining(
        self, memory_ids: Sequence[str], quarantine_ids: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """Which of the ids still have any row: a purge is verified when both are empty."""
        left_memories: set[str] = set()
        left_held: set[str] = set()
        with self._store.reading() as conn:
            for chunk in _chunks(memory_ids):
                left_memories |= set(
                    conn.execute(
                        select(memory_versions.c.memory_id).where(
                            memory_versions.c.memory_id.in_(chunk)
                        )
                    ).scalars()
                )
                left_memories |= set(
                    conn.execute(select(memories.c.id).where(memories.c.id.in_(chunk))).scalars()
                )
            for chunk in _chunks(quarantine_ids):
                left_held |= set(
                    conn.execute(
                        select(quarantine.c.id).where(quarantine.c.id.in_(chunk))
                    ).scalars()
                )
        return left_memories, left_held

    def scrub_files(self) -> str:
        """Push deleted rows out of the database files; returns what was done, for receipts."""
        engine = self._store.engine
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                for _ in range(_CHECKPOINT_ATTEMPTS):
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
                    if not busy:
                        return "sqlite: rows overwritten (secure_delete), WAL truncated"
            _log.warning("wal_checkpoint_busy")
            return "sqlite: rows overwritten (secure_delete); WAL checkpoint deferred (busy)"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in _PURGED_TABLES:
                conn.exec_driver_sql(f"VACUUM {table}")
        return "postgresql: rows deleted and tables vacuumed"

    # -- receipts ---------------------------------------------------------------------------

    def mark_verified(self, receipt_id: UUID, at: datetime, physical: dict[str, Any]) -> None:
        with self._store.writing() as conn:
            conn.execute(
                update(receipts)
                .where(receipts.c.id == str(receipt_id))
                .values(verified_at=at, physical=physical)
            )

    def mark_compacted(self, before: datetime, at: datetime) -> int:
        """Every receipt made before ``before`` that waited for the vector store's vacuum."""
        with self._store.writing() as conn:
            pending = conn.execute(
                select(receipts.c.id, receipts.c.physical).where(
                    receipts.c.compacted_at.is_(None),
                    receipts.c.created_at <= before,
                    receipts.c.dry_run.is_(False),
                )
            ).all()
            for row in pending:
                physical = {**row.physical, "vector_store": "vacuumed: segments rewritten, flushed"}
                conn.execute(
                    update(receipts)
                    .where(receipts.c.id == row.id)
                    .values(compacted_at=at, physical=physical)
                )
        return len(pending)

    def receipt(self, receipt_id: UUID) -> Receipt | None:
        with self._store.reading() as conn:
            row = (
                conn.execute(select(receipts).where(receipts.c.id == str(receipt_id)))
                .mappings()
                .one_or_none()
            )
        return None if row is None else _receipt_from_row(row)


def _deleted(conn: Connection, statement: Any) -> int:
    return int(conn.execute(statement).rowcount)


def _mentions_any(memory_ids: Sequence[str]) -> ColumnElement[bool]:
    body = cast(idempotency.c.body, String)
    return or_(*(body.contains(memory_id, autoescape=True) for memory_id in memory_ids))


def _receipt_values(receipt: Receipt, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": str(receipt.id),
        "kind": receipt.kind,
        "created_at": receipt.created_at,
        "actor": receipt.actor,
        "actor_id": receipt.actor_id,
        "request_id": receipt.request_id,
        "selector": receipt.selector,
        "dry_run": receipt.dry_run,
        "counts": counts,
        "memory_ids": list(receipt.memory_ids),
        "quarantine_ids": list(receipt.quarantine_ids),
        "verified_at": receipt.verified_at,
        "compacted_at": receipt.compacted_at,
        "physical": receipt.physical,
    }


def _receipt_from_row(row: RowMapping) -> Receipt:
    memory_ids: Sequence[str] = row["memory_ids"]
    quarantine_ids: Sequence[str] = row["quarantine_ids"]
    return Receipt(
        id=UUID(row["id"]),
        kind=row["kind"],
        created_at=row["created_at"],
        actor=row["actor"],
        actor_id=row["actor_id"],
        request_id=row["request_id"],
        selector=dict(row["selector"]),
        dry_run=bool(row["dry_run"]),
        counts={k: int(v) for k, v in dict(row["counts"]).items()},
        memory_ids=tuple(memory_ids),
        quarantine_ids=tuple(quarantine_ids),
        physical=dict(row["physical"]),
        verified_at=row["verified_at"],
        compacted_at=row["compacted_at"],
    )
