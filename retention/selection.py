"""What is due for purging, decided purely from heads, policies and an injected ``now``.

Every comparison is ``<= now``: a memory whose deadline is exactly ``now`` is already invisible
at read time (see :func:`visible_cutoff`), so it is also due here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from retention.clock import require_aware
from retention.policies import AppliesTo, RetentionPolicy, governing_max_age, governing_policies

PurgeReason = Literal["expired", "max_age", "trash", "rejected", "stale_quarantine"]
QuarantineStatus = Literal["pending", "released", "rejected"]


@dataclass(frozen=True, slots=True)
class MemoryHead:
    """The fields of a memory retention reads; ``deleted_at`` is set while it is in the trash."""

    id: UUID
    scope: str
    created_at: datetime
    expires_at: datetime | None
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuarantineHead:
    """The fields of a quarantine item that retention reads."""

    id: UUID
    scope: str
    status: QuarantineStatus
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class DuePurge:
    """One id to purge and the first rule that made it due."""

    id: UUID
    reason: PurgeReason


class _MaxAges:
    """Governing ``max_age`` per (scope, target), computed once per scope within one call."""

    def __init__(self, policies: Sequence[RetentionPolicy]) -> None:
        self._policies = policies
        self._by_scope: dict[str, dict[AppliesTo, timedelta | None]] = {}

    def get(self, scope: str, applies_to: AppliesTo) -> timedelta | None:
        ages = self._by_scope.get(scope)
        if ages is None:
            governing = governing_policies(scope, self._policies)
            ages = {target: policy.max_age for target, policy in governing.items()}
            self._by_scope[scope] = ages
        return ages.get(applies_to)


def _memory_reason(
    head: MemoryHead, ages: _MaxAges, undo_window: timedelta, now: datetime
) -> PurgeReason | None:
    # Expiry and max age are checked before the trash rule: a deleted memory that is also past
    # them could never be restored visibly, so the trash must not keep it any longer.
    if head.expires_at is not None and head.expires_at <= now:
        return "expired"
    max_age = ages.get(head.scope, "memories")
    if max_age is not None and head.created_at + max_age <= now:
        return "max_age"
    if head.deleted_at is not None:
        # A "deleted" policy can shorten or lengthen the undo window but never disable it:
        # the trash is always emptied, so a policy without an age falls back to the window.
        policy_age = ages.get(head.scope, "deleted")
        in_trash_for = undo_window if policy_age is None else policy_age
        if head.deleted_at + in_trash_for <= now:
            return "trash"
    return None


def due_memories(
    heads: Iterable[MemoryHead],
    policies: Sequence[RetentionPolicy],
    *,
    undo_window: timedelta,
    now: datetime,
) -> list[DuePurge]:
    """The memories (live or soft-deleted) due for purging at ``now``, with the reason."""
    require_aware(now)
    ages = _MaxAges(policies)
    due = []
    for head in heads:
        reason = _memory_reason(head, ages, undo_window, now)
        if reason is not None:
            due.append(DuePurge(head.id, reason))
    return due


def _quarantine_reason(head: QuarantineHead, ages: _MaxAges, now: datetime) -> PurgeReason | None:
    max_age = ages.get(head.scope, "quarantine")
    if head.status == "rejected":
        # A rejected item's content is already destroyed; its row only shows reviewers recent
        # decisions, so it stays for the quarantine policy's age after the decision, and goes
        # at the next run when no policy asks to keep it.
        if max_age is None:
            return "rejected"
        decided = head.decided_at or head.created_at
        return "rejected" if decided + max_age <= now else None
    if max_age is not None and head.created_at + max_age <= now:
        return "stale_quarantine"
    return None


def due_quarantine(
    heads: Iterable[QuarantineHead], policies: Sequence[RetentionPolicy], *, now: datetime
) -> list[DuePurge]:
    """The quarantine items due for purging at ``now``, with the reason."""
    require_aware(now)
    ages = _MaxAges(policies)
    due = []
    for head in heads:
        reason = _quarantine_reason(head, ages, now)
        if reason is not None:
            due.append(DuePurge(head.id, reason))
    return due


def visible_cutoff(
    scope: str, policies: Iterable[RetentionPolicy], now: datetime
) -> datetime | None:
    """Memories of ``scope`` created at or before this instant are invisible to reads.

    None when no "memories" policy limits the scope. Reads must show a memory only if
    ``created_at > cutoff`` (and ``expires_at`` is None or ``> now``), as :func:`due_memories`
    purges exactly the others.
    """
    max_age = governing_max_age(scope, policies, "memories")
    return None if max_age is None else require_aware(now) - max_age
