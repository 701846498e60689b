"""Classification latency per memory (~300 characters), per classifier and for the pipeline.

Usage: .venv/bin/python bench/bench_classify.py [--rounds 3]
Texts come from the labelled corpus (tests/data/corpus), padded or cut to ~300 characters
with ordinary prose so that every measurement is on a memory-sized text.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from classifiers.normalise import views
from classifiers.pipeline import ClassificationPipeline
from classifiers.policy import Policy
from classifiers.registry import default_classifiers

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"
FILLER = (
    " The team reviewed the rollout plan on Tuesday and agreed to keep the staging cluster"
    " for another sprint while the new dashboards are tested by the support group."
)
TARGET_CHARS = 300


def memory_sized_texts() -> list[str]:
    texts = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                text = json.loads(line)["text"]
                while len(text) < TARGET_CHARS:
                    text += FILLER
                texts.append(text[: max(TARGET_CHARS, len(json.loads(line)["text"]))])
    return texts


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    classifiers = default_classifiers()
    load_s = time.perf_counter() - started
    pipeline = ClassificationPipeline(classifiers)
    texts = memory_sized_texts()
    for text in texts[:20]:  # warm-up: lazy regex compilation, spaCy caches
        pipeline.decide(text, Policy())
    timings: dict[str, list[float]] = {"views": [], "pipeline.decide": []}
    timings.update({c.name: [] for c in classifiers})
    for _ in range(args.rounds):
        for text in texts:
            t0 = time.perf_counter()
            views(text)
            timings["views"].append(time.perf_counter() - t0)
            for classifier in classifiers:
                t0 = time.perf_counter()
                classifier.classify(text)
                timings[classifier.name].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pipeline.decide(text, Policy())
            timings["pipeline.decide"].append(time.perf_counter() - t0)
    mean_chars = statistics.mean(len(t) for t in texts)
    print(
        f"{len(texts)} texts x {args.rounds} rounds, mean {mean_chars:.0f} chars; "
        f"classifiers loaded in {load_s:.1f} s"
    )
    print(f"{'stage':<18} {'p50 ms':>8} {'p95 ms':>8}")
    for stage, samples in timings.items():
        p50, p95 = percentiles(samples)
        print(f"{stage:<18} {p50 * 1000:>8.2f} {p95 * 1000:>8.2f}")


if __name__ == "__main__":
    main()
