"""Small helpers shared by the recognisers."""

from __future__ import annotations

import re

from presidio_analyzer import AnalysisExplanation, RecognizerResult

# Flags for the patterns Presidio compiles (with the ``regex`` module, which takes the stdlib
# flag values). Presidio's default adds IGNORECASE; identifiers whose letters are upper case
# by definition (NINO, passport, capitalised names) would then match hex ids and slugs.
CASE_SENSITIVE = re.DOTALL | re.MULTILINE


def result(
    recognizer_name: str,
    recognizer_id: str,
    entity: str,
    span: tuple[int, int],
    *,
    score: float,
    why: str = "",
) -> RecognizerResult:
    """A Presidio result carrying the metadata the analyzer and the context enhancer expect."""
    start, end = span
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=recognizer_name, original_score=score, textual_explanation=why
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer_name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer_id,
        },
    )


def digit_count(text: str) -> int:
    """How many decimal digits ``text`` holds."""
    return sum(ch.isdigit() for ch in text)


_ID_BEFORE = re.compile(r"(?:\w[-_/#.\u2010-\u2015\uff0d]|[^\W\d])$")
_ID_AFTER = re.compile(r"^(?:[-_/#.\u2010-\u2015\uff0d]\w|[^\W\d])")


def inside_identifier(text: str, start: int, end: int) -> bool:
    """Whether a span is glued to letters or joined into a longer id (``ORD-2024-118833``)."""
    return bool(
        _ID_BEFORE.search(text[max(0, start - 2) : start]) or _ID_AFTER.match(text[end : end + 2])
    )
