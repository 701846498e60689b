"""Score the classification pipeline on the labelled corpus in tests/data/corpus.

An expected finding is caught when a finding of the same kind overlaps its span. A reported
finding is a true positive when it overlaps an expected finding of its kind. Benign records
must yield nothing, and must be stored unaltered under the default policy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.findings import Finding
from classifiers.pipeline import ClassificationPipeline, apply
from classifiers.policy import Policy

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
STRUCTURED_PII_EXCLUDES = {"PERSON", "LOCATION"}


@dataclass(frozen=True)
class Expected:
    kind: str
    type: str
    start: int
    end: int


@dataclass(frozen=True)
class Record:
    id: str
    group: str
    context: str
    text: str
    expected: tuple[Expected, ...]


def _span(text: str, value: str, occurrence: int) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.find(value, start + 1)
        if start < 0:
            raise ValueError(f"value not found in text (occurrence {occurrence})")
    return start, start + len(value)


def load_corpus(directory: Path = CORPUS) -> list[Record]:
    records: list[Record] = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            raw: dict[str, Any] = json.loads(line)
            expected = []
            for f in raw.get("findings", []):
                try:
                    start, end = _span(raw["text"], f["value"], f.get("occurrence", 0))
                except ValueError as exc:
                    raise ValueError(f"{path.name}:{number}: {exc}") from None
                expected.append(Expected(f["kind"], f["type"], start, end))
            records.append(
                Record(
                    id=raw.get("id", f"{path.stem}-{number}"),
                    group=raw["group"],
                    context=raw.get("context", ""),
                    text=raw["text"],
                    expected=tuple(expected),
                )
            )
    return records


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


@dataclass
class Counts:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        reported = self.tp + self.fp
        return self.tp / reported if reported else 1.0


@dataclass
class Report:
    by_type: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_group: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    type_exact: Counts = field(default_factory=Counts)
    benign_records: int = 0
    benign_flagged: int = 0
    benign_altered: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)  # (record id, type)
    false_alarms: list[tuple[str, str]] = field(default_factory=list)

    def floor_metrics(self) -> dict[str, float]:
        structured = Counts()
        names = Counts()
        for type_name, counts in self.by_type.items():
            if not type_name.startswith("pii:"):
                continue
            target = names if type_name[4:] in STRUCTURED_PII_EXCLUDES else structured
            target.tp += counts.tp
            target.fn += counts.fn
        return {
            "secret_recall": self.by_group["secret"].recall,
            "evasion_recall": self.by_group["evasion"].recall,
            "structured_pii_recall": structured.recall,
            "names_places_recall": names.recall,
            "injection_recall": self.by_group["injection"].recall,
            "benign_false_positive_rate": self.benign_flagged / max(self.benign_records, 1),
            "benign_altered_rate": self.benign_altered / max(self.benign_records, 1),
        }


def score(pipeline: ClassificationPipeline, records: Iterable[Record]) -> Report:
    report = Report()
    default = Policy()
    for record in records:
        found: list[Finding] = pipeline.findings(record.text)
        if record.group == "benign":
            report.benign_records += 1
            if found:
                report.benign_flagged += 1
                report.false_alarms += [(record.id, f"{f.kind.value}:{f.type}") for f in found]
            decision = apply(record.text, found, default)
            if decision.content != record.text:
                report.benign_altered += 1
            continue
        for exp in record.expected:
            hits = [
                f
                for f in found
                if f.kind.value == exp.kind and _overlaps(f.start, f.end, exp.start, exp.end)
            ]
            key = f"{exp.kind}:{exp.type}"
            if hits:
                report.by_type[key].tp += 1
                report.by_group[record.group].tp += 1
                exact = any(h.type == exp.type for h in hits)
                report.type_exact.tp += exact
                report.type_exact.fn += not exact
            else:
                report.by_type[key].fn += 1
                report.by_group[record.group].fn += 1
                report.misses.append((record.id, key))
        for f in found:
            matched = any(
                f.kind.value == exp.kind and _overlaps(f.start, f.end, exp.start, exp.end)
                for exp in record.expected
            )
            if not matched:
                report.by_type[f"{f.kind.value}:{f.type}"].fp += 1
                report.false_alarms.append((record.id, f"{f.kind.value}:{f.type}"))
    return report


def format_report(report: Report) -> str:
    lines = [f"{'type':<34} {'tp':>4} {'fn':>4} {'fp':>4} {'recall':>7} {'precision':>9}"]
    for key in sorted(report.by_type):
        c = report.by_type[key]
        lines.append(
            f"{key:<34} {c.tp:>4} {c.fn:>4} {c.fp:>4} {c.recall:>7.3f} {c.precision:>9.3f}"
        )
    lines.append("")
    for name, value in report.floor_metrics().items():
        lines.append(f"{name:<34} {value:.3f}")
    lines.append(
        f"{'benign records':<34} {report.benign_records} "
        f"(flagged {report.benign_flagged}, altered {report.benign_altered})"
    )
    lines.append(f"{'type named exactly':<34} {report.type_exact.recall:.3f}")
    return "\n".join(lines)
