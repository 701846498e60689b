from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory_service.domain.access import scope_filter_for
from memory_service.domain.grants import Grant, Permission, Principal
from memory_service.domain.scopes import ScopePattern, parse_scope
from memory_service.errors import InvalidScope, ScopeDenied

READ = Permission.MEMORY_READ


@pytest.mark.parametrize(
    "scope", ["acme", "acme/globex", "a/b/c/d/e/f/g/h", "a1/b_2/c-3/d.4", "x" * 63]
)
def test_valid_scopes_parse(scope: str) -> None:
    assert parse_scope(scope) == scope


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "ACME",
        "acme/..",
        "acme/.",
        "..",
        "a//b",
        "/acme",
        "acme/",
        "a/b/c/d/e/f/g/h/i",
        "x" * 64,
        "-acme",
        "acme/**",
        "acme globex",
        "acmé",
    ],
)
def test_invalid_scopes_are_refused(scope: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scope(scope)


def test_pattern_kinds() -> None:
    exact = ScopePattern.parse("acme/globex")
    subtree = ScopePattern.parse("acme/globex/**")
    everything = ScopePattern.parse("**")
    assert exact.matches("acme/globex")
    assert not exact.matches("acme/globex/bot")
    assert subtree.matches("acme/globex")
    assert subtree.matches("acme/globex/bot")
    assert not subtree.matches("acme/globexx")
    assert not subtree.matches("acme")
    assert everything.matches("anything/at/all")
    assert str(subtree) == "acme/globex/**"


def principal(*grants: tuple[str, set[Permission]]) -> Principal:
    return Principal(
        key_id="k",
        name="k",
        grants=tuple(Grant(ScopePattern.parse(p), frozenset(perms)) for p, perms in grants),
    )


def test_no_grant_means_empty_filter() -> None:
    p = principal(("acme/**", {Permission.MEMORY_WRITE}))
    assert scope_filter_for(p, READ).is_empty


def test_requested_scope_outside_grants_is_denied() -> None:
    p = principal(("acme/globex/**", {READ}))
    with pytest.raises(ScopeDenied):
        scope_filter_for(p, READ, ["acme/initech"])
    with pytest.raises(ScopeDenied):
        scope_filter_for(p, READ, ["acme"])


def test_requested_subtree_is_narrowed_to_grants() -> None:
    p = principal(("acme/globex/**", {READ}), ("acme/shared", {READ}))
    f = scope_filter_for(p, READ, ["acme/**"])
    assert f.matches("acme/globex/bot")
    assert f.matches("acme/shared")
    assert not f.matches("acme/initech")
    assert not f.matches("acme")


def test_requested_exact_scope_inside_subtree_grant() -> None:
    p = principal(("acme/**", {READ}))
    f = scope_filter_for(p, READ, ["acme/globex"])
    assert f.matches("acme/globex")
    assert not f.matches("acme/globex/bot")


segment = st.sampled_from(["a", "b", "c", "a_b", "ab", "a.b"])
scopes = st.lists(segment, min_size=1, max_size=4).map("/".join)
patterns = st.one_of(
    scopes,
    scopes.map(lambda s: s + "/**"),
    st.just("**"),
)


@given(
    grants=st.lists(patterns, max_size=4),
    requested=st.none() | st.lists(patterns, min_size=1, max_size=3),
    probe=scopes,
)
def test_filter_never_admits_a_scope_outside_the_grants(
    grants: list[str], requested: list[str] | None, probe: str
) -> None:
    p = principal(*[(g, {READ}) for g in grants])
    try:
        f = scope_filter_for(p, READ, requested)
    except ScopeDenied:
        return
    if f.matches(probe):
        assert p.can(READ, probe)
        if requested is not None:
            assert any(ScopePattern.parse(r).matches(probe) for r in requested)


@given(a=patterns, b=patterns, probe=scopes)
def test_intersection_matches_exactly_the_common_scopes(a: str, b: str, probe: str) -> None:
    pa, pb = ScopePattern.parse(a), ScopePattern.parse(b)
    both = pa.intersect(pb)
    expected = pa.matches(probe) and pb.matches(probe)
    assert (both is not None and both.matches(probe)) == expected
