"""Per-finding actions and the policy that picks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from classifiers.findings import Finding, Kind


class Action(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"
    PSEUDONYMIZE = "pseudonymize"
    QUARANTINE = "quarantine"
    REJECT = "reject"


# Order of severity: the strongest action over all findings decides the write's fate.
SEVERITY = {
    Action.ALLOW: 0,
    Action.PSEUDONYMIZE: 1,
    Action.REDACT: 2,
    Action.QUARANTINE: 3,
    Action.REJECT: 4,
}


@dataclass(frozen=True, slots=True)
class Policy:
    """Defaults as in DESIGN.md: secrets and injections quarantined, PII pseudonymised."""

    secret: Action = Action.QUARANTINE
    pii: Action = Action.PSEUDONYMIZE
    injection: Action = Action.QUARANTINE
    pii_types: dict[str, Action] = field(default_factory=dict)
    min_score: float = 0.0

    def action_for(self, finding: Finding) -> Action:
        if finding.score < self.min_score:
            return Action.ALLOW
        if finding.kind is Kind.SECRET:
            return self.secret
        if finding.kind is Kind.INJECTION:
            return self.injection
        return self.pii_types.get(finding.type, self.pii)
