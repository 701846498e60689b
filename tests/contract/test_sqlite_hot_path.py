"""SQLite's hot path (key check, read audits): the rows, chain and durability of SQLAlchemy's.

Observed on the real database: the statements each pooled sqlite3 connection ran (its trace
callback), the bytes stored (read back with plain SQL), and the chain as ``verify`` sees it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import delete, event, text

from memory_service.domain.audit import AuditEntry, AuditQuery
from memory_service.domain.grants import ALL_PERMISSIONS, Grant, Permission
from memory_service.domain.models import ApiKeyRecord
from memory_service.domain.scopes import ScopeFilter, ScopePattern
from memory_service.errors import StoreUnavailable
from memory_service.storage.sql import SqlControlStore, sqlite_url_for
from memory_service.storage.sql.schema import audit_chain
from tests.conftest import AUDIT_KEY

EVERYTHING = ScopeFilter((ScopePattern.parse("**"),))
AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
FULL, NORMAL = 2, 1


def make_store(
    tmp_path: Path, *, hot_path: bool = True, fsync: bool = False, fixed_clock: bool = False
) -> SqlControlStore:
    store = SqlControlStore(
        sqlite_url_for(tmp_path),
        audit_key=AUDIT_KEY,
        fsync_read_audits=fsync,
        sqlite_hot_path=hot_path,
        **({"clock": lambda: AT} if fixed_clock else {}),
    )
    store.migrate()
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlControlStore]:
    control = make_store(tmp_path)
    try:
        yield control
    finally:
        control.close()


def search_entry(n: int = 0, memories: int = 3) -> AuditEntry:
    return AuditEntry(
        action="memory.search",
        actor=f"agent-{n}",
        actor_id=str(uuid4()),
        request_id=str(uuid4()),
        scope="acme/support",
        memory_ids=tuple(str(uuid4()) for _ in range(memories)),
        details={"returned": memories, "scopes": ["acme/support"]},
    )


def write_entry(n: int = 0) -> AuditEntry:
    return AuditEntry(action="memory.create", actor=f"agent-{n}", scope="acme/support")


@contextmanager
def tracing(store: SqlControlStore) -> Iterator[list[tuple[int, str]]]:
    """(which driver connection, statement) for every statement run while inside."""
    seen: list[tuple[int, str]] = []

    def on_checkout(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        ident = id(dbapi_connection)
        dbapi_connection.set_trace_callback(lambda sql: seen.append((ident, sql)))

    event.listen(store.engine, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(store.engine, "checkout", on_checkout)


def shape(statements: list[str]) -> list[str]:
    """Each statement by its first words, repeats (executemany) folded into one."""
    out: list[str] = []
    for sql in statements:
        words = " ".join(sql.split()[:3]).split("(")[0].strip()
        if not out or out[-1] != words:
            out.append(words)
    return out


def idle_synchronous(store: SqlControlStore) -> tuple[int, int]:
    """(the driver connection the pool hands out next, its PRAGMA synchronous)."""
    with store.engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        assert driver is not None
        value = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        return id(driver), int(value)


def stored_rows(database: Path) -> list[tuple[Any, ...]]:
    """Every event as the file holds it (value and SQLite type of each column), and its links."""
    columns = "at, action, actor, actor_id, request_id, scope, memory_ids, decision, details"
    typed = ", ".join(f"{c}, typeof({c})" for c in columns.split(", "))
    with closing(sqlite3.connect(database)) as conn:
        events = conn.execute(f"SELECT seq, {typed} FROM audit_events ORDER BY seq").fetchall()  # noqa: S608
        return [
            (
                *row[1:],
                conn.execute(
                    "SELECT memory_id FROM audit_event_memories WHERE seq = ? ORDER BY memory_id",
                    (row[0],),
                ).fetchall(),
            )
            for row in events
        ]


def test_a_lazy_read_audit_is_one_transaction_then_its_connection_is_durable_again(
    store: SqlControlStore,
) -> None:
    with tracing(store) as trace:
        store.record_read_audit([search_entry(memories=3)])
    (connection,) = {ident for ident, _ in trace}
    assert shape([sql for _, sql in trace]) == [
        "PRAGMA synchronous=NORMAL",
        "BEGIN IMMEDIATE",
        "SELECT audit_chain.id, audit_chain.head_seq,",
        "INSERT INTO audit_events",
        "INSERT INTO audit_event_memories",
        "UPDATE audit_chain SET",
        "COMMIT",
        "PRAGMA synchronous=FULL",
    ]
    # Three links, one per memory returned.
    assert sum("audit_event_memories" in sql for _, sql in trace) == 3
    assert idle_synchronous(store) == (connection, FULL)


def test_an_fsynced_read_audit_never_leaves_full_synchronous(tmp_path: Path) -> None:
    store = make_store(tmp_path, fsync=True)
    try:
        with tracing(store) as trace:
            store.record_read_audit([search_entry()])
        statements = [sql for _, sql in trace]
        assert not [sql for sql in statements if "synchronous" in sql]
        assert statements[0] == "BEGIN IMMEDIATE"
        assert statements[-1] == "COMMIT"
        assert idle_synchronous(store)[1] == FULL
    finally:
        store.close()


def test_rows_are_stored_exactly_as_through_sqlalchemy(tmp_path: Path) -> None:
    driver = make_store(tmp_path, hot_path=True, fixed_clock=True)
    library = make_store(tmp_path, hot_path=False, fixed_clock=True)
    entry = search_entry(memories=4)
    unusual = AuditEntry(
        action="memory.get",
        actor='agent \u00e9\u4e2d "quoted"',
        actor_id=None,
        request_id=None,
        scope=None,
        memory_ids=(),
        decision={"nested": {"list": [1, 2.5, None, True]}, "text": "line\nbreak"},
        details={},
    )
    try:
        for one in (entry, unusual):
            driver.record_read_audit([one])
            library.record_read_audit([one])
    finally:
        driver.close()
        library.close()
    rows = stored_rows(tmp_path / "control.sqlite3")
    assert len(rows) == 4
    assert rows[0] == rows[1]
    assert rows[2] == rows[3]
    assert len(rows[0][-1]) == 4
    assert rows[2][-1] == []


def test_driver_events_chain_with_the_others_and_are_found_by_memory(
    store: SqlControlStore,
) -> None:
    reads = [search_entry(n) for n in range(3)]
    store.record_audit([write_entry(0)])
    store.record_read_audit([reads[0]])
    store.record_read_audit(reads[1:])
    store.record_audit([write_entry(1)])

    trail = store.audit_trail()
    verification = trail.verify()
    assert (verification.ok, verification.events) == (True, 5)
    events = list(trail.events())
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.entry for e in events[1:4]] == reads
    for read in reads:
        found, _ = trail.query(
            AuditQuery(memory_id=read.memory_ids[1]), EVERYTHING, limit=10, cursor=None
        )
        assert [e.entry for e in found] == [read]


def test_parallel_driver_reads_and_library_writes_never_fork_the_chain(tmp_path: Path) -> None:
    store = make_store(tmp_path, hot_path=True)
    other = make_store(tmp_path, hot_path=False)
    per_thread, threads = 15, 6
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(per_thread):
                if worker % 2:
                    store.record_read_audit([search_entry(n), search_entry(n)])
                else:
                    other.record_audit([write_entry(n), write_entry(n)])
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        total = per_thread * threads * 2
        verification = store.audit_trail().verify()
        assert (verification.ok, verification.events) == (True, total)
        assert [e.seq for e in store.audit_trail().events()] == list(range(1, total + 1))
    finally:
        other.close()
        store.close()


def test_no_chain_means_no_read(store: SqlControlStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(audit_chain))
    with pytest.raises(StoreUnavailable, match="not initialised"):
        store.record_read_audit([search_entry()])
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 0
    # The write lock was let go: the chain is restored and the next read is audited.
    store.migrate()
    store.record_read_audit([search_entry()])
    assert store.audit_trail().verify().events == 1


def test_a_database_error_is_unavailable_and_rolls_the_event_back(store: SqlControlStore) -> None:
    store.record_read_audit([search_entry()])
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_event_memories RENAME TO moved_away"))
    with pytest.raises(StoreUnavailable):
        store.record_read_audit([search_entry()])
    with store.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 1
        conn.execute(text("ALTER TABLE moved_away RENAME TO audit_event_memories"))
    store.record_read_audit([search_entry()])
    verification = store.audit_trail().verify()
    assert (verification.ok, verification.events) == (True, 2)


def test_a_failed_read_audit_leaves_no_lazy_connection_behind(store: SqlControlStore) -> None:
    unserialisable = AuditEntry(action="memory.get", actor="a", details={"x": object()})
    with tracing(store) as trace, pytest.raises(TypeError):
        store.record_read_audit([unserialisable])
    assert "PRAGMA synchronous=NORMAL" in [sql for _, sql in trace]
    # That connection was closed, not pooled: the next one is new and durable.
    assert idle_synchronous(store)[1] == FULL
    store.record_read_audit([search_entry()])
    verification = store.audit_trail().verify()
    assert (verification.ok, verification.events) == (True, 1)


# -- the key check ----------------------------------------------------------------------------


def issue(store: SqlControlStore, name: str, grants: list[Grant], **fields: Any) -> ApiKeyRecord:
    record = ApiKeyRecord(
        id=uuid4(),
        name=name,
        lookup=f"lk{uuid4().hex[:12]}",
        secret_hash="0" * 64,
        grants=tuple(grants),
        created_at=AT,
        **fields,
    )
    store.add_key(record)
    return record


def test_keys_read_on_the_hot_path_are_the_keys_sqlalchemy_reads(tmp_path: Path) -> None:
    hot = make_store(tmp_path, hot_path=True)
    library = make_store(tmp_path, hot_path=False)
    try:
        admin = issue(hot, "admin", [Grant(ScopePattern.parse("**"), ALL_PERMISSIONS)])
        reader = issue(
            hot,
            "reader \u00e9",
            [
                Grant(ScopePattern.parse("acme/**"), frozenset({Permission.MEMORY_READ})),
                Grant(ScopePattern.parse("umbrella/x"), frozenset({Permission.MEMORY_WRITE})),
            ],
            expires_at=AT + timedelta(days=30),
        )
        for record in (admin, reader):
            found = hot.key_by_lookup(record.lookup)
            assert found == library.key_by_lookup(record.lookup) == record
        assert reader.expires_at is not None
        found = hot.key_by_lookup(reader.lookup)
        assert found is not None
        assert found.expires_at == reader.expires_at
        assert found.expires_at.tzinfo is not None
        assert hot.key_by_lookup("lk-none-such") is None
    finally:
        hot.close()
        library.close()


def test_a_revocation_is_seen_by_the_very_next_key_check(tmp_path: Path) -> None:
    hot = make_store(tmp_path, hot_path=True)
    other_replica = make_store(tmp_path, hot_path=False)
    try:
        record = issue(hot, "agent", [Grant(ScopePattern.parse("acme"), ALL_PERMISSIONS)])
        before = hot.key_by_lookup(record.lookup)
        assert before is not None
        assert before.revoked_at is None
        assert other_replica.revoke_key(record.id, AT + timedelta(hours=1))
        after = hot.key_by_lookup(record.lookup)
        assert after is not None
        assert after.revoked_at == AT + timedelta(hours=1)
    finally:
        hot.close()
        other_replica.close()


def test_the_key_check_is_one_statement(store: SqlControlStore) -> None:
    record = issue(store, "agent", [Grant(ScopePattern.parse("acme"), ALL_PERMISSIONS)])
    with tracing(store) as trace:
        assert store.key_by_lookup(record.lookup) == record
    assert shape([sql for _, sql in trace]) == ["SELECT api_keys.id, api_keys.name,"]


def test_a_key_check_on_a_broken_database_is_unavailable(store: SqlControlStore) -> None:
    record = issue(store, "agent", [Grant(ScopePattern.parse("acme"), ALL_PERMISSIONS)])
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE api_keys RENAME TO moved_away"))
    with pytest.raises(StoreUnavailable):
        store.key_by_lookup(record.lookup)
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE moved_away RENAME TO api_keys"))
    assert store.key_by_lookup(record.lookup) == record
