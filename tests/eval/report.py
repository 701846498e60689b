"""``make eval``: precision and recall per type on the labelled corpus, and the floors."""

from __future__ import annotations

import sys
import time

from memory_service.app import build_pipeline
from memory_service.settings import Settings
from tests.eval.scoring import format_report, load_corpus, score
from tests.eval.test_detection_floors import FLOORS, breaches


def main() -> int:
    records = load_corpus()
    pipeline = build_pipeline(Settings())
    started = time.perf_counter()
    report = score(pipeline, records)
    elapsed = time.perf_counter() - started
    sys.stdout.write(format_report(report) + "\n")
    each_ms = elapsed / len(records) * 1000
    sys.stdout.write(f"\n{len(records)} records in {elapsed:.1f} s ({each_ms:.1f} ms each)\n")
    failed = breaches(report.floor_metrics())
    for line in failed:
        sys.stdout.write(f"BELOW FLOOR: {line}\n")
    if report.misses:
        sys.stdout.write("\nmissed: " + ", ".join(f"{r}({t})" for r, t in report.misses) + "\n")
    if report.false_alarms:
        shown = ", ".join(f"{r}({t})" for r, t in report.false_alarms[:40])
        sys.stdout.write(f"false alarms: {shown}\n")
    sys.stdout.write(f"\nfloors: {FLOORS}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
