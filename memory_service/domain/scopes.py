"""Scopes, scope patterns and the one place that turns grants into a store filter.

A scope is a path of lowercase segments (``acme/globex/support-bot``). A pattern is a scope
(exact), a scope followed by ``/**`` (the scope and everything below it) or ``**`` (everything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory_service.errors import InvalidScope

MAX_DEPTH = 8
_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_SUBTREE_SUFFIX = "/**"
EVERYTHING = "**"


def parse_scope(value: str) -> str:
    """Return ``value`` if it is a valid scope, else raise :class:`InvalidScope`."""
    if not isinstance(value, str) or not value:
        raise InvalidScope("scope must be a non-empty string")
    segments = value.split("/")
    if len(segments) > MAX_DEPTH:
        raise InvalidScope(f"scope is deeper than {MAX_DEPTH} segments")
    for segment in segments:
        # ".." and "." match the segment regex's character class but would read as path tricks.
        if not _SEGMENT.fullmatch(segment) or segment.strip(".") == "":
            raise InvalidScope("scope segments must match [a-z0-9][a-z0-9_.-]{0,62}")
    return value


def ancestors(scope: str) -> list[str]:
    """Every prefix of ``scope`` including itself: ``a/b/c`` -> ``[a, a/b, a/b/c]``."""
    segments = scope.split("/")
    return ["/".join(segments[: i + 1]) for i in range(len(segments))]


@dataclass(frozen=True, slots=True)
class ScopePattern:
    """An exact scope, a subtree (``base/**``) or everything (``**``)."""

    base: str | None  # None means everything
    subtree: bool

    @classmethod
    def parse(cls, value: str) -> ScopePattern:
        """Parse ``acme``, ``acme/**`` or ``**``; raise :class:`InvalidScope` otherwise."""
        if value == EVERYTHING:
            return cls(base=None, subtree=True)
        if isinstance(value, str) and value.endswith(_SUBTREE_SUFFIX):
            return cls(base=parse_scope(value[: -len(_SUBTREE_SUFFIX)]), subtree=True)
        return cls(base=parse_scope(value), subtree=False)

    def __str__(self) -> str:
        if self.base is None:
            return EVERYTHING
        return self.base + _SUBTREE_SUFFIX if self.subtree else self.base

    @property
    def is_everything(self) -> bool:
        return self.base is None

    def matches(self, scope: str) -> bool:
        """True if ``scope`` lies inside this pattern."""
        if self.base is None:
            return True
        if not self.subtree:
            return scope == self.base
        return scope == self.base or scope.startswith(self.base + "/")

    def covers(self, other: ScopePattern) -> bool:
        """True if every scope ``other`` matches is also matched by this pattern."""
        if self.base is None:
            return True
        if other.base is None:
            return False
        if not self.subtree:
            return not other.subtree and other.base == self.base
        return self.matches(other.base)

    def intersect(self, other: ScopePattern) -> ScopePattern | None:
        """The pattern both match, or None when they share no scope.

        Patterns form a tree, so two patterns either nest or are disjoint.
        """
        if self.covers(other):
            return other
        if other.covers(self):
            return self
        return None


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """The set of scopes a query may touch, as a union of patterns.

    Only :func:`memory_service.domain.access.scope_filter_for` builds one from a principal's
    grants; storage adapters require one on every read so that an unscoped query cannot be
    written. An empty filter matches nothing.
    """

    patterns: tuple[ScopePattern, ...]

    @property
    def is_empty(self) -> bool:
        return not self.patterns

    @property
    def is_everything(self) -> bool:
        return any(p.is_everything for p in self.patterns)

    @property
    def exact_scopes(self) -> list[str]:
        return sorted(p.base for p in self.patterns if p.base is not None and not p.subtree)

    @property
    def subtree_bases(self) -> list[str]:
        return sorted(p.base for p in self.patterns if p.base is not None and p.subtree)

    def matches(self, scope: str) -> bool:
        return any(p.matches(scope) for p in self.patterns)

    def narrowed_to(self, pattern: ScopePattern) -> ScopeFilter:
        """The part of this filter inside ``pattern``; narrowing can only ever shrink it."""
        parts = [q for p in self.patterns if (q := p.intersect(pattern)) is not None]
        return ScopeFilter(normalise(parts))

    @property
    def roots(self) -> list[str] | None:
        """First segments (orgs) this filter can reach; None when it reaches every org."""
        if self.is_everything:
            return None
        return sorted({p.base.split("/", 1)[0] for p in self.patterns if p.base is not None})


def normalise(patterns: list[ScopePattern]) -> tuple[ScopePattern, ...]:
    """Drop patterns covered by another one; sorted for stable filters and tests."""
    unique = sorted(set(patterns), key=lambda p: (p.base is not None, p.base or "", p.subtree))
    kept = [p for p in unique if not any(q != p and q.covers(p) for q in unique)]
    return tuple(kept)
