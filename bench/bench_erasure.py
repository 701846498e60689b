"""Erasure benchmark: how long an erasure takes, and how long until the text leaves the disk.

For each corpus size N this builds the embedded stores in a temporary data dir (SQLite control
store and a Qdrant Edge shard, as the server does), loads N memories with random unit vectors
(no model: the embedding is not what is measured), ten per data subject, and then:

1. erases subjects one at a time through ``ErasureService`` (the code behind
   ``DELETE /v1/subjects/{subject}``: control store, index, verification, WAL checkpoint);
2. runs the compaction (``Compactor.run``: Edge vacuum + flush, receipts stamped), once on a
   shard whose segment was never optimised (the first optimise also builds the HNSW graph) and
   once more after further erasures on the optimised shard (the steady state);
3. times how long a Python thread is starved while the compaction runs (Edge holds the GIL).

Run: ``.venv/bin/python bench/bench_erasure.py [--sizes 2000 20000] [--erasures 5]``.
Not a test: it prints a table and writes JSON to bench/results/erasure.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifiers.pipeline import ClassificationPipeline
from classifiers.policy import Policy
from memory_service.crypto import HmacPseudonymizer
from memory_service.domain.grants import ALL_PERMISSIONS, Caller, Grant, Principal
from memory_service.domain.models import Classification, Provenance, VersionRecord
from memory_service.domain.scopes import ScopePattern
from memory_service.services.compaction import Compactor
from memory_service.services.erasure import ErasureService
from memory_service.services.gate import ContentGate
from memory_service.services.index_writer import memory_from_version
from memory_service.services.stored_forms import StoredForms
from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex
from memory_service.storage.sql.erasure import SqlErasureStore
from memory_service.storage.sql.store import SqlControlStore, sqlite_url_for

DIMENSION = 384
PER_SUBJECT = 10
BATCH = 500
REPO = Path(__file__).resolve().parent.parent
ADMIN = Caller(
    principal=Principal(
        key_id="bench", name="bench", grants=(Grant(ScopePattern.parse("**"), ALL_PERMISSIONS),)
    ),
    request_id="bench",
)


def now() -> datetime:
    return datetime.now(UTC)


def load(control: SqlControlStore, index: QdrantEdgeMemoryIndex, size: int) -> None:
    rng = np.random.default_rng(7)
    created = now()
    for start in range(0, size, BATCH):
        records = [
            VersionRecord(
                memory_id=uuid.uuid4(),
                version=1,
                scope=f"acme/team{n % 20}",
                content=f"memory {n} of subject s{n // PER_SUBJECT}: prefers option {n % 7}",
                metadata={},
                tags=(),
                subject=f"s{n // PER_SUBJECT}",
                expires_at=None,
                classification=Classification(),
                provenance=Provenance("bench", "bench"),
                op="create",
                changed_by="bench",
                changed_at=created,
                created_at=created,
            )
            for n in range(start, min(start + BATCH, size))
        ]
        vectors = rng.normal(size=(len(records), DIMENSION))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        control.append_versions([(r, None) for r in records])
        index.upsert(
            [(memory_from_version(r), v.tolist()) for r, v in zip(records, vectors, strict=True)]
        )
        control.mark_indexed_many([(r.memory_id, 1) for r in records])
    index.flush()


def starved(action: object) -> tuple[float, float]:
    """Wall time of ``action()`` and the longest gap a ticking Python thread saw meanwhile."""
    gaps: list[float] = []
    done = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            current = time.perf_counter()
            gaps.append(current - last)
            last = current

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    started = time.perf_counter()
    action()  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    done.set()
    ticker.join()
    return elapsed, max(gaps, default=0.0)


def run_size(size: int, erasures: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        control = SqlControlStore(
            sqlite_url_for(data), audit_key=b"bench-audit-key-bench-audit-key"
        )
        control.migrate()
        index = QdrantEdgeMemoryIndex(data / "qdrant", DIMENSION)
        store = SqlErasureStore(control)
        compactor = Compactor(index, store, now)
        service = ErasureService(
            store=store,
            index=index,
            clock=now,
            subject_digest=lambda s: s,
            # No classifiers: the bench's subjects hold no personal data to widen.
            forms=StoredForms(
                ContentGate(
                    ClassificationPipeline([]),
                    lambda _scope: Policy(),
                    HmacPseudonymizer(b"bench" * 8),
                    timeout_seconds=5,
                ),
                control.scope_roots,
            ),
            request_compaction=lambda: None,
            vector_store_kind="qdrant-edge",
        )
        started = time.perf_counter()
        load(control, index, size)
        load_s = time.perf_counter() - started

        def erase_some(first: int) -> list[float]:
            times = []
            for n in range(first, first + erasures):
                t0 = time.perf_counter()
                receipt = service.erase_subject(ADMIN, f"s{n}")
                times.append(time.perf_counter() - t0)
                if receipt.counts["memories"] != PER_SUBJECT:
                    raise RuntimeError(f"erased {receipt.counts}, expected {PER_SUBJECT}")
            return times

        erase_times = erase_some(0)
        first_compact, first_gap = starved(compactor.run)
        erase_times += erase_some(erasures)
        steady_compact, steady_gap = starved(compactor.run)
        index.close()
        control.close()
    ms = [t * 1000 for t in erase_times]
    return {
        "size": size,
        "load_s": round(load_s, 1),
        "erase_ms_p50": round(statistics.median(ms), 1),
        "erase_ms_max": round(max(ms), 1),
        "compact_first_s": round(first_compact, 2),
        "compact_first_max_stall_s": round(first_gap, 2),
        "compact_steady_s": round(steady_compact, 2),
        "compact_steady_max_stall_s": round(steady_gap, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--erasures", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "erasure.json")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        result = run_size(size, args.erasures)
        results.append(result)
        print(json.dumps(result), flush=True)
    header = (
        f"{'N':>7} {'load s':>7} {'erase p50 ms':>12} {'erase max ms':>12} "
        f"{'compact 1st s':>13} {'stall 1st s':>11} {'compact s':>9} {'stall s':>7}"
    )
    print(header)
    for r in results:
        print(
            f"{r['size']:>7} {r['load_s']:>7} {r['erase_ms_p50']:>12} {r['erase_ms_max']:>12} "
            f"{r['compact_first_s']:>13} {r['compact_first_max_stall_s']:>11} "
            f"{r['compact_steady_s']:>9} {r['compact_steady_max_stall_s']:>7}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
