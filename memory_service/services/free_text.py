"""Free text that goes to the audit trail and the logs is classified too.

Key names, policy names and the reasons reviewers give are stored in the clear: in the
hash-chained trail (which cannot be edited afterwards) and in every log line of the event. A
credential pasted there is refused before anything is written, with a 422 that names the
field and the type found, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from classifiers.findings import Kind
from classifiers.pipeline import ClassificationPipeline
from classifiers.record import Layout
from memory_service.errors import InvalidInput, StoreUnavailable

Screen = Callable[[Mapping[str, str]], None]
"""``{field name: text}`` -> None, or :class:`InvalidInput` naming the field that holds a
credential."""


class FreeTextScreen:
    """Refuses credentials in free text bound for the audit trail (one classifier call)."""

    def __init__(self, pipeline: ClassificationPipeline) -> None:
        self._pipeline = pipeline

    def __call__(self, texts: Mapping[str, str]) -> None:
        """Raise :class:`InvalidInput` if any of ``texts`` holds a credential; the texts are
        short (names, reasons), so this runs in the caller's worker thread."""
        layout = Layout.of(dict(texts))
        try:
            findings = self._pipeline.findings(layout.text)
        except Exception as exc:
            # Fail closed: text nobody could read is not written to the trail.
            raise StoreUnavailable("the classifiers failed; nothing was changed") from exc
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
