from __future__ import annotations

from datetime import timedelta

import pytest

from retention.errors import InvalidPolicy, InvalidScopePattern
from retention.policies import AppliesTo, RetentionPolicy, governing_max_age, governing_policies
from retention.scopes import ScopePattern

DAY = timedelta(days=1)


def policy(
    name: str, scope: str, days: int | None, applies_to: AppliesTo = "memories"
) -> RetentionPolicy:
    return RetentionPolicy(name, scope, None if days is None else days * DAY, applies_to)


@pytest.mark.parametrize(
    ("pattern", "scope", "matches"),
    [
        ("**", "acme", True),
        ("acme/**", "acme", True),
        ("acme/**", "acme/bot", True),
        ("acme/**", "acmecorp", False),
        ("acme/**", "globex/acme", False),
        ("acme", "acme", True),
        ("acme", "acme/bot", False),
    ],
)
def test_pattern_matching(pattern: str, scope: str, *, matches: bool) -> None:
    assert ScopePattern.parse(pattern).matches(scope) is matches


@pytest.mark.parametrize(
    "pattern",
    ["", "ACME", "acme/", "acme/**/x", "acme/..", "*", "a/**/**", "/".join("abcdefghi"), "x" * 64],
)
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidScopePattern):
        policy("p", pattern, 1)


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(InvalidPolicy):
        policy("p", "**", 0)
    with pytest.raises(InvalidPolicy):
        RetentionPolicy("p", "**", DAY, "audit")  # type: ignore[arg-type]


def test_most_specific_pattern_wins() -> None:
    policies = [
        policy("everything", "**", 365),
        policy("org", "acme/**", 90),
        policy("team-subtree", "acme/support/**", 30),
        policy("team-exact", "acme/support", 7),
    ]
    assert governing_policies("globex", policies)["memories"].name == "everything"
    assert governing_policies("acme/sales", policies)["memories"].name == "org"
    assert governing_policies("acme/support/bot", policies)["memories"].name == "team-subtree"
    # Same depth: the exact scope beats the subtree.
    assert governing_policies("acme/support", policies)["memories"].name == "team-exact"


def test_policy_order_does_not_change_the_winner() -> None:
    policies = [policy("org", "acme/**", 90), policy("everything", "**", 1)]
    assert governing_policies("acme/x", policies)["memories"].name == "org"
    assert governing_policies("acme/x", list(reversed(policies)))["memories"].name == "org"


def test_targets_are_governed_independently() -> None:
    policies = [
        policy("mem", "acme/**", 90),
        policy("quarantine", "**", 3, applies_to="quarantine"),
    ]
    chosen = governing_policies("acme/bot", policies)
    assert chosen["memories"].name == "mem"
    assert chosen["quarantine"].name == "quarantine"
    assert "deleted" not in chosen


def test_a_specific_policy_without_age_exempts_its_subtree() -> None:
    policies = [policy("everything", "**", 30), policy("legal-hold", "acme/legal/**", None)]
    assert governing_max_age("acme/legal/case-1", policies, "memories") is None
    assert governing_max_age("acme/other", policies, "memories") == 30 * DAY


def test_same_pattern_conflict_resolves_to_the_stricter_policy() -> None:
    policies = [policy("long", "acme/**", 90), policy("short", "acme/**", 10)]
    assert governing_max_age("acme/x", policies, "memories") == 10 * DAY
