"""The secrets classifier: our rule table plus detect-secrets, overlaps resolved by specificity."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator

from classifiers.findings import Finding, Kind
from classifiers.secrets import engine
from classifiers.secrets.candidate import Candidate
from classifiers.secrets.rules import RULES, Rule
from classifiers.secrets.values import is_placeholder

# A password may well end in "!"; a sentence ends in "." or ",".
_TRAILING_PUNCTUATION = ".,;:?)]}"
_CALL_OR_INDEX = "(["


class SecretsClassifier:
    """Finds credentials in free text: vendor keys, private keys, URLs with passwords,
    secret assignments, passwords stated in prose and random-looking strings.

    ``use_engine=False`` runs only our rule table (no detect-secrets): for measuring what the
    engine adds, not for production, where both run.
    """

    name = "secrets"

    def __init__(self, *, use_engine: bool = True) -> None:
        self._use_engine = use_engine

    def classify(self, text: str) -> list[Finding]:
        """Every secret in ``text`` as a span; overlapping candidates keep the most specific."""
        candidates = list(_rule_candidates(text, RULES))
        if self._use_engine:
            candidates.extend(engine.scan(text))
        return [
            Finding(Kind.SECRET, c.type, c.start, c.end, c.score, c.detector)
            for c in resolve_overlaps(candidates)
        ]


def resolve_overlaps(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Keep, of each group of overlapping candidates, the most specific (then the longest)."""
    kept: list[Candidate] = []  # disjoint, in text order
    starts: list[int] = []
    for c in sorted(candidates, key=lambda c: (-c.priority, -(c.end - c.start), c.start)):
        # Kept spans are disjoint and sorted, so only the neighbours can overlap.
        i = bisect.bisect_left(starts, c.start)
        if (i > 0 and kept[i - 1].end > c.start) or (i < len(kept) and kept[i].start < c.end):
            continue
        kept.insert(i, c)
        starts.insert(i, c.start)
    return kept


def _rule_candidates(text: str, rules: Iterable[Rule]) -> Iterator[Candidate]:
    for rule in rules:
        for m in rule.pattern.finditer(text):
            span = _value_span(rule, m)
            if span is None:
                continue
            start, end = span
            value = text[start:end]
            if rule.context is not None and not _has_context(rule, text, start, end):
                continue
            if rule.placeholders and is_placeholder(value):
                continue
            if rule.check is not None and not rule.check(value, m):
                continue
            yield Candidate(rule.type, start, end, rule.score, rule.priority, f"rule:{rule.name}")


def _value_span(rule: Rule, m: re.Match[str]) -> tuple[int, int] | None:
    group = next((g for g in rule.groups if m.group(g) is not None), None)
    if group is None:
        return None
    start, end = m.span(group)
    if group == "bare" and end < len(m.string) and m.string[end] in _CALL_OR_INDEX:
        return None  # `password = getpass()`, `token = env["TOKEN"]`: code, not a value
    if rule.trim:
        while end > start and m.string[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
    return (start, end) if end > start else None


def _has_context(rule: Rule, text: str, start: int, end: int) -> bool:
    assert rule.context is not None  # noqa: S101 - the caller checked
    if rule.window == 0:
        return rule.context.search(text) is not None
    lo = max(0, start - rule.window)
    hi = min(len(text), end + rule.window)
    # Search around the value but not in it: a random value could spell a context word.
    return bool(rule.context.search(text, lo, start) or rule.context.search(text, end, hi))
