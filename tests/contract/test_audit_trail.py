"""The audit chain on SQLite and PostgreSQL: verify catches edits, cuts and forks; fail closed."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import delete, select, text, update

from memory_service.domain.audit import AuditEntry, AuditQuery
from memory_service.domain.models import Classification, Provenance, VersionRecord
from memory_service.domain.scopes import ScopeFilter, ScopePattern
from memory_service.errors import StoreUnavailable
from memory_service.storage.sql import SqlControlStore, sqlite_url_for
from memory_service.storage.sql.schema import audit_chain, audit_events, memories
from tests.conftest import AUDIT_KEY

EVERYTHING = ScopeFilter((ScopePattern.parse("**"),))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(n: int, scope: str = "acme") -> AuditEntry:
    return AuditEntry(
        action="memory.get",
        actor=f"agent-{n}",
        actor_id=str(uuid4()),
        request_id=str(uuid4()),
        scope=scope,
        memory_ids=(str(uuid4()),),
        details={"returned": 1},
    )


def fill(store: SqlControlStore, count: int) -> None:
    for n in range(count):
        store.record_audit([entry(n)])


def test_a_fresh_chain_verifies_and_grows_by_one_per_event(store: SqlControlStore) -> None:
    assert store.audit_trail().verify().ok
    fill(store, 5)
    result = store.audit_trail().verify()
    assert (result.ok, result.events, result.first_bad_seq) == (True, 5, None)
    events = list(store.audit_trail().events())
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


@pytest.mark.parametrize(
    "tamper",
    [
        update(audit_events).where(audit_events.c.seq == 3).values(actor="someone-else"),
        update(audit_events).where(audit_events.c.seq == 3).values(details={"returned": 0}),
        update(audit_events).where(audit_events.c.seq == 3).values(at=T0),
        delete(audit_events).where(audit_events.c.seq == 3),
    ],
    ids=["actor", "details", "time", "deleted-row"],
)
def test_editing_one_row_makes_verify_fail_at_that_row(
    store: SqlControlStore, tamper: object
) -> None:
    fill(store, 6)
    with store.engine.begin() as conn:
        conn.execute(tamper)  # type: ignore[call-overload]
    result = store.audit_trail().verify()
    assert not result.ok
    assert result.first_bad_seq == 3


def test_a_recomputed_plain_hash_does_not_pass(store: SqlControlStore) -> None:
    """An editor without the key cannot re-seal an edited row, even rehashing the rest."""
    import hashlib  # noqa: PLC0415

    fill(store, 4)
    with store.engine.begin() as conn:
        row = conn.execute(select(audit_events).where(audit_events.c.seq == 2)).mappings().one()
        forged = hashlib.sha256((row["prev_hash"] + "forged").encode()).hexdigest()
        conn.execute(
            update(audit_events).where(audit_events.c.seq == 2).values(actor="x", hash=forged)
        )
        conn.execute(update(audit_events).where(audit_events.c.seq == 3).values(prev_hash=forged))
    assert store.audit_trail().verify().first_bad_seq == 2


def test_cutting_the_newest_events_is_detected(store: SqlControlStore) -> None:
    fill(store, 5)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_events).where(audit_events.c.seq >= 4))
        last = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == 3)).scalar()
        # Even moving the head back to a real event does not help without the key.
        conn.execute(update(audit_chain).values(head_seq=3, head_hash=last))
    result = store.audit_trail().verify()
    assert not result.ok
    assert result.first_bad_seq == 4


def test_verify_with_another_key_fails(database_url: str, store: SqlControlStore) -> None:
    fill(store, 2)
    other = SqlControlStore(database_url, audit_key=b"another-key-another-key-another!")
    try:
        assert not other.audit_trail().verify().ok
    finally:
        other.close()


def test_trim_drops_old_events_and_the_rest_still_verifies(database_url: str) -> None:
    clock = {"now": T0}
    store = SqlControlStore(database_url, audit_key=AUDIT_KEY, clock=lambda: clock["now"])
    store.migrate()
    try:
        for day in range(5):
            clock["now"] = T0 + timedelta(days=day)
            store.record_audit([entry(day)])
        trimmed = store.audit_trail().trim(T0 + timedelta(days=2))
        assert trimmed == 2
        result = store.audit_trail().verify()
        assert (result.ok, result.events) == (True, 3)
        # Dropping one more old row by hand is still caught: the anchor is sealed.
        with store.engine.begin() as conn:
            conn.execute(delete(audit_events).where(audit_events.c.seq == 3))
        assert store.audit_trail().verify().first_bad_seq == 3
    finally:
        store.close()


def test_parallel_writers_never_fork_the_chain(database_url: str, store: SqlControlStore) -> None:
    """Two store instances (as two replicas would) and several threads each, at once."""
    other = SqlControlStore(database_url, audit_key=AUDIT_KEY)
    per_thread, threads = 15, 6
    errors: list[BaseException] = []

    def write(target: SqlControlStore, worker: int) -> None:
        try:
            for n in range(per_thread):
                target.record_audit([entry(worker * 100 + n), entry(worker * 100 + n)])
        except BaseException as exc:
            errors.append(exc)

    workers = [
        threading.Thread(target=write, args=(store if i % 2 else other, i)) for i in range(threads)
    ]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        other.close()
    assert errors == []
    total = per_thread * threads * 2
    result = store.audit_trail().verify()
    assert (result.ok, result.events) == (True, total)
    with store.engine.connect() as conn:
        seqs = conn.execute(select(audit_events.c.seq).order_by(audit_events.c.seq)).scalars()
        assert list(seqs) == list(range(1, total + 1))


def version(scope: str = "acme") -> VersionRecord:
    return VersionRecord(
        memory_id=uuid4(),
        version=1,
        scope=scope,
        content="text",
        metadata={},
        tags=(),
        subject=None,
        expires_at=None,
        classification=Classification(),
        provenance=Provenance("agent", "req"),
        op="create",
        changed_by="agent",
        changed_at=T0,
        created_at=T0,
    )


def test_a_write_whose_audit_event_cannot_be_written_does_not_happen(
    store: SqlControlStore,
) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(audit_chain))
    record = version()
    with pytest.raises(StoreUnavailable):
        store.append_version(record, expected_version=None, audit=[entry(1)])
    with store.engine.connect() as conn:
        assert conn.execute(select(memories.c.id)).first() is None
    assert store.head(record.memory_id, EVERYTHING) is None


def test_query_filters_and_pages(store: SqlControlStore) -> None:
    store.record_audit([entry(1, "acme"), entry(2, "acme/globex"), entry(3, "initech")])
    target = entry(4, "acme/globex")
    store.record_audit([target])
    trail = store.audit_trail()
    subtree = ScopeFilter((ScopePattern.parse("acme/**"),))
    events, cursor = trail.query(AuditQuery(), subtree, limit=2, cursor=None)
    assert [e.entry.scope for e in events] == ["acme", "acme/globex"]
    assert cursor is not None
    rest, end = trail.query(AuditQuery(), subtree, limit=2, cursor=cursor)
    assert [e.entry.actor for e in rest] == ["agent-4"]
    assert end is None
    by_memory, _ = trail.query(
        AuditQuery(memory_id=target.memory_ids[0]), EVERYTHING, limit=10, cursor=None
    )
    assert [e.entry.actor for e in by_memory] == ["agent-4"]
    newest, _ = trail.query(AuditQuery(), EVERYTHING, limit=1, cursor=None, newest_first=True)
    assert newest[0].seq == 4


def test_scope_less_events_only_for_everything(store: SqlControlStore) -> None:
    store.record_audit([AuditEntry(action="key.create", actor="admin")])
    subtree = ScopeFilter((ScopePattern.parse("acme/**"),))
    assert store.audit_trail().query(AuditQuery(), subtree, limit=10, cursor=None)[0] == []
    assert len(store.audit_trail().query(AuditQuery(), EVERYTHING, limit=10, cursor=None)[0]) == 1


def test_sqlite_rows_are_really_there(tmp_path: Path) -> None:
    """The trail is in the control database file itself, readable by plain SQL."""
    store = SqlControlStore(sqlite_url_for(tmp_path), audit_key=AUDIT_KEY)
    store.migrate()
    try:
        fill(store, 2)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 2
    finally:
        store.close()
