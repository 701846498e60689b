"""Contract of the SQL control store, run against SQLite and PostgreSQL alike.

PostgreSQL is required, not optional: if the server is unreachable the postgres cases fail.
Point ``MEMSVC_TEST_POSTGRES_URL`` at a maintenance database to use another server.
"""

from __future__ import annotations

import itertools
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, delete, event, func, select, text
from sqlalchemy.exc import StatementError

from memory_service.domain.audit import AuditEntry
from memory_service.domain.grants import Grant, Permission
from memory_service.domain.models import (
    ApiKeyRecord,
    Classification,
    FindingSummary,
    IdempotencyRecord,
    Provenance,
    VersionRecord,
)
from memory_service.domain.scopes import ScopeFilter, ScopePattern
from memory_service.errors import StoreUnavailable, VersionConflict
from memory_service.storage.sql import SqlControlStore, normalise_url, sqlite_url_for
from memory_service.storage.sql.schema import memories, memory_versions, metadata
from tests.conftest import AUDIT_KEY, reset_postgres

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
EVERYTHING = ScopeFilter((ScopePattern.parse("**"),))
NOTHING = ScopeFilter(())
THREADS = 8


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def control_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlControlStore]:
    if request.param == "sqlite":
        url = sqlite_url_for(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    store = SqlControlStore(url, audit_key=AUDIT_KEY)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlControlStore]:
    store = SqlControlStore(sqlite_url_for(tmp_path), audit_key=AUDIT_KEY)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


# -- builders -------------------------------------------------------------------------------


def version(
    memory_id: UUID,
    number: int = 1,
    *,
    scope: str = "acme/support",
    op: Literal["create", "update", "delete", "restore"] = "create",
    content: str = "likes tea",
    at: datetime = T0,
) -> VersionRecord:
    return VersionRecord(
        memory_id=memory_id,
        version=number,
        scope=scope,
        content=content,
        metadata={"source": "chat", "nested": {"n": 1, "ok": True}, "text": "héllo ✓"},
        tags=("pref", "drink"),
        subject="user-42",
        expires_at=at + timedelta(days=30),
        classification=Classification(
            action="redacted",
            findings=(FindingSummary(kind="pii", type="email", action="redact"),),
        ),
        provenance=Provenance(created_by="key-1", request_id="req-1", source={"app": "x"}),
        op=op,
        changed_by="key-1",
        changed_at=at + timedelta(seconds=number),
        created_at=at,
    )


def key(name: str = "agent", *, created_at: datetime = T0) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=uuid4(),
        name=name,
        lookup=f"mk_{secrets.token_hex(8)}",
        secret_hash=secrets.token_hex(32),
        grants=(
            Grant(
                ScopePattern.parse("acme/**"),
                frozenset({Permission.MEMORY_READ, Permission.MEMORY_WRITE}),
            ),
            Grant(ScopePattern.parse("**"), frozenset({Permission.KEYS_ADMIN})),
        ),
        created_at=created_at,
        expires_at=created_at + timedelta(days=90),
    )


def scopes(*patterns: str) -> ScopeFilter:
    return ScopeFilter(tuple(ScopePattern.parse(p) for p in patterns))


def create(store: SqlControlStore, scope: str) -> UUID:
    memory_id = uuid4()
    store.append_version(version(memory_id, scope=scope), expected_version=None)
    return memory_id


def race(attempt: Callable[[], None]) -> tuple[int, list[BaseException]]:
    """Run ``attempt`` in THREADS threads released together; (successes, conflict errors)."""
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()
    successes = 0
    errors: list[BaseException] = []

    def run() -> None:
        nonlocal successes
        barrier.wait()
        try:
            attempt()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                successes += 1

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return successes, errors


# -- migrations and connection settings -----------------------------------------------------


def test_migrate_is_idempotent(control_store: SqlControlStore) -> None:
    control_store.migrate()
    control_store.migrate()
    with control_store.engine.connect() as conn:
        revisions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert revisions == ["0006"]
    assert control_store.count_keys() == 0


def test_migrations_match_schema_module(control_store: SqlControlStore) -> None:
    with control_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_ping(control_store: SqlControlStore) -> None:
    control_store.ping()


