"""Permissions, grants and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from memory_service.domain.scopes import ScopePattern


class Permission(StrEnum):
    MEMORY_READ = "memory:read"
    MEMORY_WRITE = "memory:write"
    MEMORY_DELETE = "memory:delete"
    QUARANTINE_REVIEW = "quarantine:review"
    QUARANTINE_REVEAL = "quarantine:reveal"
    PURGE = "purge"
    AUDIT_READ = "audit:read"
    POLICY_ADMIN = "policy:admin"
    KEYS_ADMIN = "keys:admin"


ALL_PERMISSIONS = frozenset(Permission)


@dataclass(frozen=True, slots=True)
class Grant:
    pattern: ScopePattern
    permissions: frozenset[Permission]

    def to_json(self) -> dict[str, object]:
        return {
            "scope": str(self.pattern),
            "permissions": sorted(p.value for p in self.permissions),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Grant:
        perms = data.get("permissions", [])
        if not isinstance(perms, list):
            msg = "permissions must be a list"
            raise TypeError(msg)
        return cls(
            pattern=ScopePattern.parse(str(data["scope"])),
            permissions=frozenset(Permission(str(p)) for p in perms),
        )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key's id and name, and its grants. Deny by default."""

    key_id: str
    name: str
    grants: tuple[Grant, ...]

    def patterns_for(self, permission: Permission) -> list[ScopePattern]:
        return [g.pattern for g in self.grants if permission in g.permissions]

    def can(self, permission: Permission, scope: str) -> bool:
        """True if some grant gives ``permission`` on ``scope``."""
        return any(p.matches(scope) for p in self.patterns_for(permission))

    def can_anywhere(self, permission: Permission) -> bool:
        return bool(self.patterns_for(permission))


@dataclass(frozen=True, slots=True)
class Caller:
    """A principal within one request: what the audit trail and provenance name."""

    principal: Principal
    request_id: str
