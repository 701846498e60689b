"""What a classifier reports. A finding never holds the matched text, only where it is."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    SECRET = "secret"  # noqa: S105 - a finding kind, not a credential
    PII = "pii"
    INJECTION = "injection"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    type: str
    start: int
    end: int
    score: float
    detector: str


class Classifier(Protocol):
    """Anything that turns text into findings. Pure: no I/O, no service imports."""

    name: str

    def classify(self, text: str) -> list[Finding]: ...