def test_sqlite_connection_settings(sqlite_store: SqlControlStore, tmp_path: Path) -> None:
    with sqlite_store.engine.connect() as conn:
        settings = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "secure_delete", "foreign_keys")
        }
        busy_timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert settings == {
        "journal_mode": "wal",
        "synchronous": 2,
        "secure_delete": 1,
        "foreign_keys": 1,
    }
    assert isinstance(busy_timeout, int)
    assert busy_timeout >= 5000
    mode = stat.S_IMODE((tmp_path / "control.sqlite3").stat().st_mode)
    assert mode & 0o077 == 0


def test_sqlite_url_for(tmp_path: Path) -> None:
    assert sqlite_url_for(tmp_path) == f"sqlite:///{tmp_path.resolve()}/control.sqlite3"


def test_postgres_urls_use_psycopg3() -> None:
    for url in ("postgresql://u:p%40ss@db:5432/mem", "postgres://u:p%40ss@db:5432/mem"):
        parsed = normalise_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert parsed.password == "p@ss"
    assert normalise_url("postgresql+psycopg://db/mem").drivername == "postgresql+psycopg"
    # The engine connects lazily.
    store = SqlControlStore("postgresql://u@127.0.0.1/mem", audit_key=AUDIT_KEY)
    try:
        assert store.engine.url.drivername == "postgresql+psycopg"
    finally:
        store.close()


def test_unreachable_database_is_store_unavailable() -> None:
    store = SqlControlStore("postgresql://postgres@127.0.0.1:1/nothing", audit_key=AUDIT_KEY)
    try:
        with pytest.raises(StoreUnavailable):
            store.ping()
    finally:
        store.close()


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="backend"):
        SqlControlStore("mysql://db/mem", audit_key=AUDIT_KEY)


# -- keys -----------------------------------------------------------------------------------


def test_keys_round_trip(control_store: SqlControlStore) -> None:
    later = key("later", created_at=T0 + timedelta(hours=1))
    earlier = key("earlier", created_at=T0)
    control_store.add_key(later)
    control_store.add_key(earlier)

    assert control_store.key_by_lookup(earlier.lookup) == earlier
    assert control_store.key_by_lookup("mk_unknown") is None
    assert control_store.list_keys() == [earlier, later]
    assert control_store.count_keys() == 2


def test_revoke_key(control_store: SqlControlStore) -> None:
    record = key()
    control_store.add_key(record)
    at = T0 + timedelta(days=1)

    assert control_store.revoke_key(record.id, at) is True
    assert control_store.revoke_key(record.id, at + timedelta(days=1)) is False
    assert control_store.revoke_key(uuid4(), at) is False

    stored = control_store.key_by_lookup(record.lookup)
    assert stored is not None
    assert stored.revoked_at == at
    assert control_store.count_keys() == 1


# -- versions -------------------------------------------------------------------------------


