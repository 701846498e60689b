from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from retention.errors import PurgeNotVerified
from retention.jobs import Schedule
from retention.policies import RetentionPolicy
from retention.purge import memory_purge, quarantine_purge, retention_jobs
from retention.selection import MemoryHead, QuarantineHead
from tests.unit.retention.fakes import T0, FakeRetentionStore

DAY = timedelta(days=1)
UNDO = timedelta(days=7)


def uid(n: int) -> UUID:
    return UUID(int=n)


def store_with(expired: int, live: int) -> FakeRetentionStore:
    store = FakeRetentionStore()
    for n in range(expired + live):
        expires = T0 - DAY if n < expired else None
        store.memories[uid(n)] = MemoryHead(uid(n), "acme/bot", T0 - 2 * DAY, expires, None)
    return store


def test_purges_every_page_and_counts() -> None:
    store = store_with(expired=5, live=2)
    run = memory_purge(store, frozenset({"expired"}), undo_window=UNDO, page_size=2)
    counts = run(T0)
    assert counts == {"scanned": 7, "purged": 5, "expired": 5}
    assert sorted(store.memories) == [uid(5), uid(6)]
    assert store.pages_listed == 4


def test_running_twice_is_harmless() -> None:
    store = store_with(expired=3, live=1)
    run = memory_purge(store, frozenset({"expired"}), undo_window=UNDO)
    run(T0)
    assert run(T0) == {"scanned": 1, "purged": 0}
    assert list(store.memories) == [uid(3)]


def test_only_the_jobs_own_reasons_are_purged() -> None:
    store = store_with(expired=1, live=0)
    store.memories[uid(9)] = MemoryHead(uid(9), "acme/bot", T0, None, T0 - UNDO)
    counts = memory_purge(store, frozenset({"trash"}), undo_window=UNDO)(T0)
    assert counts == {"scanned": 2, "purged": 1, "trash": 1}
    assert list(store.memories) == [uid(0)]


def test_a_purge_that_left_ids_behind_fails() -> None:
    store = store_with(expired=2, live=0)
    store.sticky.add(uid(1))
    run = memory_purge(store, frozenset({"expired"}), undo_window=UNDO)
    with pytest.raises(PurgeNotVerified, match="1 purged ids"):
        run(T0)


def test_quarantine_purge_drops_rejected_and_stale_items() -> None:
    store = FakeRetentionStore()
    store.policies = [RetentionPolicy("q", "**", 3 * DAY, "quarantine")]
    store.quarantine = {
        uid(1): QuarantineHead(uid(1), "acme", "rejected", T0 - 9 * DAY, T0 - 4 * DAY),
        uid(2): QuarantineHead(uid(2), "acme", "pending", T0 - 4 * DAY, None),
        uid(3): QuarantineHead(uid(3), "acme", "pending", T0 - DAY, None),
    }
    counts = quarantine_purge(store)(T0)
    assert counts == {"scanned": 3, "purged": 2, "rejected": 1, "stale_quarantine": 1}
    assert list(store.quarantine) == [uid(3)]


def test_retention_jobs_take_their_schedules_by_name() -> None:
    names = ["purge_expired", "enforce_policies", "empty_trash", "drop_quarantine"]
    schedules = {name: Schedule(interval_seconds=60 * (i + 1)) for i, name in enumerate(names)}
    jobs = retention_jobs(FakeRetentionStore(), schedules, undo_window=UNDO)
    assert {job.name: job.schedule for job in jobs} == schedules
