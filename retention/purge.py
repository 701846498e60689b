"""The retention jobs proper: page through candidates, purge what is due, verify it is gone.

Each pass recomputes what is due from the stores, so running twice is harmless and a pass
killed half-way is finished by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar
from uuid import UUID

from retention.errors import PurgeNotVerified
from retention.jobs import Job, JobFunction, Schedule
from retention.selection import (
    DuePurge,
    MemoryHead,
    PurgeReason,
    QuarantineHead,
    due_memories,
    due_quarantine,
)
from retention.store import RetentionStore

PAGE_SIZE = 500


class _Head(Protocol):
    @property
    def id(self) -> UUID: ...


H = TypeVar("H", bound=_Head)


def _purge_pages(
    list_page: Callable[[UUID | None, int], Sequence[H]],
    select: Callable[[Sequence[H]], list[DuePurge]],
    purge: Callable[[Sequence[UUID]], int],
    remaining: Callable[[Sequence[UUID]], set[UUID]],
    page_size: int,
) -> dict[str, int]:
    counts = {"scanned": 0, "purged": 0}
    after: UUID | None = None
    while True:
        page = list_page(after, page_size)
        counts["scanned"] += len(page)
        due = select(page)
        if due:
            ids = [item.id for item in due]
            counts["purged"] += purge(ids)
            left = remaining(ids)
            if left:
                raise PurgeNotVerified(f"{len(left)} purged ids are still stored")
            for item in due:
                counts[item.reason] = counts.get(item.reason, 0) + 1
        if len(page) < page_size:
            return counts
        after = page[-1].id


def memory_purge(
    store: RetentionStore,
    reasons: frozenset[PurgeReason],
    *,
    undo_window: timedelta,
    page_size: int = PAGE_SIZE,
) -> JobFunction:
    """A job body purging the memories due for one of ``reasons`` (expired, max_age, trash)."""

    def run(now: datetime) -> dict[str, int]:
        policies = store.retention_policies()

        def select(page: Sequence[MemoryHead]) -> list[DuePurge]:
            due = due_memories(page, policies, undo_window=undo_window, now=now)
            return [item for item in due if item.reason in reasons]

        return _purge_pages(
            lambda after, limit: store.memory_heads(after=after, limit=limit),
            select,
            store.purge_memories,
            store.memories_remaining,
            page_size,
        )

    return run


def quarantine_purge(store: RetentionStore, *, page_size: int = PAGE_SIZE) -> JobFunction:
    """A job body dropping rejected and stale quarantine items."""

    def run(now: datetime) -> dict[str, int]:
        policies = store.retention_policies()

        def select(page: Sequence[QuarantineHead]) -> list[DuePurge]:
            return due_quarantine(page, policies, now=now)

        return _purge_pages(
            lambda after, limit: store.quarantine_heads(after=after, limit=limit),
            select,
            store.purge_quarantine,
            store.quarantine_remaining,
            page_size,
        )

    return run


def retention_jobs(
    store: RetentionStore, schedules: Mapping[str, Schedule], *, undo_window: timedelta
) -> list[Job]:
    """The four purge jobs, named as ``schedules`` keys them (a missing key raises KeyError)."""
    bodies: dict[str, JobFunction] = {
        "purge_expired": memory_purge(store, frozenset({"expired"}), undo_window=undo_window),
        "enforce_policies": memory_purge(store, frozenset({"max_age"}), undo_window=undo_window),
        "empty_trash": memory_purge(store, frozenset({"trash"}), undo_window=undo_window),
        "drop_quarantine": quarantine_purge(store),
    }
    return [Job(name, schedules[name], body) for name, body in bodies.items()]
