"""Classification policies per scope pattern; the most specific matching pattern wins."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from classifiers.policy import Action, Policy
from memory_service.domain.audit import audit_entry
from memory_service.domain.grants import Caller, Permission, Principal
from memory_service.domain.models import PolicyRecord
from memory_service.domain.ports import PolicyStore
from memory_service.domain.scopes import ScopePattern
from memory_service.errors import InvalidInput, NotFound, ScopeDenied
from memory_service.services.free_text import Screen

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,127}")
_PII_TYPE = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
DEFAULT = Policy()


def _action(value: str, field: str) -> Action:
    try:
        return Action(value)
    except ValueError:
        allowed = "|".join(a.value for a in Action)
        raise InvalidInput(f"{field} must be one of {allowed}") from None


def specificity(pattern: ScopePattern) -> tuple[int, int]:
    """Deeper bases are more specific; at the same depth an exact scope beats its subtree."""
    if pattern.base is None:
        return (-1, 0)
    return (pattern.base.count("/") + 1, 0 if pattern.subtree else 1)


def to_policy(record: PolicyRecord) -> Policy:
    return Policy(
        secret=Action(record.secret),
        pii=Action(record.pii),
        injection=Action(record.injection),
        pii_types={k: Action(v) for k, v in record.pii_types.items()},
        min_score=record.min_score,
    )


class PolicyService:
    def __init__(
        self, store: PolicyStore, clock: Callable[[], datetime], *, screen: Screen
    ) -> None:
        self._store = store
        self._clock = clock
        self._screen = screen  # a policy's name is in the audit trail

    def resolve(self, scope: str) -> Policy:
        """The policy for a write to ``scope``: the most specific match, else the defaults."""
        record = self._governing(scope)
        return DEFAULT if record is None else to_policy(record)

    def hold_unclassified(self, scope: str) -> bool:
        """Whether a write to ``scope`` that could not be classified is held, not refused."""
        record = self._governing(scope)
        return record is not None and record.hold_unclassified

    def two_person_release(self, scope: str) -> bool:
        """Whether releasing a secret as-is in ``scope`` needs a second reviewer."""
        record = self._governing(scope)
        return record is not None and record.two_person_release

    def _governing(self, scope: str) -> PolicyRecord | None:
        matching = [
            (specificity(pattern), record)
            for record in self._store.list_policies()
            if (pattern := ScopePattern.parse(record.scope)).matches(scope)
        ]
        return max(matching, key=lambda pair: pair[0])[1] if matching else None

    def list_for(self, principal: Principal) -> list[PolicyRecord]:
        """Policies whose pattern lies inside the caller's ``policy:admin`` grants."""
        return [r for r in self._store.list_policies() if administers(principal, r.scope)]

    def put(
        self,
        caller: Caller,
        name: str,
        *,
        scope: str,
        secret: str,
        pii: str,
        injection: str,
        pii_types: dict[str, str],
        min_score: float,
        two_person_release: bool = False,
        hold_unclassified: bool = False,
    ) -> PolicyRecord:
        """Create or replace the policy ``name``; the caller must administer its whole pattern."""
        principal = caller.principal
        if not _NAME.fullmatch(name):
            raise InvalidInput("policy names match [a-z0-9][a-z0-9_.-]{0,127}")
        self._screen({"name": name}, principal.key_id)
        pattern = ScopePattern.parse(scope)
        if not administers(principal, str(pattern)):
            raise ScopeDenied(Permission.POLICY_ADMIN.value)
        existing = {r.name: r for r in self._store.list_policies()}.get(name)
        if existing and not administers(principal, existing.scope):
            raise ScopeDenied(Permission.POLICY_ADMIN.value)
        for pii_type in pii_types:
            if not _PII_TYPE.fullmatch(pii_type):
                raise InvalidInput("pii_types keys are upper-case entity types, e.g. PERSON")
        if not 0.0 <= min_score <= 1.0:
            raise InvalidInput("min_score must be between 0 and 1")
        record = PolicyRecord(
            name=name,
            scope=str(pattern),
            secret=_action(secret, "secret").value,
            pii=_action(pii, "pii").value,
            injection=_action(injection, "injection").value,
            pii_types={k: _action(v, f"pii_types.{k}").value for k, v in pii_types.items()},
            min_score=min_score,
            updated_at=self._clock(),
            updated_by=principal.name,
            two_person_release=two_person_release,
            hold_unclassified=hold_unclassified,
        )
        entry = audit_entry(
            caller,
            "policy.put",
            scope=_audit_scope(record.scope),
            details={"kind": "classification", "name": name, "policy": _policy_json(record)},
        )
        self._store.put_policy(record, audit=[entry])
        return record

    def delete(self, caller: Caller, name: str) -> None:
        existing = {r.name: r for r in self._store.list_policies()}.get(name)
        if existing is None or not administers(caller.principal, existing.scope):
            raise NotFound
        entry = audit_entry(
            caller,
            "policy.delete",
            scope=_audit_scope(existing.scope),
            details={"kind": "classification", "name": name},
        )
        self._store.delete_policy(name, audit=[entry])


def _audit_scope(pattern_text: str) -> str | None:
    """The scope an auditor of that subtree finds this event under (None for ``**``)."""
    return ScopePattern.parse(pattern_text).base


def _policy_json(record: PolicyRecord) -> dict[str, object]:
    return {
        "scope": record.scope,
        "secret": record.secret,
        "pii": record.pii,
        "injection": record.injection,
        "pii_types": record.pii_types,
        "min_score": str(record.min_score),
        "two_person_release": record.two_person_release,
        "hold_unclassified": record.hold_unclassified,
    }


def administers(principal: Principal, pattern_text: str) -> bool:
    wanted = ScopePattern.parse(pattern_text)
    return any(g.covers(wanted) for g in principal.patterns_for(Permission.POLICY_ADMIN))
