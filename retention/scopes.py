"""Scope patterns as retention policies use them.

A scope is ``a/b/c`` (at most 8 lowercase segments). A pattern is an exact scope, ``base/**``
(the base and everything below it) or ``**`` (everything). The service has its own matcher;
this one is kept here so that retention stays a leaf package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retention.errors import InvalidScopePattern

MAX_DEPTH = 8
EVERYTHING = "**"
_SUBTREE_SUFFIX = "/**"
_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def _check_scope(value: str) -> str:
    segments = value.split("/")
    if len(segments) > MAX_DEPTH:
        raise InvalidScopePattern(f"scope is deeper than {MAX_DEPTH} segments")
    for segment in segments:
        # "." and ".." fit the character class but read as path tricks; the service refuses them.
        if not _SEGMENT.fullmatch(segment) or segment.strip(".") == "":
            raise InvalidScopePattern("scope segments must match [a-z0-9][a-z0-9_.-]{0,62}")
    return value


@dataclass(frozen=True, slots=True)
class ScopePattern:
    """A parsed pattern; ``base`` is None for ``**``."""

    base: str | None
    subtree: bool

    @classmethod
    def parse(cls, value: str) -> ScopePattern:
        """Parse ``a/b``, ``a/b/**`` or ``**``; raise :class:`InvalidScopePattern` otherwise."""
        if value == EVERYTHING:
            return cls(base=None, subtree=True)
        if value.endswith(_SUBTREE_SUFFIX):
            return cls(base=_check_scope(value[: -len(_SUBTREE_SUFFIX)]), subtree=True)
        return cls(base=_check_scope(value), subtree=False)

    def matches(self, scope: str) -> bool:
        """True if ``scope`` lies inside this pattern."""
        if self.base is None:
            return True
        if not self.subtree:
            return scope == self.base
        return scope == self.base or scope.startswith(self.base + "/")

    @property
    def specificity(self) -> tuple[int, int]:
        """Greater is more specific: deeper base first, then exact over subtree; ``**`` is least."""
        depth = 0 if self.base is None else self.base.count("/") + 1
        return (depth, 0 if self.subtree else 1)
