"""A proposed finding before overlaps are resolved: a span, never the text in it."""

from __future__ import annotations

from dataclasses import dataclass

# Specificity decides overlaps: a vendor format beats a URL password, which beats a generic
# assignment, which beats prose, which beats a bare high-entropy string. Our own vendor rules
# outrank detect-secrets' because their spans are exact.
SPECIFIC = 100
ENGINE_SPECIFIC = 90
URL_PASSWORD = 85
BASIC_AUTH = 80
ASSIGNMENT = 50
PROSE = 40
ENTROPY = 10


@dataclass(frozen=True, slots=True)
class Candidate:
    type: str
    start: int
    end: int
    score: float
    priority: int  # higher wins an overlap: the more specific type
    detector: str
