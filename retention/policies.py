"""Retention policies and which one governs a scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, get_args

from retention.errors import InvalidPolicy
from retention.scopes import ScopePattern

AppliesTo = Literal["memories", "quarantine", "deleted"]
APPLIES_TO: tuple[AppliesTo, ...] = get_args(AppliesTo)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long things under ``scope`` (a pattern) are kept.

    ``max_age`` None means "no limit here", which lets a specific pattern exempt a subtree from a
    broader policy. ``applies_to`` picks what is aged: live memories (from ``created_at``),
    quarantine items (from ``created_at``) or soft-deleted memories (from ``deleted_at``).
    """

    name: str
    scope: str
    max_age: timedelta | None
    applies_to: AppliesTo
    pattern: ScopePattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.applies_to not in APPLIES_TO:
            raise InvalidPolicy("applies_to must be memories, quarantine or deleted")
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise InvalidPolicy("max_age must be positive")
        object.__setattr__(self, "pattern", ScopePattern.parse(self.scope))


def _precedence(policy: RetentionPolicy) -> tuple[int, int, timedelta, str]:
    depth, exactness = policy.pattern.specificity
    # Two policies on the same pattern are a configuration conflict; the stricter one wins
    # because forgetting too early is the safer failure for a memory store. The name only
    # makes the choice deterministic.
    strictness = policy.max_age if policy.max_age is not None else timedelta.max
    return (-depth, -exactness, strictness, policy.name)


def governing_policies(
    scope: str, policies: Iterable[RetentionPolicy]
) -> dict[AppliesTo, RetentionPolicy]:
    """For each ``applies_to``, the most specific policy whose pattern matches ``scope``.

    A deeper base beats a shallower one, an exact scope beats a subtree at the same depth, and
    ``**`` is least specific. Targets no policy matches are absent from the result.
    """
    chosen: dict[AppliesTo, RetentionPolicy] = {}
    for policy in sorted(policies, key=_precedence):
        if policy.applies_to not in chosen and policy.pattern.matches(scope):
            chosen[policy.applies_to] = policy
    return chosen


def governing_max_age(
    scope: str, policies: Iterable[RetentionPolicy], applies_to: AppliesTo
) -> timedelta | None:
    """The governing policy's ``max_age`` for ``applies_to``, or None when nothing limits it."""
    policy = governing_policies(scope, policies).get(applies_to)
    return None if policy is None else policy.max_age
