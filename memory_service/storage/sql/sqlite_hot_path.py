"""The two statements every read request runs, on SQLite's own connection instead of SQLAlchemy.

Every search, get and list checks its key and appends an audit event (and a link row per
memory it returned) before its response. Through SQLAlchemy Core, in the server at 100k
memories, these took 0.35-0.40 ms and 1.0 ms p50; on the ``sqlite3`` connection the same
statements take 0.13 ms and 0.55 ms: the rest was the library's own work per statement
(execution context, parameters, events, its transaction bookkeeping). See README "Recall
speed".

Nothing else changes. The statements are the library's own (``KEY_BY_LOOKUP`` and the audit
module's), compiled once for the driver. The key is read with that one ``SELECT`` (atomic on
its own, as the library's read transaction was); the audit event takes the same lock
(``BEGIN IMMEDIATE``) and the same chain (:func:`~memory_service.storage.sql.audit.chain_events`).
Each value goes through its column's own bind or result processor for this dialect, so rows
are written and read exactly as SQLAlchemy does (a contract test compares the stored bytes).
Everything else, including reading and verifying the trail, stays on the one SQLAlchemy code
path; so does PostgreSQL, whose statements wait on the network anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, Table
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.sql.elements import ClauseElement

from memory_service.domain.audit import AuditEntry, AuditEvent
from memory_service.errors import StoreUnavailable
from memory_service.storage.sql.audit import (
    INSERT_EVENTS,
    INSERT_LINKS,
    LOCK_HEAD,
    MOVE_HEAD,
    chain_events,
    event_row,
    head_row,
    link_rows,
)
from memory_service.storage.sql.schema import (
    KEY_BY_LOOKUP,
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
# The library's statements are compiled for the driver with named parameters, so that a row
# (a dict by column name) binds as it is.
_NAMED: Final = SQLiteDialect_pysqlite(paramstyle="named")


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One of the library's statements as the driver runs it: its SQL, and the values of the
    literals it holds (``audit_chain.id = 1``), to which each call's parameters are added."""

    sql: str
    literals: dict[str, Any]

    @classmethod
    def of(cls, statement: ClauseElement) -> _Compiled:
        compiled = statement.compile(dialect=_NAMED)
        return cls(str(compiled), {k: v for k, v in compiled.params.items() if v is not None})

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.literals, **values}


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


def _read(row: Sequence[Any], readers: Sequence[Processor]) -> dict[str, Any]:
    return {
        name: value if process is None else process(value)
        for (name, process), value in zip(readers, row, strict=True)
    }


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
        self._key_by_lookup = _Compiled.of(KEY_BY_LOOKUP)
        self._key_readers = _readers(api_keys, dialect)
        self._lock_head = _Compiled.of(LOCK_HEAD)
        self._head_readers = _readers(audit_chain, dialect)
        self._insert_event = _Compiled.of(INSERT_EVENTS)
        self._event_binders = _binders(audit_events, dialect)
        self._insert_link = _Compiled.of(INSERT_LINKS)
        self._link_binders = _binders(audit_event_memories, dialect)
        self._move_head = _Compiled.of(MOVE_HEAD)

    def key_row(self, lookup: str) -> dict[str, Any] | None:
        """The ``api_keys`` row with this lookup, by column name, as SQLAlchemy reads it."""
        query = self._key_by_lookup
        with self._connection() as driver:
            row = driver.execute(query.sql, query.params({"lookup": lookup})).fetchone()
        return None if row is None else _read(row, self._key_readers)

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
        lock = self._lock_head
        found = driver.execute(lock.sql, lock.params({})).fetchone()
        if found is None:
            raise StoreUnavailable("the audit trail is not initialised")
        head = _read(found, self._head_readers)
        # Taken after the lock, so that time never runs backwards along the chain.
        events = chain_events(
            key, int(head["head_seq"]), str(head["head_hash"]), self._clock(), entries
        )
        insert = self._insert_event
        driver.executemany(
            insert.sql, [insert.params(_bound(event_row(e), self._event_binders)) for e in events]
        )
        if links := link_rows(events):
            insert = self._insert_link
            driver.executemany(
                insert.sql, [insert.params(_bound(link, self._link_binders)) for link in links]
            )
        move = self._move_head
        driver.execute(move.sql, move.params(head_row(key, events[-1])))
        return events