def test_create_then_update(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    first = version(memory_id)
    second = version(memory_id, 2, op="update", content="likes coffee")
    control_store.append_version(first, expected_version=None)
    assert control_store.head(memory_id, EVERYTHING) == first

    control_store.append_version(second, expected_version=1)
    assert control_store.head(memory_id, EVERYTHING) == second
    assert control_store.history(memory_id, EVERYTHING) == [first, second]


def test_create_of_existing_memory_conflicts(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    control_store.append_version(version(memory_id), expected_version=None)
    with pytest.raises(VersionConflict):
        control_store.append_version(version(memory_id, content="other"), expected_version=None)
    assert [v.content for v in control_store.history(memory_id, EVERYTHING)] == ["likes tea"]


def test_stale_update_conflicts_and_leaves_no_trace(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    control_store.append_version(version(memory_id), expected_version=None)
    control_store.append_version(version(memory_id, 2, op="update"), expected_version=1)
    with pytest.raises(VersionConflict):
        control_store.append_version(version(memory_id, 2, op="update"), expected_version=1)
    with pytest.raises(VersionConflict):
        control_store.append_version(version(memory_id, 4, op="update"), expected_version=3)
    assert [v.version for v in control_store.history(memory_id, EVERYTHING)] == [1, 2]
    head = control_store.head(memory_id, EVERYTHING)
    assert head is not None
    assert head.version == 2


def test_update_of_missing_memory_conflicts(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    with pytest.raises(VersionConflict):
        control_store.append_version(version(memory_id, 2, op="update"), expected_version=1)
    assert control_store.head(memory_id, EVERYTHING) is None
    assert control_store.history(memory_id, EVERYTHING) == []


def test_new_version_must_follow_expected(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    control_store.append_version(version(memory_id), expected_version=None)
    with pytest.raises(ValueError, match="follow"):
        control_store.append_version(version(memory_id, 3, op="update"), expected_version=1)


def test_delete_and_restore_are_versions(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    control_store.append_version(version(memory_id), expected_version=None)
    control_store.append_version(version(memory_id, 2, op="delete"), expected_version=1)
    head = control_store.head(memory_id, EVERYTHING)
    assert head is not None
    assert head.op == "delete"
    with control_store.engine.connect() as conn:
        deleted, deleted_at = conn.execute(
            select(memories.c.deleted, memories.c.deleted_at).where(memories.c.id == str(memory_id))
        ).one()
    assert deleted is True
    assert deleted_at == head.changed_at

    control_store.append_version(version(memory_id, 3, op="restore"), expected_version=2)
    with control_store.engine.connect() as conn:
        deleted, deleted_at = conn.execute(
            select(memories.c.deleted, memories.c.deleted_at).where(memories.c.id == str(memory_id))
        ).one()
    assert deleted is False
    assert deleted_at is None


def test_removing_a_head_removes_its_history(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    control_store.append_version(version(memory_id), expected_version=None)
    control_store.append_version(version(memory_id, 2, op="update"), expected_version=1)
    with control_store.engine.begin() as conn:
        conn.execute(delete(memories).where(memories.c.id == str(memory_id)))
    with control_store.engine.connect() as conn:
        left = conn.execute(
            select(func.count())
            .select_from(memory_versions)
            .where(memory_versions.c.memory_id == str(memory_id))
        ).scalar_one()
    assert left == 0


def test_concurrent_updates_have_one_winner(control_store: SqlControlStore) -> None:
    memory_id = uuid4()
    control_store.append_version(version(memory_id), expected_version=None)

    def update_from_1() -> None:
        control_store.append_version(version(memory_id, 2, op="update"), expected_version=1)

    successes, errors = race(update_from_1)

    assert successes == 1
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, VersionConflict) for error in errors), errors
    assert [v.version for v in control_store.history(memory_id, EVERYTHING)] == [1, 2]


def test_concurrent_creates_have_one_winner(control_store: SqlControlStore) -> None:
    memory_id = uuid4()

    def create_it() -> None:
        control_store.append_version(version(memory_id), expected_version=None)

    successes, errors = race(create_it)

    assert successes == 1
    assert all(isinstance(error, VersionConflict) for error in errors), errors
    assert len(control_store.history(memory_id, EVERYTHING)) == 1


# -- scope filter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "patterns", "visible"),
    [
        ("a_b/c", ("a_b/**",), True),
        ("axb/c", ("a_b/**",), False),  # "_" must not act as a LIKE wildcard
        ("a", ("a/**",), True),
        ("a/b", ("a/**",), True),
        ("a/b/c", ("a/**",), True),
        ("ab", ("a/**",), False),
        ("ab/c", ("a/**",), False),
        ("a", ("a",), True),
        ("a/b", ("a",), False),
        ("a/b", ("x", "a/b"), True),
        ("a/b", ("x", "y/**"), False),
        ("q/r", ("x", "y/**", "q/**"), True),
        ("anything/at/all", ("**",), True),
    ],
)
def test_head_and_history_honour_scope_filter(
    control_store: SqlControlStore, stored: str, patterns: tuple[str, ...], *, visible: bool
) -> None:
    memory_id = create(control_store, stored)
    head = control_store.head(memory_id, scopes(*patterns))
    history = control_store.history(memory_id, scopes(*patterns))
    if visible:
        assert head is not None
        assert head.scope == stored
        assert [v.version for v in history] == [1]
    else:
        assert head is None
        assert history == []


def test_percent_in_a_pattern_is_literal(control_store: SqlControlStore) -> None:
    # The grammar forbids "%" in scopes; the store must still not treat it as a wildcard.
    memory_id = create(control_store, "abc/x")
    raw = ScopeFilter((ScopePattern(base="a%", subtree=True),))
    assert control_store.head(memory_id, raw) is None
    assert control_store.history(memory_id, raw) == []


def test_empty_filter_matches_nothing(control_store: SqlControlStore) -> None:
    memory_id = create(control_store, "acme/support")
    assert control_store.head(memory_id, NOTHING) is None
    assert control_store.history(memory_id, NOTHING) == []


def test_history_hides_versions_from_scopes_outside_the_filter(
    control_store: SqlControlStore,
) -> None:
    memory_id = create(control_store, "secret/team")
    moved = version(memory_id, 2, op="update", scope="public/team", content="shareable")
    control_store.append_version(moved, expected_version=1)

    assert control_store.history(memory_id, scopes("public/**")) == [moved]
    assert control_store.head(memory_id, scopes("secret/**")) is None
    assert control_store.history(memory_id, scopes("secret/**")) == []
    assert len(control_store.history(memory_id, EVERYTHING)) == 2


# -- indexing state -------------------------------------------------------------------------


def test_unindexed_and_mark_indexed(control_store: SqlControlStore) -> None:
    first = create(control_store, "acme/a")
    second = create(control_store, "acme/b")
    assert {(v.memory_id, v.version) for v in control_store.unindexed(10)} == {
        (first, 1),
        (second, 1),
    }
    assert len(control_store.unindexed(1)) == 1

    control_store.mark_indexed(first, 1)
    assert [(v.memory_id, v.version) for v in control_store.unindexed(10)] == [(second, 1)]

    updated = version(first, 2, op="update", scope="acme/a", content="new")
    control_store.append_version(updated, expected_version=1)
    pending = control_store.unindexed(10)
    assert updated in pending

    control_store.mark_indexed(first, 1)  # a late report of the old version changes nothing
    assert updated in control_store.unindexed(10)

    control_store.mark_indexed(first, 2)
    control_store.mark_indexed(second, 1)
    assert control_store.unindexed(10) == []

    control_store.mark_indexed(first, 1)  # never lowered
    control_store.mark_indexed(second, 5)  # never beyond the head
    assert control_store.unindexed(10) == []
    control_store.append_version(
        version(second, 2, op="update", scope="acme/b"), expected_version=1
    )
    assert [(v.memory_id, v.version) for v in control_store.unindexed(10)] == [(second, 2)]


# -- idempotency ----------------------------------------------------------------------------


def test_idempotency_first_write_wins(control_store: SqlControlStore) -> None:
    assert control_store.idempotent_response("key-1", "idem-1") is None
    first = IdempotencyRecord(
        key_id="key-1",
        idempotency_key="idem-1",
        request_hash="h1",
        status_code=201,
        body={"id": "m1", "version": 1, "tags": ["a"]},
        created_at=T0,
    )
    second = IdempotencyRecord(
        key_id="key-1",
        idempotency_key="idem-1",
        request_hash="h2",
        status_code=200,
        body={"other": True},
        created_at=T0 + timedelta(seconds=1),
    )
    control_store.save_idempotent_response(first)
    control_store.save_idempotent_response(second)

    assert control_store.idempotent_response("key-1", "idem-1") == first
    assert control_store.idempotent_response("key-2", "idem-1") is None


# -- time -----------------------------------------------------------------------------------


def test_datetimes_come_back_aware_utc(control_store: SqlControlStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 6, 1, 12, 0, 0, 1, tzinfo=plus_two)
    memory_id = uuid4()
    control_store.append_version(version(memory_id, at=local), expected_version=None)
    record = key(created_at=local)
    control_store.add_key(record)

    head = control_store.head(memory_id, EVERYTHING)
    assert head is not None
    stored_key = control_store.key_by_lookup(record.lookup)
    assert stored_key is not None
    for value in (
        head.created_at,
        head.changed_at,
        head.expires_at,
        stored_key.created_at,
        stored_key.expires_at,
    ):
        assert value is not None
        assert value.tzinfo is UTC
    assert head.created_at == local
    assert head.created_at.hour == 10


def test_naive_datetimes_are_refused(control_store: SqlControlStore) -> None:
    naive = datetime(2025, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError) as caught:
        control_store.add_key(key(created_at=naive))
    assert isinstance(caught.value.orig, ValueError)
    assert control_store.count_keys() == 0


# -- read audits: how durable each transaction's commit is ----------------------------------

# What each backend reports inside a transaction: SQLite's ``PRAGMA synchronous`` (1 NORMAL, 2
# FULL), PostgreSQL's ``SHOW synchronous_commit``.
LAZY: dict[str, object] = {"sqlite": 1, "postgresql": "off"}
DURABLE: dict[str, object] = {"sqlite": 2, "postgresql": "on"}


@dataclass(frozen=True, slots=True)
class TransactionEnd:
    """A transaction as its own connection saw it just before COMMIT or ROLLBACK."""

    end: Literal["commit", "rollback"]
    label: str | None
    driver: object  # the DBAPI connection: which pooled connection ran it
    durability: object


def durability_on(driver: Any, dialect: str) -> object:
    """The durability setting of ``driver`` (a DBAPI connection), read on that connection."""
    cursor = driver.cursor()
    try:
        cursor.execute("PRAGMA synchronous" if dialect == "sqlite" else "SHOW synchronous_commit")
        row = cursor.fetchone()
    finally:
        cursor.close()
    assert row is not None
    value: object = row[0]
    return value


class DurabilityProbe:
    """Reads, inside each transaction on ``engine`` and right before it ends, how durable its
    end is: real connection state, not a mock of the store."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self._local = threading.local()
        self._lock = threading.Lock()
        self._seen: list[TransactionEnd] = []

    def on_commit(self, conn: Connection) -> None:
        self._record("commit", conn)

    def on_rollback(self, conn: Connection) -> None:
        self._record("rollback", conn)

    def _record(self, end: Literal["commit", "rollback"], conn: Connection) -> None:
        driver = conn.connection.dbapi_connection
        assert driver is not None
        seen = TransactionEnd(
            end, getattr(self._local, "label", None), driver, durability_on(driver, self.dialect)
        )
        with self._lock:
            self._seen.append(seen)

    @contextmanager
    def labelled(self, label: str) -> Iterator[None]:
        """Tag what this thread's transactions end with while inside the block."""
        self._local.label = label
        try:
            yield
        finally:
            self._local.label = None

    def take(self) -> list[TransactionEnd]:
        with self._lock:
            taken, self._seen = self._seen, []
        return taken


@contextmanager
def probing(store: SqlControlStore) -> Iterator[DurabilityProbe]:
    probe = DurabilityProbe(store.engine)
    event.listen(store.engine, "commit", probe.on_commit)
    event.listen(store.engine, "rollback", probe.on_rollback)
    try:
        yield probe
    finally:
        event.remove(store.engine, "commit", probe.on_commit)
        event.remove(store.engine, "rollback", probe.on_rollback)


def idle_durability(store: SqlControlStore) -> tuple[object, object]:
    """(the DBAPI connection the pool hands out next, its durability outside any transaction)."""
    with store.engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        assert driver is not None
        return driver, durability_on(driver, store.engine.dialect.name)


def read_entry(n: int = 0, action: str = "memory.get") -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=f"agent-{n}",
        actor_id=str(uuid4()),
        request_id=str(uuid4()),
        scope="acme/support",
        memory_ids=(str(uuid4()),),
        details={"returned": 1},
    )


def write_entry(n: int = 0) -> AuditEntry:
    return AuditEntry(
        action="memory.create",
        actor=f"agent-{n}",
        scope="acme/support",
        memory_ids=(str(uuid4()),),
    )


@pytest.fixture
def lazy_store(database_url: str) -> Iterator[SqlControlStore]:
    """A control store whose read audits commit without waiting for the disk (the service's
    default), on each backend, through SQLAlchemy (SQLite's hot path for read audits has
    its own tests in test_sqlite_hot_path.py)."""
    store = SqlControlStore(
        database_url, audit_key=AUDIT_KEY, fsync_read_audits=False, sqlite_hot_path=False
    )
    store.migrate()
    try:
        yield store
    finally:
        store.close()


def test_read_audit_commits_lazily_then_the_connection_is_durable_again(
    lazy_store: SqlControlStore,
) -> None:
    dialect = lazy_store.engine.dialect.name
    pooled, before = idle_durability(lazy_store)
    assert before == DURABLE[dialect]

    with probing(lazy_store) as probe:
        lazy_store.record_read_audit([read_entry()])
        (read,) = probe.take()
        after_driver, after = idle_durability(lazy_store)
        lazy_store.record_audit([write_entry()])
        (write,) = probe.take()

    assert (read.end, read.durability) == ("commit", LAZY[dialect])
    assert read.driver is pooled
    # Back to durable on the very connection the read audit used, outside any transaction...
    assert after_driver is pooled
    assert after == DURABLE[dialect]
    # ...and the write that draws it next commits durably.
    assert (write.end, write.durability, write.driver) == ("commit", DURABLE[dialect], pooled)
    events = list(lazy_store.audit_trail().events())
    assert [e.entry.action for e in events] == ["memory.get", "memory.create"]


def test_sqlite_read_audit_runs_with_synchronous_normal_and_restores_full(
    tmp_path: Path,
) -> None:
    store = SqlControlStore(
        sqlite_url_for(tmp_path),
        audit_key=AUDIT_KEY,
        fsync_read_audits=False,
        sqlite_hot_path=False,
    )
    store.migrate()
    try:
        with probing(store) as probe:
            for _ in range(3):
                store.record_read_audit([read_entry()])
                store.append_version(version(uuid4()), expected_version=None, audit=[write_entry()])
            ends = probe.take()
        with store.engine.connect() as conn:
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        store.close()

    assert [(e.end, e.durability) for e in ends] == [("commit", 1), ("commit", 2)] * 3
    assert synchronous == 2


def write_through_writing(store: SqlControlStore) -> None:
    """A write as the other SQL stores make one, through the shared transaction."""
    with store.writing([write_entry()]) as conn:
        conn.execute(text("SELECT 1"))


@pytest.mark.parametrize(
    "durable_write",
    [
        pytest.param(lambda s: s.record_audit([write_entry()]), id="record_audit"),
        pytest.param(
            lambda s: s.append_version(
                version(uuid4()), expected_version=None, audit=[write_entry()]
            ),
            id="append_version",
        ),
        pytest.param(lambda s: s.add_key(key(), audit=[write_entry()]), id="add_key"),
        pytest.param(lambda s: s.mark_indexed(uuid4(), 1), id="mark_indexed"),
        pytest.param(
            lambda s: s.save_idempotent_response(
                IdempotencyRecord(
                    key_id="k",
                    idempotency_key=str(uuid4()),
                    request_hash="h",
                    status_code=201,
                    body={},
                    created_at=T0,
                )
            ),
            id="save_idempotent_response",
        ),
        pytest.param(write_through_writing, id="writing"),
        pytest.param(
            lambda s: s.audit_trail().trim(datetime.now(UTC) + timedelta(days=1)),
            id="audit_trail_trim",
        ),
    ],
)
def test_writes_after_a_lazy_read_audit_stay_fully_synchronous(
    lazy_store: SqlControlStore, durable_write: Callable[[SqlControlStore], object]
) -> None:
    dialect = lazy_store.engine.dialect.name
    with probing(lazy_store) as probe:
        lazy_store.record_read_audit([read_entry()])
        durable_write(lazy_store)
        ends = probe.take()
    assert [(e.end, e.durability) for e in ends] == [
        ("commit", LAZY[dialect]),
        ("commit", DURABLE[dialect]),
    ]


def _append_fails(*_args: object) -> None:
    raise RuntimeError("appending failed")


@pytest.mark.parametrize("failure", ["append_raises", "unserialisable_entry"])
def test_a_failed_read_audit_still_restores_durability(
    lazy_store: SqlControlStore, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    dialect = lazy_store.engine.dialect.name
    with probing(lazy_store) as probe:
        if failure == "append_raises":
            with monkeypatch.context() as patch:
                patch.setattr("memory_service.storage.sql.store.append_events", _append_fails)
                with pytest.raises(RuntimeError, match="appending failed"):
                    lazy_store.record_read_audit([read_entry()])
        else:
            unserialisable = AuditEntry(action="memory.get", actor="a", details={"x": object()})
            with pytest.raises(TypeError):
                lazy_store.record_read_audit([unserialisable])
        (failed,) = probe.take()
        after_driver, after = idle_durability(lazy_store)
        lazy_store.record_audit([write_entry()])
        (write,) = probe.take()

    # The failed transaction did run lazily (so there was something to restore)...
    assert (failed.end, failed.durability) == ("rollback", LAZY[dialect])
    # ...and its connection went back to the pool durable again.
    assert after_driver is failed.driver
    assert after == DURABLE[dialect]
    assert (write.end, write.durability, write.driver) == (
        "commit",
        DURABLE[dialect],
        failed.driver,
    )
    # Nothing of the failed audit reached the chain.
    verification = lazy_store.audit_trail().verify()
    assert (verification.ok, verification.events) == (True, 1)
    assert [e.seq for e in lazy_store.audit_trail().events()] == [1]


def test_read_audits_are_fully_synchronous_by_default(database_url: str) -> None:
    store = SqlControlStore(database_url, audit_key=AUDIT_KEY, sqlite_hot_path=False)
    store.migrate()
    try:
        dialect = store.engine.dialect.name
        with probing(store) as probe:
            store.record_read_audit([read_entry()])
            store.record_read_audit([read_entry(1), read_entry(2)])
            ends = probe.take()
        assert [(e.end, e.durability) for e in ends] == [("commit", DURABLE[dialect])] * 2
        assert len(list(store.audit_trail().events())) == 3
    finally:
        store.close()


def test_read_audits_explicitly_fsynced_commit_durably(database_url: str) -> None:
    store = SqlControlStore(
        database_url, audit_key=AUDIT_KEY, fsync_read_audits=True, sqlite_hot_path=False
    )
    store.migrate()
    try:
        dialect = store.engine.dialect.name
        with probing(store) as probe:
            store.record_read_audit([read_entry()])
            ends = probe.take()
    finally:
        store.close()
    assert [(e.end, e.durability) for e in ends] == [("commit", DURABLE[dialect])]


def test_an_empty_read_audit_opens_no_transaction(lazy_store: SqlControlStore) -> None:
    with probing(lazy_store) as probe:
        lazy_store.record_read_audit([])
        assert probe.take() == []
    assert lazy_store.audit_trail().ends().head_seq == 0


def test_read_and_write_audits_share_one_gapless_chain(lazy_store: SqlControlStore) -> None:
    lazy_store.record_audit([write_entry(1)])
    lazy_store.record_read_audit([read_entry(2, "memory.search")])
    lazy_store.record_read_audit([read_entry(3, "memory.get"), read_entry(4, "memory.list")])
    lazy_store.append_version(version(uuid4()), expected_version=None, audit=[write_entry(5)])
    lazy_store.record_read_audit([read_entry(6, "memory.history")])
    lazy_store.record_audit([write_entry(7), write_entry(8)])
    lazy_store.record_read_audit([read_entry(9, "memory.get")])

    trail = lazy_store.audit_trail()
    verification = trail.verify()
    assert (verification.ok, verification.events, verification.first_bad_seq) == (True, 9, None)
    events = list(trail.events())
    assert [e.seq for e in events] == list(range(1, 10))
    assert [e.entry.actor for e in events] == [f"agent-{n}" for n in range(1, 10)]
    assert [e.entry.action for e in events] == [
        "memory.create",
        "memory.search",
        "memory.get",
        "memory.list",
        "memory.create",
        "memory.history",
        "memory.create",
        "memory.create",
        "memory.get",
    ]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert trail.ends().head_seq == 9


def test_concurrent_read_and_write_audits_chain_and_keep_their_durability(
    lazy_store: SqlControlStore,
) -> None:
    dialect = lazy_store.engine.dialect.name
    rounds = 4
    numbers = itertools.count()

    with probing(lazy_store) as probe:

        def mixed() -> None:
            n = next(numbers)
            for r in range(rounds):
                with probe.labelled("read"):
                    lazy_store.record_read_audit([read_entry(n * 100 + r)])
                with probe.labelled("write"):
                    lazy_store.record_audit([write_entry(n * 100 + r)])

        successes, errors = race(mixed)
        ends = [e for e in probe.take() if e.label is not None]

    assert (successes, errors) == (THREADS, [])
    assert len(ends) == THREADS * rounds * 2
    assert {(e.label, e.end, e.durability) for e in ends} == {
        ("read", "commit", LAZY[dialect]),
        ("write", "commit", DURABLE[dialect]),
    }
    verification = lazy_store.audit_trail().verify()
    assert (verification.ok, verification.events) == (True, THREADS * rounds * 2)
    assert [e.seq for e in lazy_store.audit_trail().events()] == list(
        range(1, THREADS * rounds * 2 + 1)
    )
    # Every connection the pool kept is durable again (held together, the pool hands out each
    # one it kept before it opens a new one).
    with ExitStack() as stack:
        held = [stack.enter_context(lazy_store.engine.connect()) for _ in range(THREADS)]
        settings = [durability_on(c.connection.dbapi_connection, dialect) for c in held]
    assert settings == [DURABLE[dialect]] * THREADS
