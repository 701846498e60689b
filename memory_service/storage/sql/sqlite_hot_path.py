"""The two statements every read request runs, on SQLite's own connection instead of SQLAlchemy.

Every search, get and list checks its key and appends an audit event (and a link row per
memory it returned) before its response. Through SQLAlchemy Core, in the server at 100k
memories, these took 0.35-0.40 ms and 1.0 ms p50; on the ``sqlite3`` connection the same
statements take 0.13 ms and 0.55 ms: the rest was the library's own work per statement
(execution context, parameters, events, its transaction bookkeeping). See README "Recall
speed".

Nothing else changes. The key is read with one ``SELECT`` (atomic on its own, as the
library's read transaction was); the audit event takes the same lock (``BEGIN IMMEDIATE``) and
the same chain (:func:`~memory_service.storage.sql.audit.chain_events`). Each value goes
through its column's own bind or result processor for this dialect, so rows are written and
read exactly as SQLAlchemy does (a contract test compares the stored bytes). Everything else,
including reading and verifying the trail, stays on the one SQLAlchemy code path; so does
PostgreSQL, whose statements wait on the network anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
from memory_service.storage.sql.schema import (
    api_keys,
    audit_chain,
    audit_event_memories,
    audit_events,
)

Processor = tuple[str, Callable[[Any], Any] | None]

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


def _names(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def _insert_sql(table: Table) -> str:
    names = _names(table)
    return (
        f"INSERT INTO {table.name} ({', '.join(names)})"  # noqa: S608 - names from the schema
        f" VALUES ({', '.join(':' + name for name in names)})"
    )


def _binders(table: Table, dialect: Dialect) -> list[Processor]:
    return [
        (column.name, column.type.dialect_impl(dialect).bind_processor(dialect))
        for column in table.columns
    ]


def _readers(table: Table, dialect: Dialect) -> list[Processor]:
    return [
        (column.name, column.type.dialect_impl(dialect).result_processor(dialect, None))
        for column in table.columns
    ]


def _bound(row: dict[str, Any], binders: Sequence[Processor]) -> dict[str, Any]:
    return {name: row[name] if process is None else process(row[name]) for name, process in binders}


def _sqlite(driver: object) -> sqlite3.Connection:
    if not isinstance(driver, sqlite3.Connection):
        raise StoreUnavailable("the control store connection is closed")
    return driver


class SqliteHotPath:
    """The key check's read and the read audit's append on a SQLite control store."""

    def __init__(self, engine: Engine, key: bytes | None, clock: Callable[[], datetime]) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the hot path is for SQLite only")
        self._engine = engine
        self._key = key
        self._clock = clock
        dialect = engine.dialect
        self._key_readers = _readers(api_keys, dialect)
        self._key_by_lookup = (
            f"SELECT {', '.join(_names(api_keys))} FROM {api_keys.name}"  # noqa: S608
            " WHERE lookup = ?"
        )
        self._event_binders = _binders(audit_events, dialect)
        self._link_binders = _binders(audit_event_memories, dialect)
        self._insert_event = _insert_sql(audit_events)
        self._insert_link = _insert_sql(audit_event_memories)

    def key_row(self, lookup: str) -> dict[str, Any] | None:
        """The ``api_keys`` row with this lookup, by column name, as SQLAlchemy reads it."""
        with self._connection() as driver:
            row = driver.execute(self._key_by_lookup, (lookup,)).fetchone()
        if row is None:
            return None
        return {
            name: value if process is None else process(value)
            for (name, process), value in zip(self._key_readers, row, strict=True)
        }

    def append_read_audit(self, entries: Sequence[AuditEntry], *, fsync: bool) -> list[AuditEvent]:
        """Chain ``entries`` onto the trail in a transaction of their own, committed (and with
        ``fsync``, on disk) before this returns; raises, and appends nothing, if it cannot."""
        if not entries:
            return []
        if self._key is None:
            # Fail closed: a read that cannot be audited does not happen.
            raise StoreUnavailable("the audit trail is not configured")
        key = self._key
        with self._connection() as driver:
            if not fsync:
                # As SqlControlStore._lazy_sync: WAL mode skips the fsync at this commit only.
                driver.execute("PRAGMA synchronous=NORMAL")
            driver.execute("BEGIN IMMEDIATE")
            events = self._append(driver, key, entries)
            driver.execute("COMMIT")
            if not fsync:
                driver.execute("PRAGMA synchronous=FULL")
        return events

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection, handed back when done; on any error it is closed instead (a
        transaction or pragma it was left in is rolled back with it), and a database that does
        not answer is :class:`StoreUnavailable`."""
        try:
            raw = self._engine.raw_connection()
        except _UNAVAILABLE as exc:
            raise StoreUnavailable("control store unavailable") from exc
        try:
            yield _sqlite(raw.driver_connection)
        except BaseException as exc:
            raw.invalidate()
            if isinstance(exc, _UNAVAILABLE):
                raise StoreUnavailable("control store unavailable") from exc
            raise
        raw.close()

    def _append(
        self, driver: sqlite3.Connection, key: bytes, entries: Sequence[AuditEntry]
    ) -> list[AuditEvent]:
        head = driver.execute(_HEAD).fetchone()
        if head is None:
            raise StoreUnavailable("the audit trail is not initialised")
        # Taken after the lock, so that time never runs backwards along the chain.
        events = chain_events(key, int(head[0]), str(head[1]), self._clock(), entries)
        driver.executemany(
            self._insert_event, [_bound(event_row(e), self._event_binders) for e in events]
        )
        if links := link_rows(events):
            driver.executemany(
                self._insert_link, [_bound(link, self._link_binders) for link in links]
            )
        driver.execute(_MOVE_HEAD, head_row(key, events[-1]))
        return events
