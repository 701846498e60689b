"""Run every classifier over a text and decide what may be stored.

The service calls :meth:`ClassificationPipeline.decide` before anything is stored or embedded;
the vector store only ever receives :attr:`Decision.content`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from classifiers.findings import Classifier, Finding, Kind
from classifiers.normalise import View, views
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


class ClassificationStoppedError(ClassifierFailedError):
    """The caller asked the pipeline to stop (its time was up) before every classifier ran."""


@runtime_checkable
class ViewReader(Protocol):
    """A classifier that reads the normalised views itself because it needs their kinds.

    It gets the original text with the views the pipeline already made (so normalisation runs
    once per text, not once per classifier) and returns spans in the original text.
    """

    def classify_views(self, text: str, readings: Sequence[View]) -> list[Finding]: ...


@runtime_checkable
class BatchClassifier(Protocol):
    """A classifier that is cheaper per text when it gets several at once (spaCy's ``pipe``)."""

    def classify_many(self, texts: Sequence[str]) -> list[list[Finding]]: ...


class ClassificationPipeline:
    """An explicit list of classifiers and the rewriting of the text a policy asks for."""

    def __init__(self, classifiers: Sequence[Classifier]) -> None:
        self._classifiers = tuple(classifiers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self._classifiers)

    def findings(self, text: str) -> list[Finding]:
        """Every finding of every classifier over every view of ``text``, in text order.

        Classifiers read the normalised views (zero-width characters removed, NFKC, decoded
        wrappers); spans are mapped back so redaction removes the original characters.
        """
        return self.findings_many([text])[0]

    def findings_many(
        self, texts: Sequence[str], stop: Callable[[], bool] | None = None
    ) -> list[list[Finding]]:
        """:meth:`findings` for each of ``texts``; a batch classifier gets them all at once.

        The result is the same as classifying the texts one by one. If any classifier raises,
        the whole call raises :class:`ClassifierFailedError`: a caller that wants to hold back
        only the text that broke it retries the texts one at a time. ``stop`` is asked before
        each classifier: once it is true the call ends with :class:`ClassificationStoppedError`
        (so work nobody waits for any more ends within one classifier's run).
        """
        readings = [views(text) for text in texts]
        found: list[list[Finding]] = [[] for _ in texts]
        for classifier in self._classifiers:
            if stop is not None and stop():
                raise ClassificationStoppedError(classifier.name)
            try:
                if isinstance(classifier, ViewReader):
                    for i, text in enumerate(texts):
                        found[i].extend(classifier.classify_views(text, readings[i]))
                    continue
                flat = [(i, view) for i, reading in enumerate(readings) for view in reading]
                for (i, view), view_findings in zip(
                    flat, _classify_all(classifier, [v.text for _, v in flat]), strict=True
                ):
                    for f in view_findings:
                        start, end = view.to_original(f.start, f.end)
                        found[i].append(replace(f, start=start, end=end))
            except Exception as exc:
                raise ClassifierFailedError(classifier.name) from exc
        return [merge_overlaps(f) for f in found]

    def decide(
        self, text: str, policy: Policy, pseudonymize: Pseudonymize | None = None
    ) -> Decision:
        """Classify ``text`` and apply ``policy``: the stored text never holds a flagged span."""
        return apply(text, self.findings(text), policy, pseudonymize)

    def close(self) -> None:
        """Release what the pipeline holds (nothing here; worker processes in a pool)."""


def _classify_all(classifier: Classifier, texts: Sequence[str]) -> list[list[Finding]]:
    if len(texts) > 1 and isinstance(classifier, BatchClassifier):
        return classifier.classify_many(texts)
    return [classifier.classify(text) for text in texts]


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


def merge_overlaps(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per overlapping run of the same kind: the union span, the surest type."""
    by_kind: dict[Kind, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        by_kind.setdefault(f.kind, []).append(f)
    merged: list[Finding] = []
    for group in by_kind.values():
        current = group[0]
        for f in group[1:]:
            if f.start < current.end:
                best = max(current, f, key=lambda x: (x.score, x.end - x.start))
                current = replace(best, start=current.start, end=max(current.end, f.end))
            else:
                merged.append(current)
                current = f
        merged.append(current)
    # A credential URL (user:pass@host) also reads as an e-mail address; the secret finding
    # already covers it and decides its fate, so the look-alike is dropped.
    secrets = [f for f in merged if f.kind is Kind.SECRET]
    merged = [
        f
        for f in merged
        if f.kind is not Kind.PII or not any(s.start < f.end and f.start < s.end for s in secrets)
    ]
    return sorted(merged, key=lambda f: (f.start, -f.end))


def marker(text: str, decided: Decided, pseudonymize: Pseudonymize | None) -> str:
    """What replaces a decided finding's span in ``text``: its pseudonym, its redaction
    marker, or (allowed) the span itself."""
    finding = decided.finding
    if decided.action is Action.ALLOW:
        return text[finding.start : finding.end]
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
        out.append(marker(text, d, pseudonymize))
        cursor = d.finding.end
    out.append(text[cursor:])
    return "".join(out)
