from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retention.policies import AppliesTo, RetentionPolicy
from retention.selection import (
    MemoryHead,
    QuarantineHead,
    QuarantineStatus,
    due_memories,
    due_quarantine,
    visible_cutoff,
)
from tests.unit.retention.fakes import T0

NOW = T0
DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)
UNDO = timedelta(days=7)


def policy(scope: str, max_age: timedelta | None, applies_to: AppliesTo) -> RetentionPolicy:
    return RetentionPolicy(f"{applies_to}:{scope}", scope, max_age, applies_to)


def memory(
    *,
    scope: str = "acme/bot",
    created_at: datetime = NOW - DAY,
    expires_at: datetime | None = None,
    deleted_at: datetime | None = None,
) -> MemoryHead:
    return MemoryHead(uuid4(), scope, created_at, expires_at, deleted_at)


def quarantined(
    status: QuarantineStatus, *, created_at: datetime, decided_at: datetime | None = None
) -> QuarantineHead:
    return QuarantineHead(uuid4(), "acme/bot", status, created_at, decided_at)


def reasons(heads: list[MemoryHead], policies: list[RetentionPolicy]) -> dict[UUID, str]:
    due = due_memories(heads, policies, undo_window=UNDO, now=NOW)
    return {item.id: item.reason for item in due}


def test_expiry_is_due_exactly_at_now() -> None:
    at_now = memory(expires_at=NOW)
    later = memory(expires_at=NOW + TICK)
    assert reasons([at_now, later], []) == {at_now.id: "expired"}


def test_max_age_comes_from_the_governing_memories_policy() -> None:
    policies = [policy("**", 30 * DAY, "memories"), policy("acme/**", 10 * DAY, "memories")]
    at_limit = memory(created_at=NOW - 10 * DAY)
    young = memory(created_at=NOW - 10 * DAY + TICK)
    # Under "**" only: 30 days, so an 11-day-old memory elsewhere is kept.
    elsewhere = memory(scope="globex", created_at=NOW - 11 * DAY)
    assert reasons([at_limit, young, elsewhere], policies) == {at_limit.id: "max_age"}


def test_policies_for_other_targets_do_not_age_memories() -> None:
    policies = [policy("**", DAY, "quarantine"), policy("**", DAY, "deleted")]
    old = memory(created_at=NOW - 365 * DAY)
    assert reasons([old], policies) == {}


def test_trash_is_emptied_after_the_undo_window() -> None:
    at_window = memory(deleted_at=NOW - UNDO)
    within = memory(deleted_at=NOW - UNDO + TICK)
    assert reasons([at_window, within], []) == {at_window.id: "trash"}


def test_a_deleted_policy_replaces_the_undo_window() -> None:
    policies = [policy("acme/**", DAY, "deleted")]
    short = memory(deleted_at=NOW - DAY)
    other_scope = memory(scope="globex", deleted_at=NOW - DAY)
    assert reasons([short, other_scope], policies) == {short.id: "trash"}


def test_a_deleted_policy_without_age_keeps_the_undo_window() -> None:
    policies = [policy("**", None, "deleted")]
    old = memory(deleted_at=NOW - UNDO)
    assert reasons([old], policies) == {old.id: "trash"}


def test_expiry_wins_over_the_trash() -> None:
    head = memory(expires_at=NOW - DAY, deleted_at=NOW)
    assert reasons([head], []) == {head.id: "expired"}


def test_rejected_rows_go_at_once_without_a_quarantine_policy() -> None:
    head = quarantined("rejected", created_at=NOW, decided_at=NOW)
    assert [d.reason for d in due_quarantine([head], [], now=NOW)] == ["rejected"]


def test_rejected_rows_stay_for_the_policy_age_after_the_decision() -> None:
    policies = [policy("**", 3 * DAY, "quarantine")]
    due = quarantined("rejected", created_at=NOW - 10 * DAY, decided_at=NOW - 3 * DAY)
    kept = quarantined("rejected", created_at=NOW - 10 * DAY, decided_at=NOW - 3 * DAY + TICK)
    assert [d.id for d in due_quarantine([due, kept], policies, now=NOW)] == [due.id]


def test_pending_and_released_items_go_stale_after_the_policy_age() -> None:
    policies = [policy("acme/**", 3 * DAY, "quarantine")]
    stale = quarantined("pending", created_at=NOW - 3 * DAY)
    released = quarantined("released", created_at=NOW - 4 * DAY)
    fresh = quarantined("pending", created_at=NOW - 3 * DAY + TICK)
    due = due_quarantine([stale, released, fresh], policies, now=NOW)
    assert {d.id: d.reason for d in due} == {
        stale.id: "stale_quarantine",
        released.id: "stale_quarantine",
    }


def test_pending_items_are_kept_without_a_quarantine_policy() -> None:
    head = quarantined("pending", created_at=NOW - 365 * DAY)
    assert due_quarantine([head], [policy("**", DAY, "memories")], now=NOW) == []


def test_visible_cutoff_follows_the_governing_policy() -> None:
    policies = [policy("acme/**", 10 * DAY, "memories"), policy("acme/legal", None, "memories")]
    assert visible_cutoff("acme/bot", policies, NOW) == NOW - 10 * DAY
    assert visible_cutoff("acme/legal", policies, NOW) is None
    assert visible_cutoff("globex", policies, NOW) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        due_memories([], [], undo_window=UNDO, now=NOW.replace(tzinfo=None))


ages = st.timedeltas(min_value=TICK, max_value=timedelta(days=400))


@given(age=ages, max_age=ages, ttl=ages, deleted=st.booleans())
def test_a_live_memory_is_never_selected(
    age: timedelta, max_age: timedelta, ttl: timedelta, *, deleted: bool
) -> None:
    head = memory(
        created_at=NOW - age,
        expires_at=NOW + ttl,
        deleted_at=NOW - UNDO + TICK if deleted else None,
    )
    policies = [policy("acme/**", max_age, "memories")]
    selected = reasons([head], policies)
    assert (head.id in selected) == (age >= max_age)
