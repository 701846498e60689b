"""Read audits on SQLite, appended on the driver connection instead of through SQLAlchemy.

Every search, get and list appends one audit event, and a link row per memory it returned,
before its response. Through SQLAlchemy Core that transaction took 0.76 ms p50 (a search's
event, 10 links, 100k events in the trail); the same statements on the ``sqlite3`` connection
took 0.30 ms: the rest was the library's own work per statement (execution context,
parameters, events), paid five times per read. See README "Recall speed".

Nothing else changes: the same lock (``BEGIN IMMEDIATE``), the same chain (the events come from
:func:`~memory_service.storage.sql.audit.chain_events`), and each value goes through its
column's own bind processor for this dialect, so a row is stored exactly as SQLAlchemy would
store it (a contract test compares the two). Reading, querying and verifying the trail stay on
the one SQLAlchemy code path; so do PostgreSQL, whose appends wait on the network anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from memory_service.domain.audit import AuditEntry, AuditEvent
from memory_service.errors import StoreUnavailable
from memory_service.storage.sql.audit import (
    CHAIN_ROW,
    chain_events,
    event_row,
    head_row,
    link_rows,
)
from memory_service.storage.sql.schema import audit_chain, audit_event_memories, audit_events

Binder = tuple[str, Callable[[Any], Any] | None]

# What "the database did not answer" is here: the driver's own errors, and SQLAlchemy's when
# the pool cannot hand out a connection.
_UNAVAILABLE: Final = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
)
_HEAD: Final = f"SELECT head_seq, head_hash FROM {audit_chain.name} WHERE id = {CHAIN_ROW}"  # noqa: S608
_MOVE_HEAD: Final = (
    f"UPDATE {audit_chain.name} SET head_seq = :seq, head_hash = :hash, head_mac = :mac"  # noqa: S608
    f" WHERE id = {CHAIN_ROW}"
)


def _insert_sql(table: Table) -> str:
    names = [column.name for column in table.columns]
    return (
        f"INSERT INTO {table.name} ({', '.join(names)})"  # noqa: S608 - names from the schema
        f" VALUES ({', '.join(':' + name for name in names)})"
    )


def _binders(table: Table, dialect: Dialect) -> list[Binder]:
    return [
        (column.name, column.type.dialect_impl(dialect).bind_processor(dialect))
        for column in table.columns
    ]


def _bound(row: dict[str, Any], binders: Sequence[Binder]) -> dict[str, Any]:
    return {name: row[name] if process is None else process(row[name]) for name, process in binders}


class SqliteReadAudit:
    """Appends read audits to the chain of a SQLite control store (see the module's text)."""

    def __init__(self, engine: Engine, key: bytes, clock: Callable[[], datetime]) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the driver path is for SQLite only")
        self._engine = engine
        self._key = key
        self._clock = clock
        self._event_binders = _binders(audit_events, engine.dialect)
        self._link_binders = _binders(audit_event_memories, engine.dialect)
        self._insert_event = _insert_sql(audit_events)
        self._insert_link = _insert_sql(audit_event_memories)

    def append(self, entries: Sequence[AuditEntry], *, fsync: bool) -> list[AuditEvent]:
        """Chain ``entries`` onto the trail in a transaction of their own, committed (and with
        ``fsync``, on disk) before this returns; raises, and appends nothing, if it cannot."""
        if not entries:
            return []
        try:
            raw = self._engine.raw_connection()
        except _UNAVAILABLE as exc:
            raise StoreUnavailable("control store unavailable") from exc
        try:
            driver: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
            if not fsync:
                # As SqlControlStore._lazy_sync: WAL mode skips the fsync at this commit only.
                driver.execute("PRAGMA synchronous=NORMAL")
            driver.execute("BEGIN IMMEDIATE")
            events = self._append(driver, entries)
            driver.execute("COMMIT")
            if not fsync:
                driver.execute("PRAGMA synchronous=FULL")
        except BaseException as exc:
            # Rolled back, and this connection (its transaction or pragma state unknown) is
            # closed rather than handed to the next request.
            raw.invalidate()
            if isinstance(exc, _UNAVAILABLE):
                raise StoreUnavailable("control store unavailable") from exc
            raise
        raw.close()
        return events

    def _append(
        self, driver: sqlite3.Connection, entries: Sequence[AuditEntry]
    ) -> list[AuditEvent]:
        head = driver.execute(_HEAD).fetchone()
        if head is None:
            raise StoreUnavailable("the audit trail is not initialised")
        # Taken after the lock, so that time never runs backwards along the chain.
        events = chain_events(self._key, int(head[0]), str(head[1]), self._clock(), entries)
        driver.executemany(
            self._insert_event, [_bound(event_row(e), self._event_binders) for e in events]
        )
        if links := link_rows(events):
            driver.executemany(
                self._insert_link, [_bound(link, self._link_binders) for link in links]
            )
        driver.execute(_MOVE_HEAD, head_row(self._key, events[-1]))
        return events
