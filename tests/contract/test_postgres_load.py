"""The PostgreSQL control store under load: the pool, its limits, and an audit chain that loses
nothing when many threads write at once (as one busy API replica's worker threads would)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import QueuePool

from memory_service.app import build_control_store
from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import Classification, Provenance, VersionRecord
from memory_service.errors import StoreUnavailable
from memory_service.settings import Settings
from memory_service.storage.sql import SqlControlStore, normalise_url
from memory_service.storage.sql.schema import audit_events, memories, memory_versions
from memory_service.storage.sql.store import PostgresPoolOptions
from tests.conftest import AUDIT_KEY, reset_postgres

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)
THREADS = 16
ROUNDS = 20
# Fewer connections than threads, so that threads must queue for one.
SMALL_POOL = PostgresPoolOptions(size=4, max_overflow=2, timeout_seconds=60)


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    reset_postgres(postgres_url)
    return postgres_url


def open_store(url: str, pool: PostgresPoolOptions) -> SqlControlStore:
    store = SqlControlStore(url, audit_key=AUDIT_KEY, pool=pool)
    store.migrate()
    return store


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlControlStore]:
    control = open_store(pg_url, SMALL_POOL)
    try:
        yield control
    finally:
        control.close()


def record(memory_id: UUID, number: int, worker: int) -> VersionRecord:
    return VersionRecord(
        memory_id=memory_id,
        version=number,
        scope=f"acme/worker-{worker}",
        content=f"note {number}",
        metadata={},
        tags=(),
        subject=None,
        expires_at=None,
        classification=Classification(),
        provenance=Provenance("agent", "req"),
        op="create" if number == 1 else "update",
        changed_by="agent",
        changed_at=T0,
        created_at=T0,
    )


def audit(action: str, worker: int, memory_id: UUID) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=f"agent-{worker}",
        request_id=str(uuid4()),
        scope=f"acme/worker-{worker}",
        memory_ids=(str(memory_id),),
    )


class PoolWatch:
    """Counts connections checked out of an engine's pool, and the most at once."""

    def __init__(self, store: SqlControlStore) -> None:
        self.lock = threading.Lock()
        self.out = 0
        self.peak = 0
        event.listen(store.engine, "checkout", self._checkout)
        event.listen(store.engine, "checkin", self._checkin)

    def _checkout(self, *_args: Any) -> None:
        with self.lock:
            self.out += 1
            self.peak = max(self.peak, self.out)

    def _checkin(self, *_args: Any) -> None:
        with self.lock:
            self.out -= 1


def run_threads(work: Any, count: int) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(worker)
        except BaseException as exc:  # collected for the main thread to assert on
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_sixteen_threads_lose_no_audit_event_and_never_exhaust_the_pool(
    store: SqlControlStore,
) -> None:
    watch = PoolWatch(store)

    def work(worker: int) -> None:
        for _ in range(ROUNDS):
            memory_id = uuid4()
            # A write and its audit event commit together; then an update; then a read's event.
            store.append_version(
                record(memory_id, 1, worker),
                expected_version=None,
                audit=[audit("memory.create", worker, memory_id)],
            )
            store.append_version(
                record(memory_id, 2, worker),
                expected_version=1,
                audit=[audit("memory.update", worker, memory_id)],
            )
            store.record_audit([audit("memory.get", worker, memory_id)])

    errors = run_threads(work, THREADS)

    assert errors == []
    total = THREADS * ROUNDS * 3
    verification = store.audit_trail().verify()
    assert (verification.ok, verification.events) == (True, total)
    with store.engine.connect() as conn:
        seqs = list(conn.execute(select(audit_events.c.seq).order_by(audit_events.c.seq)).scalars())
        per_action = dict(
            conn.execute(
                select(audit_events.c.action, func.count()).group_by(audit_events.c.action)
            ).all()
        )
        heads = conn.execute(select(func.count()).select_from(memories)).scalar_one()
        versions = conn.execute(select(func.count()).select_from(memory_versions)).scalar_one()
    assert seqs == list(range(1, total + 1))  # no gap, no duplicate
    assert per_action == dict.fromkeys(
        ("memory.create", "memory.update", "memory.get"), THREADS * ROUNDS
    )
    assert (heads, versions) == (THREADS * ROUNDS, THREADS * ROUNDS * 2)
    # Threads really overlapped, the pool never went past its limit, and every connection
    # came back.
    assert 2 <= watch.peak <= SMALL_POOL.size + SMALL_POOL.max_overflow
    assert watch.out == 0
    pool = store.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0


