"""Contract of retention's SQL records (runs, leases, policies, candidates), SQLite and PostgreSQL.

PostgreSQL is required, not optional: if the server is unreachable the postgres cases fail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from memory_service.domain.audit import AuditEntry
from memory_service.domain.models import (
    Classification,
    Provenance,
    QuarantineItem,
    VersionRecord,
)
from memory_service.errors import NotFound
from memory_service.storage.sql import SqlControlStore
from memory_service.storage.sql.governance import SqlQuarantineStore
from memory_service.storage.sql.retention_records import (
    SqlLeaseStore,
    SqlRetentionCandidates,
    SqlRetentionPolicies,
    SqlRunLog,
)
from memory_service.storage.sql.schema import leases, retention_policies
from retention.policies import RetentionPolicy
from retention.runs import JobRun
from retention.selection import MemoryHead, QuarantineHead
from tests.conftest import AUDIT_KEY

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
TTL = timedelta(minutes=5)
MICROSECOND = timedelta(microseconds=1)
LEASE = "retention-job:purge"


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def other_store(database_url: str, store: SqlControlStore) -> Iterator[SqlControlStore]:
    """A second store on the same database with its own engine, as another process has."""
    control = SqlControlStore(database_url, audit_key=AUDIT_KEY)
    try:
        yield control
    finally:
        control.close()


# -- builders -------------------------------------------------------------------------------


def run(job: str = "purge", *, at: datetime = T0, holder: str = "worker-a") -> JobRun:
    return JobRun(id=uuid4(), job=job, holder=holder, started_at=at)


def audited(action: str) -> list[AuditEntry]:
    return [AuditEntry(action=action, actor="admin", details={"kind": "retention_policy"})]


def memory_version(
    memory_id: UUID, number: int, *, scope: str, op: Literal["create", "delete"], at: datetime
) -> VersionRecord:
    return VersionRecord(
        memory_id=memory_id,
        version=number,
        scope=scope,
        content="likes tea",
        metadata={},
        tags=(),
        subject=None,
        expires_at=T0 + timedelta(days=30) if number == 1 else None,
        classification=Classification(action="clean", findings=()),
        provenance=Provenance(created_by="key-1", request_id="req-1", source={}),
        op=op,
        changed_by="key-1",
        changed_at=at,
        created_at=T0,
    )


def quarantine_item(
    item_id: UUID, status: str, *, scope: str = "acme/support", decided_at: datetime | None = None
) -> QuarantineItem:
    return QuarantineItem(
        id=item_id,
        scope=scope,
        status=status,  # type: ignore[arg-type]
        reason="findings",
        findings=(),
        sealed=None,
        metadata={},
        tags=(),
        subject=None,
        expires_at=None,
        provenance=Provenance(created_by="key-1", request_id="req-1", source={}),
        created_at=T0,
        decided_by="reviewer" if decided_at else None,
        decided_at=decided_at,
    )


def race(attempts: Sequence[Callable[[], bool]]) -> list[bool]:
    """Run every attempt in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(attempts))
    results: list[bool | None] = [None] * len(attempts)
    errors: list[BaseException] = []

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            results[index] = attempts[index]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return [bool(result) for result in results]


# -- run log --------------------------------------------------------------------------------


def test_started_run_reads_back_as_running(store: SqlControlStore) -> None:
    runs = SqlRunLog(store)
    started = run()
    runs.start_run(started)
    assert runs.list_runs("purge", 10) == [started]
    assert runs.last_run("purge") == started


def test_finished_run_keeps_status_end_counts_and_error(store: SqlControlStore) -> None:
    runs = SqlRunLog(store)
    ok, failed = run(), run(at=T0 + timedelta(minutes=1))
    runs.start_run(ok)
    runs.start_run(failed)
    ok = replace(ok, status="ok", finished_at=T0 + timedelta(seconds=3), counts={"purged": 7})
    failed = replace(
        failed, status="failed", finished_at=T0 + timedelta(minutes=2), error="RuntimeError: x"
    )
    runs.finish_run(ok)
    runs.finish_run(failed)
    assert runs.list_runs("purge", 10) == [failed, ok]


