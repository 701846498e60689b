"""Free text that goes to the audit trail and the logs is classified too.

Key names, policy names and the reasons reviewers give are stored in the clear: in the
hash-chained trail (which cannot be edited afterwards) and in every log line of the event. A
credential pasted there is refused before anything is written, with a 422 that names the
field and the type found, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from classifiers.findings import Kind
from classifiers.record import Layout
from memory_service.errors import InvalidInput
from memory_service.services.gate import ContentGate

Screen = Callable[[Mapping[str, str], str], None]
"""``({field name: text}, caller's key id)`` -> None, or :class:`InvalidInput` naming the field
that holds a credential."""


class FreeTextScreen:
    """Refuses credentials in free text bound for the audit trail (one classifier call, in the
    caller's turn on the gate's queue)."""

    def __init__(self, gate: ContentGate) -> None:
        self._gate = gate

    def __call__(self, texts: Mapping[str, str], owner: str) -> None:
        """Raise :class:`InvalidInput` if any of ``texts`` holds a credential. Fails closed
        (the gate's Overloaded or StoreUnavailable): text nobody could read is not written
        to the trail."""
        layout = Layout.of(dict(texts))
        findings = self._gate.findings(layout.text, owner=owner)
        flagged: dict[str, set[str]] = {}
        for part, found in zip(layout.parts, layout.split(findings), strict=True):
            for f in found:
                if f.kind is Kind.SECRET:
                    flagged.setdefault(part.field, set()).add(f.type)
        if flagged:
            where = "; ".join(f"{name}: {', '.join(sorted(t))}" for name, t in flagged.items())
            raise InvalidInput(
                f"a credential was found in free text that would be kept in the audit trail "
                f"({where}); it was not stored"
            )