def test_two_replicas_share_one_chain_under_load(pg_url: str) -> None:
    stores = [open_store(pg_url, SMALL_POOL), open_store(pg_url, SMALL_POOL)]
    try:

        def work(worker: int) -> None:
            target = stores[worker % 2]
            for _ in range(ROUNDS):
                target.record_audit([audit("memory.get", worker, uuid4())] * 2)

        assert run_threads(work, THREADS) == []
        total = THREADS * ROUNDS * 2
        verification = stores[0].audit_trail().verify()
        assert (verification.ok, verification.events) == (True, total)
        with stores[1].engine.connect() as conn:
            seqs = conn.execute(select(audit_events.c.seq).order_by(audit_events.c.seq))
            assert list(seqs.scalars()) == list(range(1, total + 1))
    finally:
        for s in stores:
            s.close()


def test_server_connections_stay_within_the_pool(store: SqlControlStore, pg_url: str) -> None:
    database = normalise_url(pg_url).database

    def work(worker: int) -> None:
        for n in range(ROUNDS):
            store.record_audit([audit("memory.get", worker, uuid4())])
            if n % 5 == 0:
                store.ping()

    assert run_threads(work, THREADS) == []
    admin = create_engine(normalise_url(pg_url))
    try:
        with admin.connect() as conn:
            open_connections = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db"), {"db": database}
            ).scalar_one()
    finally:
        admin.dispose()
    # The store's pooled connections plus the one counting them.
    assert open_connections <= SMALL_POOL.size + SMALL_POOL.max_overflow + 1


def test_waiting_for_a_connection_is_bounded_and_clean(pg_url: str) -> None:
    store = open_store(pg_url, PostgresPoolOptions(size=1, max_overflow=0, timeout_seconds=0.3))
    try:
        with store.reading():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                store.ping()  # the only connection is taken
            waited = time.monotonic() - started
        assert 0.25 <= waited < 5
        store.ping()  # the connection came back; nothing is stuck
    finally:
        store.close()


def test_statement_timeout_cancels_a_runaway_query(pg_url: str) -> None:
    store = open_store(pg_url, replace(SMALL_POOL, statement_timeout_ms=200))
    try:
        with store.reading() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "200ms"
        started = time.monotonic()
        with pytest.raises(StoreUnavailable), store.reading() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 4
        store.ping()
    finally:
        store.close()
    unlimited = open_store(pg_url, replace(SMALL_POOL, statement_timeout_ms=0))
    try:
        with unlimited.reading() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
    finally:
        unlimited.close()


def test_a_connection_the_server_dropped_is_replaced_before_use(pg_url: str) -> None:
    store = open_store(pg_url, PostgresPoolOptions(size=1, max_overflow=0))
    admin = create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    try:
        with store.reading() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
        # pool_pre_ping finds the dead connection and opens a new one: the request succeeds.
        with store.reading() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        admin.dispose()
        store.close()


def test_pool_settings_reach_the_engine(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=pg_url,
        database_pool_size=3,
        database_max_overflow=7,
        database_pool_timeout_seconds=4.5,
        database_pool_recycle_seconds=600,
        database_statement_timeout_ms=1234,
    )
    store = build_control_store(settings)
    try:
        pool = store.engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow, pool.timeout(), pool._recycle) == (3, 7, 4.5, 600)
        assert pool._pre_ping
        with store.reading() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1234ms"
    finally:
        store.close()


def test_a_replica_waits_out_another_replicas_migration_past_the_statement_timeout(
    pg_url: str,
) -> None:
    from memory_service.storage.sql.store import _PG_MIGRATION_LOCK  # noqa: PLC0415

    admin = create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    held = threading.Event()

    def migrate_slowly() -> None:
        with admin.connect() as conn:
            conn.execute(select(func.pg_advisory_lock(_PG_MIGRATION_LOCK)))
            held.set()
            time.sleep(1.5)  # five statement timeouts of the replica below
            conn.execute(select(func.pg_advisory_unlock(_PG_MIGRATION_LOCK)))

    other = threading.Thread(target=migrate_slowly)
    other.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        store = open_store(pg_url, replace(SMALL_POOL, statement_timeout_ms=300))
        try:
            assert time.monotonic() - started >= 1.0  # it did wait for the lock
            store.ping()
        finally:
            store.close()
    finally:
        other.join()
        admin.dispose()