def test_finishing_an_unknown_run_raises_not_found(store: SqlControlStore) -> None:
    with pytest.raises(NotFound):
        SqlRunLog(store).finish_run(replace(run(), status="ok", finished_at=T0))


def test_skipped_runs_are_never_stored(store: SqlControlStore) -> None:
    runs = SqlRunLog(store)
    with pytest.raises(ValueError, match="never stored"):
        runs.start_run(replace(run(), status="skipped"))
    assert runs.list_runs(None, 10) == []


def test_close_interrupted_fails_only_that_jobs_running_runs(store: SqlControlStore) -> None:
    runs = SqlRunLog(store)
    stale_a, stale_b = run(), run(at=T0 + timedelta(seconds=1))
    done = replace(run(at=T0 - timedelta(hours=1)), status="ok", finished_at=T0)
    other_job = run("compact")
    for each in (stale_a, stale_b, done, other_job):
        runs.start_run(each)
    at = T0 + timedelta(hours=1)

    closed = runs.close_interrupted("purge", at=at, error="Interrupted")

    assert closed == 2
    closed_runs = {r.id: r for r in runs.list_runs("purge", 10)}
    for stale in (stale_a, stale_b):
        assert closed_runs[stale.id] == replace(
            stale, status="failed", finished_at=at, error="Interrupted"
        )
    assert closed_runs[done.id] == done
    assert runs.last_run("compact") == other_job
    assert runs.close_interrupted("purge", at=at, error="Interrupted") == 0


def test_list_runs_is_newest_first_limited_and_filtered(store: SqlControlStore) -> None:
    runs = SqlRunLog(store)
    purges = [run("purge", at=T0 + timedelta(minutes=m)) for m in (3, 0, 5, 1)]
    compacts = [run("compact", at=T0 + timedelta(minutes=m)) for m in (2, 4)]
    for each in purges + compacts:
        runs.start_run(each)

    newest_purges = sorted(purges, key=lambda r: r.started_at, reverse=True)
    assert runs.list_runs("purge", 10) == newest_purges
    assert runs.list_runs("purge", 2) == newest_purges[:2]
    assert [r.started_at for r in runs.list_runs(None, 3)] == [
        T0 + timedelta(minutes=m) for m in (5, 4, 3)
    ]
    assert runs.last_run("compact") == compacts[1]
    assert runs.last_run("unknown") is None
    with pytest.raises(ValueError, match="limit"):
        runs.list_runs(None, 0)


# -- leases ---------------------------------------------------------------------------------


