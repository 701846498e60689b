"""Classification latency per memory (~300 characters), per classifier and for the pipeline.

Usage: .venv/bin/python bench/bench_classify.py [--rounds 3] [--batch 16]
           [--workers 0 1 2] [--clients 1 2 4] [--seconds 20] [--matmul openblas|blis]

Texts come from the labelled corpus (tests/data/corpus), padded or cut to ~300 characters
with ordinary prose so that every measurement is on a memory-sized text.

Three tables:

1. per stage (views, each classifier, the whole pipeline): p50/p95 wall time, and p50 CPU time
   of the calling thread, which moves less than wall time when other processes share the cores;
2. a batch write: per-text cost of ``findings_many`` over batches of ``--batch`` texts, against
   one text at a time, measured in alternation so that both see the same machine load;
3. throughput: ``--clients`` threads classifying as fast as they can (as concurrent writes do)
   through the pipeline in this process (workers 0) or a :class:`ProcessPoolPipeline` with N
   worker processes; texts per second and the per-text latency the clients saw.

Every table prints the load average before and after: numbers taken while other processes keep
the cores busy are inflated (compare ratios within one run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

# Only light imports at module level: worker processes are spawned and import this module
# again as ``__mp_main__``; the classifiers (spaCy, Presidio) are imported in main().
from classifiers.findings import Classifier
from classifiers.pipeline import ClassificationPipeline

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


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU (this thread) seconds of one call."""
    w0, c0 = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - w0, time.thread_time() - c0


def per_stage(
    classifiers: list[Classifier],
    pipeline: ClassificationPipeline,
    texts: list[str],
    rounds: int,
) -> None:
    from classifiers.normalise import views  # noqa: PLC0415
    from classifiers.policy import Policy  # noqa: PLC0415

    stages: dict[str, Callable[[str], object]] = {"views": views}
    stages.update({c.name: c.classify for c in classifiers})
    stages["pipeline.decide"] = partial(_decide, pipeline, policy=Policy())
    wall: dict[str, list[float]] = {name: [] for name in stages}
    cpu: dict[str, list[float]] = {name: [] for name in stages}
    print(f"per stage, {load()}")
    for _ in range(rounds):
        for text in texts:
            for name, stage in stages.items():
                w, c = timed(partial(stage, text))
                wall[name].append(w)
                cpu[name].append(c)
    print(f"{'stage':<18} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8}")
    for name in stages:
        p50, p95 = percentiles(wall[name])
        cpu_p50 = statistics.median(cpu[name])
        print(f"{name:<18} {p50 * 1e3:>8.2f} {p95 * 1e3:>8.2f} {cpu_p50 * 1e3:>8.2f}")
    print(f"  ({load()})")


def _decide(pipeline: ClassificationPipeline, text: str, policy: object) -> object:
    return pipeline.decide(text, policy)  # type: ignore[arg-type]


def _one_by_one(pipeline: ClassificationPipeline, texts: list[str]) -> object:
    return [pipeline.findings(text) for text in texts]


def batched(pipeline: ClassificationPipeline, texts: list[str], size: int, rounds: int) -> None:
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    totals = {"one at a time": [0.0, 0.0], f"batches of {size}": [0.0, 0.0]}
    print(f"\nbatch write, {load()}")
    for _ in range(rounds):
        for chunk in chunks:  # alternate, so that both modes see the same load
            w, c = timed(partial(_one_by_one, pipeline, chunk))
            totals["one at a time"][0] += w
            totals["one at a time"][1] += c
            w, c = timed(partial(pipeline.findings_many, chunk))
            totals[f"batches of {size}"][0] += w
            totals[f"batches of {size}"][1] += c
    n = len(texts) * rounds
    print(f"{'mode':<18} {'wall ms/text':>12} {'cpu ms/text':>12}")
    for mode, (w, c) in totals.items():
        print(f"{mode:<18} {w / n * 1e3:>12.2f} {c / n * 1e3:>12.2f}")
    print(f"  ({load()})")


def throughput(
    pipeline: ClassificationPipeline, texts: list[str], clients: int, seconds: float
) -> tuple[float, float, float]:
    """Texts per second and p50/p95 latency (ms) with ``clients`` threads classifying."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        i = k * 97
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            pipeline.findings(texts[i % len(texts)])
            latencies[k].append(time.perf_counter() - t0)
            i += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    samples = [s for per_client in latencies for s in per_client]
    p50, p95 = percentiles(samples)
    return len(samples) / elapsed, p50 * 1e3, p95 * 1e3


def pools(
    local: ClassificationPipeline,
    factory: Callable[[], ClassificationPipeline],
    texts: list[str],
    args: argparse.Namespace,
) -> None:
    from classifiers.pool import ProcessPoolPipeline  # noqa: PLC0415

    print(f"\nthroughput ({args.seconds:.0f} s per row), {load()}")
    print(f"{'workers':>7} {'clients':>7} {'texts/s':>8} {'p50 ms':>8} {'p95 ms':>8}  start s")
    for workers in args.workers:
        started = time.perf_counter()
        pipeline = local if workers == 0 else ProcessPoolPipeline(factory, workers=workers)
        start_s = time.perf_counter() - started
        try:
            for clients in args.clients:
                rate, p50, p95 = throughput(pipeline, texts, clients, args.seconds)
                print(
                    f"{workers:>7} {clients:>7} {rate:>8.1f} {p50:>8.2f} {p95:>8.2f}"
                    f"  {start_s:.1f}  ({load()})"
                )
        finally:
            if pipeline is not local:
                pipeline.close()


def main() -> None:
    from classifiers.registry import default_classifiers, default_pipeline  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16, help="texts per batch (0: skip)")
    parser.add_argument("--workers", type=int, nargs="*", default=[], help="e.g. 0 1 2")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--matmul", choices=["openblas", "blis"], default="openblas")
    args = parser.parse_args()
    started = time.perf_counter()
    classifiers = default_classifiers(matmul=args.matmul)
    pipeline = ClassificationPipeline(classifiers)
    texts = memory_sized_texts()
    for text in texts[:20]:  # warm-up: loads the spaCy model, compiles lazy regexes
        pipeline.findings(text)
    load_s = time.perf_counter() - started
    mean_chars = statistics.mean(len(t) for t in texts)
    print(
        f"{len(texts)} texts x {args.rounds} rounds, mean {mean_chars:.0f} chars; "
        f"classifiers loaded and warm in {load_s:.1f} s; {os.cpu_count()} cores"
    )
    if not args.skip_stages:
        per_stage(classifiers, pipeline, texts, args.rounds)
    if args.batch:
        batched(pipeline, texts, args.batch, args.rounds)
    if args.workers:
        pools(pipeline, partial(default_pipeline, matmul=args.matmul), texts, args)


if __name__ == "__main__":
    main()
