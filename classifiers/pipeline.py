"""Run every classifier over a text and decide what may be stored.

The service calls :meth:`ClassificationPipeline.decide` before anything is stored or embedded;
the vector store only ever receives :attr:`Decision.content`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from classifiers.findings import Classifier, Finding
from classifiers.policy import SEVERITY, Action, Policy


@dataclass(frozen=True, slots=True)
class Decided:
    finding: Finding
    action: Action


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one text. ``content`` is what may be stored (None unless storable)."""

    outcome: Action  # the strongest action over all findings; ALLOW when clean
    content: str | None
    findings: tuple[Decided, ...]
    failed: bool = False  # a classifier broke or timed out: held back, fail closed

    @property
    def storable(self) -> bool:
        return self.outcome in (Action.ALLOW, Action.REDACT, Action.PSEUDONYMIZE)

    @property
    def altered(self) -> bool:
        return any(d.action in (Action.REDACT, Action.PSEUDONYMIZE) for d in self.findings)


class ClassifierFailedError(Exception):
    """A classifier raised; the caller must fail closed (quarantine, never store)."""


class ClassificationPipeline:
    """An explicit list of classifiers and the rewriting of the text a policy asks for."""

    def __init__(self, classifiers: Sequence[Classifier]) -> None:
        self._classifiers = tuple(classifiers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._classifiers)

    def findings(self, text: str) -> list[Finding]:
        """Every finding of every classifier, in text order."""
        found: list[Finding] = []
        for classifier in self._classifiers:
            try:
                found.extend(classifier.classify(text))
            except Exception as exc:
                raise ClassifierFailedError(classifier.name) from exc
        return sorted(found, key=lambda f: (f.start, -f.end))

    def decide(
        self, text: str, policy: Policy, pseudonymize: Pseudonymize | None = None
    ) -> Decision:
        """Classify ``text`` and apply ``policy``: the stored text never holds a flagged span."""
        return apply(text, self.findings(text), policy, pseudonymize)


Pseudonymize = Callable[[str, str], str]
"""(entity type, matched value) -> the token that replaces it, e.g. ``<PERSON_3f9a2c>``."""


def apply(
    text: str,
    findings: Sequence[Finding],
    policy: Policy,
    pseudonymize: Pseudonymize | None = None,
) -> Decision:
    """Apply ``policy`` to findings already made on ``text``."""
    decided = tuple(Decided(f, policy.action_for(f)) for f in findings)
    outcome = max((d.action for d in decided), key=SEVERITY.__getitem__, default=Action.ALLOW)
    if outcome in (Action.QUARANTINE, Action.REJECT):
        return Decision(outcome=outcome, content=None, findings=decided)
    return Decision(
        outcome=outcome, content=_rewrite(text, decided, pseudonymize), findings=decided
    )


def _marker(text: str, decided: Decided, pseudonymize: Pseudonymize | None) -> str:
    finding = decided.finding
    if decided.action is Action.PSEUDONYMIZE and pseudonymize is not None:
        return pseudonymize(finding.type, text[finding.start : finding.end])
    return f"[REDACTED:{finding.type}]"


def _rewrite(text: str, decided: Sequence[Decided], pseudonymize: Pseudonymize | None) -> str:
    """Replace each redacted or pseudonymised span with a typed marker, left to right."""
    spans = sorted(
        (d for d in decided if d.action in (Action.REDACT, Action.PSEUDONYMIZE)),
        key=lambda d: d.finding.start,
    )
    out: list[str] = []
    cursor = 0
    for d in spans:
        if d.finding.start < cursor:  # overlapping spans: the earlier one already covers it
            cursor = max(cursor, d.finding.end)
            continue
        out.append(text[cursor : d.finding.start])
        out.append(_marker(text, d, pseudonymize))
        cursor = d.finding.end
    out.append(text[cursor:])
    return "".join(out)