def test_a_free_lease_is_acquired(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    assert lease_store.holder_of(LEASE, T0) is None
    assert lease_store.acquire(LEASE, "a", ttl=TTL, now=T0)
    assert lease_store.holder_of(LEASE, T0) == "a"
    assert lease_store.holder_of(LEASE, T0 + TTL) is None  # expired at expires_at


def test_a_held_lease_is_refused_to_others_until_it_expires(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    assert lease_store.acquire(LEASE, "a", ttl=TTL, now=T0)

    assert not lease_store.acquire(LEASE, "b", ttl=TTL, now=T0 + TTL - MICROSECOND)
    assert lease_store.holder_of(LEASE, T0 + TTL - MICROSECOND) == "a"

    assert lease_store.acquire(LEASE, "b", ttl=TTL, now=T0 + TTL)
    assert lease_store.holder_of(LEASE, T0 + TTL) == "b"
    assert not lease_store.acquire(LEASE, "a", ttl=TTL, now=T0 + TTL)


def test_the_holder_acquires_again_and_keeps_its_start(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    assert lease_store.acquire(LEASE, "a", ttl=TTL, now=T0)
    later = T0 + timedelta(minutes=1)
    assert lease_store.acquire(LEASE, "a", ttl=TTL, now=later)
    assert not lease_store.acquire(LEASE, "b", ttl=TTL, now=T0 + TTL)  # extended to later + TTL
    with store.reading() as conn:
        row = conn.execute(select(leases).where(leases.c.name == LEASE)).mappings().one()
    assert (row["holder"], row["acquired_at"], row["expires_at"]) == ("a", T0, later + TTL)


def test_leases_are_independent_by_name(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    assert lease_store.acquire("one", "a", ttl=TTL, now=T0)
    assert lease_store.acquire("two", "b", ttl=TTL, now=T0)
    assert (lease_store.holder_of("one", T0), lease_store.holder_of("two", T0)) == ("a", "b")


def test_only_the_holder_renews_and_only_before_expiry(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    assert not lease_store.renew(LEASE, "a", ttl=TTL, now=T0)  # nobody holds it
    assert lease_store.acquire(LEASE, "a", ttl=TTL, now=T0)

    assert not lease_store.renew(LEASE, "b", ttl=TTL, now=T0 + timedelta(minutes=1))
    renewed_at = T0 + timedelta(minutes=4)
    assert lease_store.renew(LEASE, "a", ttl=TTL, now=renewed_at)
    assert lease_store.holder_of(LEASE, renewed_at + TTL - MICROSECOND) == "a"
    assert not lease_store.acquire(LEASE, "b", ttl=TTL, now=T0 + TTL)

    assert not lease_store.renew(LEASE, "a", ttl=TTL, now=renewed_at + TTL)  # expired
    assert lease_store.holder_of(LEASE, renewed_at + TTL) is None


def test_only_the_holder_releases(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    assert lease_store.acquire(LEASE, "a", ttl=TTL, now=T0)
    lease_store.release(LEASE, "b")
    assert lease_store.holder_of(LEASE, T0) == "a"
    lease_store.release(LEASE, "a")
    assert lease_store.holder_of(LEASE, T0) is None
    assert lease_store.acquire(LEASE, "b", ttl=TTL, now=T0)
    lease_store.release("never-taken", "b")


def test_a_lease_needs_a_positive_ttl(store: SqlControlStore) -> None:
    lease_store = SqlLeaseStore(store)
    with pytest.raises(ValueError, match="ttl"):
        lease_store.acquire(LEASE, "a", ttl=timedelta(0), now=T0)
    with pytest.raises(ValueError, match="ttl"):
        lease_store.renew(LEASE, "a", ttl=-TTL, now=T0)
    assert lease_store.holder_of(LEASE, T0) is None


@pytest.mark.parametrize("held_before", [False, True], ids=["free", "expired"])
def test_racing_processes_acquire_a_lease_exactly_once(
    store: SqlControlStore, other_store: SqlControlStore, *, held_before: bool
) -> None:
    stores = [SqlLeaseStore(store), SqlLeaseStore(other_store)]
    now = T0 + TTL
    for round_number in range(5):
        name = f"{LEASE}-{round_number}"
        if held_before:
            assert stores[0].acquire(name, "crashed", ttl=TTL, now=T0)
        holders = [f"worker-{i}" for i in range(8)]
        attempts = [
            partial(stores[i % 2].acquire, name, holder, ttl=TTL, now=now)
            for i, holder in enumerate(holders)
        ]

        won = race(attempts)

        assert won.count(True) == 1
        winner = holders[won.index(True)]
        assert stores[0].holder_of(name, now) == winner
        assert stores[1].holder_of(name, now) == winner


# -- retention policies ---------------------------------------------------------------------


def test_policies_are_put_listed_by_name_and_replaced(store: SqlControlStore) -> None:
    policy_store = SqlRetentionPolicies(store, clock=lambda: T0)
    week = RetentionPolicy("week", "acme/**", timedelta(days=7), "memories")
    keep = RetentionPolicy("keep-legal", "acme/legal/**", None, "memories")
    trash = RetentionPolicy("a-trash", "**", timedelta(hours=36), "deleted")
    for policy in (week, keep, trash):
        policy_store.put(policy, "admin", audited("retention_policy.put"))
    assert policy_store.list() == [trash, keep, week]

    shorter = RetentionPolicy("week", "acme/support", timedelta(days=3), "quarantine")
    policy_store.put(shorter, "other-admin", audited("retention_policy.put"))
    assert policy_store.list() == [trash, keep, shorter]
    with store.reading() as conn:
        row = (
            conn.execute(select(retention_policies).where(retention_policies.c.name == "week"))
            .mappings()
            .one()
        )
    assert (row["max_age_seconds"], row["updated_by"], row["updated_at"]) == (
        3 * 86400,
        "other-admin",
        T0,
    )


def test_policy_changes_commit_with_their_audit_events(store: SqlControlStore) -> None:
    policy_store = SqlRetentionPolicies(store)
    policy_store.put(
        RetentionPolicy("week", "acme/**", timedelta(days=7), "memories"),
        "admin",
        audited("retention_policy.put"),
    )
    assert policy_store.delete("week", audited("retention_policy.delete"))
    assert not policy_store.delete("week", audited("retention_policy.delete"))
    assert policy_store.list() == []
    actions = [event.entry.action for event in store.audit_trail().events()]
    assert actions[-3:] == [
        "retention_policy.put",
        "retention_policy.delete",
        "retention_policy.delete",
    ]
    assert store.audit_trail().verify().ok


def test_a_max_age_of_part_seconds_is_refused(store: SqlControlStore) -> None:
    policy_store = SqlRetentionPolicies(store)
    policy = RetentionPolicy("odd", "acme/**", timedelta(seconds=1, milliseconds=500), "memories")
    with pytest.raises(ValueError, match="whole number of seconds"):
        policy_store.put(policy, "admin", audited("retention_policy.put"))
    assert policy_store.list() == []


# -- candidates -----------------------------------------------------------------------------


def test_memory_heads_page_by_ascending_id_live_and_deleted(store: SqlControlStore) -> None:
    ids = [uuid4() for _ in range(12)]
    for index, memory_id in enumerate(ids):
        store.append_version(
            memory_version(memory_id, 1, scope=f"acme/s{index}", op="create", at=T0),
            expected_version=None,
        )
    deleted_at = T0 + timedelta(hours=1)
    store.append_version(
        memory_version(ids[3], 2, scope="acme/s3", op="delete", at=deleted_at),
        expected_version=1,
    )
    candidates = SqlRetentionCandidates(store)

    pages: list[list[MemoryHead]] = []
    after: UUID | None = None
    while page := candidates.memory_heads(after=after, limit=5):
        pages.append(page)
        after = page[-1].id

    assert [len(page) for page in pages] == [5, 5, 2]
    heads = [head for page in pages for head in page]
    assert [head.id for head in heads] == sorted(ids)
    by_id = {head.id: head for head in heads}
    assert by_id[ids[3]] == MemoryHead(ids[3], "acme/s3", T0, None, deleted_at)
    assert by_id[ids[0]] == MemoryHead(ids[0], "acme/s0", T0, T0 + timedelta(days=30), None)
    assert candidates.memory_heads(after=max(ids), limit=5) == []


def test_quarantine_heads_page_by_ascending_id_in_every_status(store: SqlControlStore) -> None:
    quarantine_store = SqlQuarantineStore(store)
    decided = T0 + timedelta(minutes=10)
    items = {
        uuid4(): ("pending", None),
        uuid4(): ("released", decided),
        uuid4(): ("rejected", decided),
    }
    for item_id, (status, decided_at) in items.items():
        quarantine_store.add_quarantine(quarantine_item(item_id, status, decided_at=decided_at))
    candidates = SqlRetentionCandidates(store)

    first = candidates.quarantine_heads(after=None, limit=2)
    rest = candidates.quarantine_heads(after=first[-1].id, limit=2)

    assert [len(first), len(rest)] == [2, 1]
    expected = [
        QuarantineHead(item_id, "acme/support", status, T0, decided_at)  # type: ignore[arg-type]
        for item_id, (status, decided_at) in sorted(items.items())
    ]
    assert first + rest == expected
