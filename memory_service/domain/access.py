"""Scope isolation in one place: grants (and a request's narrowing) -> the store filter.

Every read path calls :func:`scope_filter_for`; the storage adapters take its result as a
required argument, so no query can be built without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from memory_service.domain.grants import Permission, Principal
from memory_service.domain.scopes import ScopeFilter, ScopePattern, normalise
from memory_service.errors import ScopeDenied


def scope_filter_for(
    principal: Principal,
    permission: Permission,
    requested: Sequence[str] | None = None,
) -> ScopeFilter:
    """The scopes ``principal`` may touch with ``permission``, narrowed to ``requested``.

    ``requested`` entries are scopes or patterns. An exact scope the principal cannot read, or
    a pattern that shares nothing with the grants, raises :class:`ScopeDenied`: asking for a
    scope you do not hold is an error, not an empty result.
    """
    granted = principal.patterns_for(permission)
    if requested is None:
        return ScopeFilter(normalise(granted))
    narrowed: list[ScopePattern] = []
    for raw in requested:
        wanted = ScopePattern.parse(raw)
        if not wanted.subtree and not any(g.covers(wanted) for g in granted):
            raise ScopeDenied(permission.value)
        parts = [p for g in granted if (p := g.intersect(wanted)) is not None]
        if not parts:
            raise ScopeDenied(permission.value)
        narrowed.extend(parts)
    return ScopeFilter(normalise(narrowed))


def single_scope_filter(principal: Principal, permission: Permission, scope: str) -> ScopeFilter:
    """Filter for one exact scope the principal must hold ``permission`` on."""
    return scope_filter_for(principal, permission, [scope])


def require(principal: Principal, permission: Permission, scope: str) -> None:
    """Raise :class:`ScopeDenied` unless ``principal`` holds ``permission`` on ``scope``."""
    if not principal.can(permission, scope):
        raise ScopeDenied(permission.value)
