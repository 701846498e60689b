"""What retention keeps in the control store: its policies, job runs, leases and candidates.

These implement the Protocols of ``retention.store`` over the same engine and transactions as
:class:`SqlControlStore`, the way the stores in ``governance.py`` do.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, cast, get_args
from uuid import UUID

from sqlalchemy import Table, and_, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from memory_service.domain.audit import AuditEntry
from memory_service.errors import NotFound
from memory_service.storage.sql.schema import (
    job_runs,
    leases,
    memories,
    quarantine,
    retention_policies,
)
from memory_service.storage.sql.store import SqlControlStore
from retention.policies import AppliesTo, RetentionPolicy
from retention.runs import JobRun, RunStatus
from retention.selection import MemoryHead, QuarantineHead, QuarantineStatus

# "skipped" is only ever returned to a caller, never stored (see retention.runs).
_STORED_STATUSES: Final = frozenset({"running", "ok", "failed"})
_QUARANTINE_STATUSES: Final = frozenset(get_args(QuarantineStatus))
_SECOND: Final = timedelta(seconds=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_limit(limit: int) -> int:
    # PostgreSQL refuses a negative LIMIT while SQLite reads it as "no limit": refuse it here.
    if limit < 1:
        raise ValueError("limit must be positive")
    return limit


def _dialect_insert(store: SqlControlStore, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The INSERT that knows ON CONFLICT, for the store's backend."""
    if store.engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)


# -- job runs -------------------------------------------------------------------------------


def _storable(run: JobRun) -> JobRun:
    if run.status not in _STORED_STATUSES:
        raise ValueError(f"a run with status {run.status!r} is never stored")
    return run


def _run_status(value: str) -> RunStatus:
    if value not in _STORED_STATUSES:
        raise ValueError(f"unknown status {value!r} in job_runs")
    return cast("RunStatus", value)


def _run_from_row(row: RowMapping) -> JobRun:
    counts: Mapping[str, object] = row["counts"]
    return JobRun(
        id=UUID(row["id"]),
        job=row["job"],
        holder=row["holder"],
        started_at=row["started_at"],
        status=_run_status(row["status"]),
        finished_at=row["finished_at"],
        counts={str(key): int(str(value)) for key, value in counts.items()},
        error=row["error"],
    )


class SqlRunLog:
    """:class:`retention.store.RunLog` in the ``job_runs`` table, plus the reads the API needs."""

    def __init__(self, store: SqlControlStore) -> None:
        self._store = store

    def start_run(self, run: JobRun) -> None:
        _storable(run)
        with self._store.writing() as conn:
            conn.execute(
                job_runs.insert().values(
                    id=str(run.id),
                    job=run.job,
                    holder=run.holder,
                    status=run.status,
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    counts=dict(run.counts),
                    error=run.error,
                )
            )

    def finish_run(self, run: JobRun) -> None:
        _storable(run)
        with self._store.writing() as conn:
            result = conn.execute(
                update(job_runs)
                .where(job_runs.c.id == str(run.id))
                .values(
                    status=run.status,
                    finished_at=run.finished_at,
                    counts=dict(run.counts),
                    error=run.error,
                )
            )
        if result.rowcount != 1:
            raise NotFound("no such job run")

    def close_interrupted(self, job: str, *, at: datetime, error: str) -> int:
        with self._store.writing() as conn:
            result = conn.execute(
                update(job_runs)
                .where(job_runs.c.job == job, job_runs.c.status == "running")
                .values(status="failed", finished_at=at, error=error)
            )
        return result.rowcount

    def list_runs(self, job: str | None, limit: int) -> list[JobRun]:
        """Up to ``limit`` runs (of ``job``, or of every job when None), newest first."""
        query = select(job_runs).order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc())
        if job is not None:
            query = query.where(job_runs.c.job == job)
        with self._store.reading() as conn:
            rows = conn.execute(query.limit(_check_limit(limit))).mappings().all()
        return [_run_from_row(row) for row in rows]

    def last_run(self, job: str) -> JobRun | None:
        """The most recently started run of ``job``, whatever its status."""
        runs = self.list_runs(job, 1)
        return runs[0] if runs else None


# -- leases ---------------------------------------------------------------------------------


def _check_ttl(ttl: timedelta) -> timedelta:
    # A lease that expires as it is taken would be free for the next worker at the same instant.
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    return ttl


class SqlLeaseStore:
    """:class:`retention.store.LeaseStore` in the ``leases`` table.

    Every operation is one conditional statement in a write transaction, so it is atomic across
    processes: SQLite serialises writers (BEGIN IMMEDIATE), and PostgreSQL re-checks the
    conflict clause's WHERE against the row as the winning transaction committed it.
    """

    def __init__(self, store: SqlControlStore) -> None:
        self._store = store

    def acquire(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        expires_at = now + _check_ttl(ttl)
        insert = _dialect_insert(self._store, leases).values(
            name=name, holder=holder, expires_at=expires_at, acquired_at=now
        )
        held_by_caller = and_(leases.c.holder == holder, leases.c.expires_at > now)
        statement = insert.on_conflict_do_update(
            index_elements=[leases.c.name],
            set_={
                "holder": insert.excluded.holder,
                "expires_at": insert.excluded.expires_at,
                # Taking one's own live lease again is a renewal: it keeps its start time.
                "acquired_at": case(
                    (held_by_caller, leases.c.acquired_at), else_=insert.excluded.acquired_at
                ),
            },
            where=or_(leases.c.expires_at <= now, leases.c.holder == holder),
        ).returning(leases.c.holder)
        with self._store.writing() as conn:
            # No row comes back when the row exists and the WHERE refused the update.
            taken = conn.execute(statement).scalar_one_or_none()
        return taken == holder

    def renew(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        expires_at = now + _check_ttl(ttl)
        with self._store.writing() as conn:
            result = conn.execute(
                update(leases)
                .where(
                    leases.c.name == name,
                    leases.c.holder == holder,
                    leases.c.expires_at > now,
                )
                .values(expires_at=expires_at)
            )
        return result.rowcount == 1

    def release(self, name: str, holder: str) -> None:
        with self._store.writing() as conn:
            conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))

    def holder_of(self, name: str, now: datetime) -> str | None:
        """Who holds ``name`` unexpired at ``now``; None when it is free."""
        query = select(leases.c.holder).where(leases.c.name == name, leases.c.expires_at > now)
        with self._store.reading() as conn:
            holder: str | None = conn.execute(query).scalar_one_or_none()
        return holder


