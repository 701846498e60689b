"""Reading and verifying the audit trail, within the caller's ``audit:read`` grants."""

from __future__ import annotations

from collections.abc import Iterator

from memory_service.domain.access import scope_filter_for
from memory_service.domain.audit import AuditEvent, AuditQuery, Verification, audit_entry
from memory_service.domain.grants import Caller, Permission
from memory_service.domain.ports import AuditTrail, ControlStore
from memory_service.errors import ScopeDenied


class AuditService:
    def __init__(self, trail: AuditTrail, control: ControlStore) -> None:
        self._trail = trail
        self._control = control

    def query(
        self,
        caller: Caller,
        query: AuditQuery,
        *,
        limit: int,
        cursor: str | None,
        newest_first: bool = False,
    ) -> tuple[list[AuditEvent], str | None]:
        """Events in the scopes the caller audits; scope-less events (keys, searches across
        scopes) only for a grant on everything."""
        requested = [query.scope] if query.scope else None
        scopes = scope_filter_for(caller.principal, Permission.AUDIT_READ, requested)
        if scopes.is_empty:
            raise ScopeDenied(Permission.AUDIT_READ.value)
        events, next_cursor = self._trail.query(
            query, scopes, limit=limit, cursor=cursor, newest_first=newest_first
        )
        self._control.record_audit(
            [
                audit_entry(
                    caller, "audit.query", scope=query.scope, details={"returned": len(events)}
                )
            ]
        )
        return events, next_cursor

    def verify(self, caller: Caller) -> Verification:
        """The whole chain, so only for an auditor of everything."""
        self._require_everything(caller)
        result = self._trail.verify()
        self._control.record_audit(
            [
                audit_entry(
                    caller,
                    "audit.verify",
                    decision={"ok": result.ok, "first_bad_seq": result.first_bad_seq},
                    details={"events": result.events},
                )
            ]
        )
        return result

    def export(self, caller: Caller, after_seq: int) -> Iterator[AuditEvent]:
        self._require_everything(caller)
        self._control.record_audit(
            [audit_entry(caller, "audit.export", details={"after_seq": after_seq})]
        )
        return self._trail.events(after_seq)

    @staticmethod
    def _require_everything(caller: Caller) -> None:
        if not scope_filter_for(caller.principal, Permission.AUDIT_READ).is_everything:
            raise ScopeDenied(Permission.AUDIT_READ.value)
