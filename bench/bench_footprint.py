"""Footprint benchmark: bytes per memory in each store, for sizing a deployment.

For each corpus size N this loads N memories straight through the storage adapters (the
classifiers and the embedding model are bypassed: vectors are random unit 384-d float32
vectors, which occupy exactly what a real embedding does), each with a realistic payload:
~``--content-chars`` characters of text, two tags, a subject, a little metadata and source
provenance, one pseudonymised-PII finding. Every memory is written as the service writes a
create (head row + version row + one ``memory.create`` audit event, in one transaction), then
revised once (one more version row, one ``memory.update`` event, and the point re-upserted).
Reads are audited too, so ``--search-events`` search events naming 10 ids each are appended
to measure what read traffic adds.

Measured, each as total bytes and as the marginal bytes per memory between two sizes:

- the Qdrant Edge shard directory (the engine the Qdrant server runs; segment files per
  component: vectors, HNSW graph, payload, payload indexes, id tracker), after ``optimize()``
  has built the HNSW graph and vacuumed the superseded points, as a long-running shard is;
- the SQLite control store file (WAL checkpointed);
- the PostgreSQL control store (``pg_total_relation_size`` per table after VACUUM ANALYZE:
  heap + TOAST + indexes), in a scratch database created and dropped here.

Optionally (``--serve-rss``) it starts ``memory-service serve`` on a temporary data dir and
reads the resident memory of the API process once it is ready and after a few writes and
searches (models loaded and warm): the per-replica RAM to request.

Run: ``.venv/bin/python bench/bench_footprint.py [--sizes 2000 20000] [--serve-rss]``.
Not a test: it prints tables and writes JSON to bench/results/footprint.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from memory_service.domain.audit import audit_entry
from memory_service.domain.grants import ALL_PERMISSIONS, Caller, Grant, Principal
from memory_service.domain.models import (
    Classification,
    FindingSummary,
    Provenance,
    VersionRecord,
)
from memory_service.domain.scopes import ScopePattern
from memory_service.services.index_writer import memory_from_version
from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex
from memory_service.storage.sql import normalise_url
from memory_service.storage.sql.store import SqlControlStore, sqlite_url_for

DIMENSION = 384
BATCH = 500
SEARCH_IDS = 10
AUDIT_KEY = b"bench-audit-key-bench-audit-key!"
REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "MEMSVC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CALLER = Caller(
    principal=Principal(
        key_id="0123456789abcdef",
        name="support-bot",
        grants=(Grant(ScopePattern.parse("**"), ALL_PERMISSIONS),),
    ),
    request_id="req-0123456789abcdef0123456789abcdef",
)
# Words of ordinary agent memories, so that content is text-like rather than random bytes.
WORDS = [
    "customer",
    "prefers",
    "email",
    "contact",
    "morning",
    "meeting",
    "invoice",
    "order",
    "shipped",
    "delayed",
    "refund",
    "project",
    "deadline",
    "friday",
    "weekly",
    "report",
    "team",
    "lead",
    "asked",
    "about",
    "pricing",
    "tier",
    "enterprise",
    "plan",
    "renewal",
    "discount",
    "support",
    "ticket",
    "escalated",
    "resolved",
    "password",
    "reset",
    "browser",
    "mobile",
    "app",
    "crash",
    "version",
    "upgrade",
    "database",
    "migration",
    "schedule",
    "holiday",
    "office",
    "london",
    "berlin",
    "green",
    "tea",
    "coffee",
    "vegetarian",
    "allergy",
    "peanuts",
    "birthday",
    "march",
    "quarterly",
    "review",
    "budget",
]
# Qdrant Edge segment files, by the component of the engine they belong to.
COMPONENTS = ("vector_storage", "vector_index", "payload_storage", "payload_index", "id_tracker")


def now() -> datetime:
    return datetime.now(UTC)


def sentence(rng: np.random.Generator, chars: int) -> str:
    words: list[str] = []
    length = 0
    while length < chars:
        word = str(rng.choice(WORDS))
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:chars]


def make_record(
    rng: np.random.Generator, n: int, chars: int, version: int, at: datetime
) -> VersionRecord:
    return VersionRecord(
        memory_id=uuid.UUID(int=n + 1),
        version=version,
        scope=f"org{n % 10}/client{n % 50}/agent{n % 3}",
        content=f"<PERSON_{n % 997:06x}> " + sentence(rng, chars),
        metadata={"agent_id": f"agent-{n % 3}", "channel": "chat", "priority": n % 5},
        tags=("prefs", f"topic-{n % 20}"),
        subject=f"user-{n // 10}",
        expires_at=None,
        classification=Classification(
            action="redacted", findings=(FindingSummary("pii", "PERSON", "pseudonymize"),)
        ),
        provenance=Provenance(
            CALLER.principal.name,
            CALLER.request_id,
            {"agent_id": f"agent-{n % 3}", "session_id": f"s-{n // 25:08d}"},
            key_id=CALLER.principal.key_id,
        ),
        op="create" if version == 1 else "update",
        changed_by=CALLER.principal.name,
        changed_at=at,
        created_at=at,
    )


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray[Any, Any]:
    vectors = rng.normal(size=(count, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def write_batch(
    control: SqlControlStore,
    index: QdrantEdgeMemoryIndex | None,
    records: Sequence[VersionRecord],
    vectors: np.ndarray[Any, Any],
) -> None:
    """What ``MemoryService`` does for a batch: versions + audit in one transaction, then the
    index, then the heads marked indexed."""
    action = "memory.create" if records[0].version == 1 else "memory.update"
    expected = None if records[0].version == 1 else records[0].version - 1
    control.append_versions(
        [(r, expected) for r in records],
        audit=[
            audit_entry(
                CALLER,
                action,
                scope=r.scope,
                memory_ids=[r.memory_id],
                decision={
                    "outcome": "redacted",
                    "findings": [f.to_json() for f in r.classification.findings],
                },
                details={"source_fields": sorted(r.provenance.source)},
            )
            for r in records
        ],
    )
    if index is not None:
        index.upsert(
            [(memory_from_version(r), v.tolist()) for r, v in zip(records, vectors, strict=True)]
        )
    control.mark_indexed_many([(r.memory_id, r.version) for r in records])


def load(
    control: SqlControlStore,
    index: QdrantEdgeMemoryIndex | None,
    size: int,
    chars: int,
    version: int,
) -> None:
    rng = np.random.default_rng(7 + version)
    at = now()
    for start in range(0, size, BATCH):
        stop = min(start + BATCH, size)
        records = [make_record(rng, n, chars, version, at) for n in range(start, stop)]
        write_batch(control, index, records, unit_vectors(rng, len(records)))


def audit_searches(control: SqlControlStore, size: int, count: int) -> None:
    rng = np.random.default_rng(11)
    for start in range(0, count, BATCH):
        entries = [
            audit_entry(
                CALLER,
                "memory.search",
                scope="org1/client1/agent1",
                memory_ids=[uuid.UUID(int=int(i) + 1) for i in rng.integers(0, size, SEARCH_IDS)],
                details={"returned": SEARCH_IDS},
            )
            for _ in range(start, min(start + BATCH, count))
        ]
        control.record_audit(entries)


# ----------------------------------------------------------------------------- measuring


def allocated(path: Path) -> int:
    """Bytes the file occupies on disk (mmap'd files are often sparse or preallocated)."""
    return path.stat().st_blocks * 512


def shard_bytes(root: Path) -> dict[str, int]:
    sizes = dict.fromkeys((*COMPONENTS, "other"), 0)
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        parts = set(path.relative_to(root).parts)
        component = next((c for c in COMPONENTS if c in parts), "other")
        sizes[component] += allocated(path)
    sizes["total"] = sum(sizes.values())
    return sizes


def sqlite_bytes(control: SqlControlStore, data_dir: Path) -> dict[str, int]:
    with control.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    tables = _group_sqlite(dict(rows))
    tables["total"] = sum(allocated(p) for p in data_dir.glob("control.sqlite3*"))
    return tables


def _group_sqlite(by_object: dict[str, int]) -> dict[str, int]:
    """dbstat names indexes separately; fold each into its table (ix_<table>_...)."""
    tables = ("audit_event_memories", "audit_events", "memory_versions", "memories")
    grouped = dict.fromkeys(tables, 0)
    grouped["other"] = 0
    for name, size in by_object.items():
        table = next((t for t in tables if t in name), "other")
        grouped[table] += int(size)
    return grouped


def postgres_bytes(url: str) -> dict[str, int]:
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            rows = conn.execute(
                text(
                    "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            ).fetchall()
    finally:
        engine.dispose()
    tables = {name: int(size) for name, size in rows}
    picked = ("audit_event_memories", "audit_events", "memory_versions", "memories")
    result = {t: tables.get(t, 0) for t in picked}
    result["other"] = sum(v for k, v in tables.items() if k not in picked)
    result["total"] = sum(tables.values())
    return result


def rss_bytes(pid: int | None = None) -> int:
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    line = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


@contextmanager
def scratch_postgres() -> Iterator[str | None]:
    admin = create_engine(normalise_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"memsvc_footprint_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError:
        print(f"PostgreSQL at {POSTGRES_ADMIN_URL} unreachable: skipping it", file=sys.stderr)
        admin.dispose()
        yield None
        return
    try:
        url = normalise_url(POSTGRES_ADMIN_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# ----------------------------------------------------------------------------- runs


def staged(
    control: SqlControlStore,
    index: QdrantEdgeMemoryIndex | None,
    size: int,
    args: argparse.Namespace,
    measure: Callable[[], dict[str, int]],
) -> dict[str, dict[str, int]]:
    """Measure after the creates, after one revision of each, after the search events."""
    result = {"empty": measure()}
    load(control, index, size, args.content_chars, version=1)
    if index is not None:
        index.vacuum()
    result["created"] = measure()
    load(control, index, size, args.content_chars, version=2)
    if index is not None:
        index.vacuum()
    result["revised"] = measure()
    audit_searches(control, size, args.search_events)
    result["searched"] = measure()
    return result


def run_embedded(size: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        control = SqlControlStore(sqlite_url_for(data), audit_key=AUDIT_KEY)
        control.migrate()
        gc.collect()
        rss_before = rss_bytes()
        index = QdrantEdgeMemoryIndex(data / "qdrant", DIMENSION)
        try:
            started = time.perf_counter()

            def measure() -> dict[str, int]:
                return {
                    **{f"edge.{k}": v for k, v in shard_bytes(data / "qdrant").items()},
                    **{f"sqlite.{k}": v for k, v in sqlite_bytes(control, data).items()},
                }

            stages = staged(control, index, size, args, measure)
            gc.collect()
            rss_after = rss_bytes()
            elapsed = time.perf_counter() - started
        finally:
            index.close()
            control.close()
    return {"stages": stages, "rss_delta": rss_after - rss_before, "seconds": elapsed}


def run_postgres(size: int, args: argparse.Namespace) -> dict[str, Any] | None:
    with scratch_postgres() as url:
        if url is None:
            return None
        control = SqlControlStore(url, audit_key=AUDIT_KEY)
        control.migrate()
        try:
            stages = staged(control, None, size, args, lambda: postgres_bytes(url))
        finally:
            control.close()
    return {"stages": stages}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _call(url: str, key: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        response.read()


def serve_rss(writes: int) -> dict[str, int]:
    """RSS of a started ``memory-service serve`` (models loaded), then after traffic."""
    port = free_port()
    key = f"msk_{secrets.token_hex(8)}_{secrets.token_urlsafe(24)}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MEMORY_DATA_DIR": tmp,
            "MEMORY_PORT": str(port),
            "MEMORY_BOOTSTRAP_ADMIN_KEY": key,
            "MEMORY_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [str(REPO / ".venv/bin/memory-service"), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("memory-service serve did not become ready")
                time.sleep(0.5)
            ready = rss_bytes(process.pid)
            rng = np.random.default_rng(3)
            for n in range(writes):
                _call(
                    f"{base}/v1/memories",
                    key,
                    {"scope": "acme/bench", "content": sentence(rng, 200) + f" {n}"},
                )
                _call(f"{base}/v1/memories/search", key, {"query": sentence(rng, 40)})
            warm = rss_bytes(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return {"ready": ready, "after_traffic": warm}


# ----------------------------------------------------------------------------- report


def per_memory(
    results: dict[int, dict[str, dict[str, int]]], stage: str, base: str, key: str
) -> tuple[float, float, float]:
    """Bytes per memory at the smallest and largest size, and the marginal between them."""
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]

    def delta(size: int) -> int:
        return results[size][stage][key] - results[size][base][key]

    marginal = (delta(large) - delta(small)) / (large - small) if large > small else 0.0
    return delta(small) / small, delta(large) / large, marginal


def print_table(title: str, results: dict[int, dict[str, dict[str, int]]], keys: list[str]) -> None:
    sizes = sorted(results)
    print(f"\n{title}: bytes per memory (at N={sizes[0]}, at N={sizes[-1]}, marginal)")
    rows = [
        ("create (1 version, 1 audit event)", "created", "empty", 1),
        ("+ one revision (version + event)", "revised", "created", 1),
    ]
    for label, stage, base, _ in rows:
        print(f"  {label}")
        for key in keys:
            a, b, m = per_memory(results, stage, base, key)
            print(f"    {key:28s} {a:10.0f} {b:10.0f} {m:10.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--content-chars", type=int, default=200)
    parser.add_argument("--search-events", type=int, default=5000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--serve-rss", action="store_true")
    args = parser.parse_args()
    # Every audit event is also logged; tens of thousands of lines would drown the tables.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    embedded: dict[int, dict[str, Any]] = {}
    postgres: dict[int, dict[str, Any]] = {}
    for size in args.sizes:
        embedded[size] = run_embedded(size, args)
        print(f"embedded N={size}: {embedded[size]['seconds']:.1f} s", file=sys.stderr)
        if not args.skip_postgres and (pg := run_postgres(size, args)) is not None:
            postgres[size] = pg

    edge = {s: r["stages"] for s, r in embedded.items()}
    edge_keys = [f"edge.{c}" for c in (*COMPONENTS, "other", "total")]
    sql_keys = [f"sqlite.{t}" for t in ("memories", "memory_versions", "audit_events")]
    sql_keys += ["sqlite.audit_event_memories", "sqlite.total"]
    print_table("Qdrant Edge shard (after optimize)", edge, edge_keys)
    print_table("SQLite control store", edge, sql_keys)
    if postgres:
        pg_stages = {s: r["stages"] for s, r in postgres.items()}
        pg_keys = ["memories", "memory_versions", "audit_events", "audit_event_memories"]
        print_table("PostgreSQL control store", pg_stages, [*pg_keys, "total"])
    search_rows = {"sqlite.total": edge}
    if postgres:
        search_rows["total"] = {s: r["stages"] for s, r in postgres.items()}
    for key, stages in search_rows.items():
        size = max(stages)
        grown = stages[size]["searched"][key] - stages[size]["revised"][key]
        print(
            f"\n{key}: {grown / args.search_events:.0f} bytes per audited search "
            f"({SEARCH_IDS} ids returned)"
        )
    for size, result in embedded.items():
        print(f"process RSS growth with the Edge shard at N={size}: {result['rss_delta']:,} bytes")

    report: dict[str, Any] = {
        "sizes": args.sizes,
        "content_chars": args.content_chars,
        "search_events": args.search_events,
        "embedded": embedded,
        "postgres": postgres,
    }
    if args.serve_rss:
        report["serve_rss"] = serve_rss(writes=20)
        print(f"\nmemory-service serve RSS: {report['serve_rss']}")
    out = REPO / "bench/results/footprint.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