# -- retention policies ---------------------------------------------------------------------


def _max_age_seconds(max_age: timedelta | None) -> int | None:
    if max_age is None:
        return None
    # Whole seconds only: rounding would silently keep or forget things a moment off policy.
    if max_age % _SECOND:
        raise ValueError("max_age must be a whole number of seconds")
    return max_age // _SECOND


def _policy_from_row(row: RowMapping) -> RetentionPolicy:
    seconds: int | None = row["max_age_seconds"]
    return RetentionPolicy(
        name=row["name"],
        scope=row["scope"],
        max_age=None if seconds is None else timedelta(seconds=seconds),
        # RetentionPolicy refuses an unknown value itself.
        applies_to=cast("AppliesTo", row["applies_to"]),
    )


class SqlRetentionPolicies:
    """Retention policies in the ``retention_policies`` table; changes commit with their audit."""

    def __init__(self, store: SqlControlStore, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock

    def put(self, policy: RetentionPolicy, updated_by: str, audit: Sequence[AuditEntry]) -> None:
        """Create or replace the policy named ``policy.name``."""
        values = {
            "scope": policy.scope,
            "max_age_seconds": _max_age_seconds(policy.max_age),
            "applies_to": policy.applies_to,
            "updated_at": self._clock(),
            "updated_by": updated_by,
        }
        # One statement rather than delete-then-insert, so two concurrent first puts of a name
        # do not collide on the primary key.
        insert = _dialect_insert(self._store, retention_policies).values(name=policy.name, **values)
        statement = insert.on_conflict_do_update(
            index_elements=[retention_policies.c.name], set_=values
        )
        with self._store.writing(audit) as conn:
            conn.execute(statement)

    def delete(self, name: str, audit: Sequence[AuditEntry]) -> bool:
        """Remove the policy; False (with the audit still recorded) when there was none."""
        with self._store.writing(audit) as conn:
            result = conn.execute(
                retention_policies.delete().where(retention_policies.c.name == name)
            )
        return result.rowcount == 1

    # Defined last: inside the class body, mypy would take later ``list[...]`` annotations for
    # this method. ``builtins.list`` says which one is meant here.
    def list(self) -> builtins.list[RetentionPolicy]:
        """Every retention policy, by name."""
        query = select(retention_policies).order_by(retention_policies.c.name)
        with self._store.reading() as conn:
            rows = conn.execute(query).mappings().all()
        return [_policy_from_row(row) for row in rows]


# -- candidates -----------------------------------------------------------------------------


def _quarantine_status(value: str) -> QuarantineStatus:
    if value not in _QUARANTINE_STATUSES:
        raise ValueError(f"unknown status {value!r} in quarantine")
    return cast("QuarantineStatus", value)


class SqlRetentionCandidates:
    """The heads retention selects from, paged by ascending id after a cursor (keyset).

    Ids are canonical lowercase UUID strings (fixed width, hyphens at fixed places), so their
    text order is the UUIDs' order; and ORDER BY and the ``>`` cursor use the same collation,
    so paging neither skips nor repeats a row whatever the database's collation.
    """

    def __init__(self, store: SqlControlStore) -> None:
        self._store = store

    def memory_heads(self, *, after: UUID | None, limit: int) -> list[MemoryHead]:
        """Up to ``limit`` memory heads with id > ``after``, live and soft-deleted alike."""
        query = select(
            memories.c.id,
            memories.c.scope,
            memories.c.created_at,
            memories.c.expires_at,
            memories.c.deleted_at,
        ).order_by(memories.c.id)
        if after is not None:
            query = query.where(memories.c.id > str(after))
        with self._store.reading() as conn:
            rows = conn.execute(query.limit(_check_limit(limit))).mappings().all()
        return [
            MemoryHead(
                id=UUID(row["id"]),
                scope=row["scope"],
                created_at=row["created_at"],
                expires_at=row["expires_at"],
                deleted_at=row["deleted_at"],
            )
            for row in rows
        ]

    def quarantine_heads(self, *, after: UUID | None, limit: int) -> list[QuarantineHead]:
        """Up to ``limit`` quarantine items with id > ``after``, in every status."""
        query = select(
            quarantine.c.id,
            quarantine.c.scope,
            quarantine.c.status,
            quarantine.c.created_at,
            quarantine.c.decided_at,
        ).order_by(quarantine.c.id)
        if after is not None:
            query = query.where(quarantine.c.id > str(after))
        with self._store.reading() as conn:
            rows = conn.execute(query.limit(_check_limit(limit))).mappings().all()
        return [
            QuarantineHead(
                id=UUID(row["id"]),
                scope=row["scope"],
                status=_quarantine_status(row["status"]),
                created_at=row["created_at"],
                decided_at=row["decided_at"],
            )
            for row in rows
        ]
