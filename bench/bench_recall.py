"""Recall latency per embedding backend on the embedded default, as a client sees it.

For each size N this builds one data dir with N memories over ``--scopes`` scopes, then, for each
backend in ``--backends`` (torch, onnx, onnx-int8), starts ``memory-service serve`` on it with
``MEMORY_EMBEDDING_BACKEND`` set and times ``POST /v1/memories/search`` over HTTP: one client
thread per keep-alive connection, requests back to back, untimed warm-up first. Three kinds of
search: ``scoped`` (one scope), ``subtree`` (every scope of the org, through an ``org/**`` key)
and ``named`` (one scope, the query names a person whose memories there hold the name as a
pseudonym, so the recall path also searches the pseudonymised spelling). A backend written
``onnx-int8+ner`` runs with ``MEMORY_QUERY_PSEUDONYMS=ner`` (names found by the PII
classifier) instead of the default index lookup. ``--rounds``
repeats the backend loop (a fresh server each time) so that each figure comes with its spread
over rounds (min / median / max of the per-round p50) on a shared, noisy machine.

Loading bypasses classification: the memories (10% of them about one of 80 people, the name
stored as the data dir's own pseudonym) go through the service's own storage path
(``IndexWriter.commit`` with ``SqlControlStore.append_versions``, audit events included, then
``optimize()`` as the nightly compaction would), with real embeddings from the int8 ONNX
model (what the default backend stores), on every core. 100k memories load in minutes; through
the HTTP API with classification they would take about an hour here.

``--writes K`` also times K single ``POST /v1/memories`` per round after the searches (the
write path whole: classification, embedding, both stores, audit) on the loaded store.

Also printed: the query embedding alone per backend, in this process (one short query, one
thread). Run: ``.venv/bin/python bench/bench_recall.py [--sizes 100000] [--scopes 50]
[--backends torch onnx onnx-int8 onnx-int8+ner] [--rounds 3] [--writes 200]
[--out bench/results/recall.json]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import structlog
from bench_core import (
    ADMIN_KEY,
    REPO,
    CpuMeter,
    Server,
    free_port,
    loadavg,
    log,
    memory_text,
    query_text,
    scope_names,
    snapshot_source,
    summary,
    timed,
    use_source,
    write_json,
)

BACKENDS = ("torch", "onnx", "onnx-int8")
# A backend may carry "+ner": the server then finds a query's names with the PII classifier
# (MEMORY_QUERY_PSEUDONYMS=ner) instead of looking its word runs up in the index.
CONFIGS = (*BACKENDS, *(f"{b}+ner" for b in BACKENDS))


def base_backend(config: str) -> str:
    return config.split("+", 1)[0]


SEED = 20240917
LOAD_BATCH = 500
# Memories about a named person, stored as the write path stores them (the name pseudonymised
# with the data dir's own key), and searches that name one of them: the recall path then
# finds the person's pseudonym and searches a second spelling of the query.
_GIVEN = ("Emily", "Raj", "Maria", "Tom", "Aiko", "Kwame", "Sofia", "Lars", "Priya", "Mateo")
_FAMILY = ("Clarke", "Patel", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak")
PEOPLE = tuple(f"{g} {f}" for g in _GIVEN for f in _FAMILY)
NAMED_SHARE = 0.1


def home_scope(person: str, scopes: list[str]) -> str:
    return scopes[PEOPLE.index(person) % len(scopes)]


# --------------------------------------------------------------------------- loading


class ParallelEmbedder:
    """Splits a batch over one thread per core (onnxruntime releases the GIL while it runs).

    int8 one text at a time on every core: faster here than the float model in padded batches,
    and the vectors are the ones the default backend stores.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
        self.dimension = inner.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        workers = os.cpu_count() or 1
        size = -(-len(texts) // workers)
        parts = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
        return [v for part in self._pool.map(self._inner.embed, parts) for v in part]


def build_store(data_dir: Path, n: int, scopes: list[str], model_cache: Path) -> dict[str, Any]:
    """N memories through the storage path the service uses after classification."""
    from memory_service.app import (  # noqa: PLC0415 - the snapshot's code
        build_control_store,
        build_pseudonymizer,
    )
    from memory_service.domain.audit import AuditEntry  # noqa: PLC0415
    from memory_service.domain.models import (  # noqa: PLC0415
        Classification,
        Provenance,
        VersionRecord,
    )
    from memory_service.embedding.onnx_runtime import OnnxRuntimeEmbedder  # noqa: PLC0415
    from memory_service.services.index_writer import IndexWriter  # noqa: PLC0415
    from memory_service.settings import Settings  # noqa: PLC0415
    from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex  # noqa: PLC0415

    # Every appended audit event is also a log line; 100k of them would drown the progress.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = Settings.model_validate({"data_dir": data_dir, "bootstrap_admin_key": ADMIN_KEY})
    control = build_control_store(settings)
    embedder = ParallelEmbedder(OnnxRuntimeEmbedder(model_cache, quantized=True, threads=1))
    index = QdrantEdgeMemoryIndex(data_dir / "qdrant", embedder.dimension)
    writer = IndexWriter(control=control, index=index, embedder=embedder)
    pseudonymizer = build_pseudonymizer(settings)
    rng = random.Random(SEED)
    provenance = Provenance("bench-loader", "bench-load", {})
    out: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        for begin in range(0, n, LOAD_BATCH):
            now = datetime.now(UTC)
            records = []
            for _ in range(min(LOAD_BATCH, n - begin)):
                content, tag = memory_text(rng)
                scope = rng.choice(scopes)
                if rng.random() < NAMED_SHARE:
                    person = rng.choice(PEOPLE)
                    scope = home_scope(person, scopes)
                    token = pseudonymizer.pseudonym(scope.split("/", 1)[0], "PERSON", person)
                    content = f"{token} said: {content}"
                records.append(
                    VersionRecord(
                        memory_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        version=1,
                        scope=scope,
                        content=content,
                        metadata={"source": "bench"},
                        tags=(tag,),
                        subject=None,
                        expires_at=None,
                        classification=Classification(),
                        provenance=provenance,
                        op="create",
                        changed_by="bench-loader",
                        changed_at=now,
                        created_at=now,
                    )
                )
            audit = [
                AuditEntry(
                    "memory.create",
                    "bench-loader",
                    scope=r.scope,
                    memory_ids=(str(r.memory_id),),
                    decision={"outcome": "stored", "findings": []},
                )
                for r in records
            ]
            writer.commit(
                records,
                partial(control.append_versions, [(r, None) for r in records], audit=audit),
            )
            writer.sync_index()
            done = begin + len(records)
            if done % (n // 10 or 1) < LOAD_BATCH:
                rate = done / (time.perf_counter() - start)
                log(f"  loaded {done}/{n} ({rate:.0f} memories/s)")
        out["load_s"] = round(time.perf_counter() - start, 1)
        log("  optimize() (HNSW graphs), as the nightly compaction does")
        optimize_s, _ = timed(index.optimize)
        out["optimize_s"] = round(optimize_s, 1)
    finally:
        index.close()
        control.close()
    return out


def load_store(
    stores: Path | None, data_dir: Path, n: int, scopes: list[str], model_cache: Path
) -> dict[str, Any]:
    """Build the N-memory store into ``data_dir``; with ``--stores``, build it there once
    (named by N and scope count) and copy it in on later runs, which skips the loading."""
    if stores is None:
        log(f"N={n}: loading {n} memories over {len(scopes)} scopes")
        return build_store(data_dir, n, scopes, model_cache)
    kept = stores / f"store-{n}-{len(scopes)}"
    stamp = kept / "bench-load.json"
    if not stamp.exists():
        log(f"N={n}: loading {n} memories over {len(scopes)} scopes into {kept}")
        shutil.rmtree(kept, ignore_errors=True)
        write_json(build_store(kept, n, scopes, model_cache), stamp)
    log(f"N={n}: copying the store built earlier in {kept}")
    shutil.copytree(kept, data_dir)
    loaded: dict[str, Any] = json.loads(stamp.read_text())
    return {**loaded, "reused_from": str(kept)}


# --------------------------------------------------------------------------- timing


def _reader_key(base_url: str) -> str:
    body = {"name": "bench-reader", "grants": [{"scope": "org/**", "permissions": ["memory:read"]}]}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        response = c.post("/v1/keys", json=body)
        response.raise_for_status()
        key: str = response.json()["key"]
        return key


SEARCH_KINDS = ("scoped", "subtree", "named")


def search_body(
    rng: random.Random, scopes: list[str], kind: str
) -> tuple[dict[str, Any], str | None]:
    """The request body, and the person it names. scoped: one scope; subtree: every scope the
    key reads (org/**); named: one scope, and the query names a person whose memories there
    hold the name as a pseudonym."""
    if kind == "named":
        person = rng.choice(PEOPLE)
        query = f"what did {person} say about {query_text(rng)}"
        return {"query": query, "limit": 10, "scopes": [home_scope(person, scopes)]}, person
    body: dict[str, Any] = {"query": query_text(rng), "limit": 10}
    if kind == "scoped":
        body["scopes"] = [rng.choice(scopes)]
    return body, None


def _idle(seconds: float) -> None:
    if seconds:
        time.sleep(seconds)


def time_searches(
    base_url: str,
    key: str,
    scopes: list[str],
    *,
    kind: str,
    count: int,
    warmup: int,
    concurrency: int,
    token_of: Callable[[str], str],
    gap_s: float = 0.0,
) -> dict[str, Any]:
    """``count`` searches per client over ``concurrency`` clients, each on its own connection;
    each timed search after ``gap_s`` of the client's idling."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    in_app: list[list[float]] = [[] for _ in range(concurrency)]
    empty = [0] * concurrency
    found = [0] * concurrency
    errors: list[Exception] = []
    barrier = threading.Barrier(concurrency)

    def client(slot: int) -> None:
        rng = random.Random(SEED + slot)
        headers = {"Authorization": f"Bearer {key}"}
        try:
            with httpx.Client(base_url=base_url, headers=headers, timeout=120.0) as http:
                for _ in range(warmup):
                    http.post("/v1/memories/search", json=search_body(rng, scopes, kind)[0])
                barrier.wait()
                for _ in range(count):
                    body, person = search_body(rng, scopes, kind)
                    _idle(gap_s)
                    elapsed, response = timed(http.post, "/v1/memories/search", json=body)
                    response.raise_for_status()
                    results = response.json()["results"]
                    empty[slot] += not results
                    if person is not None:  # did the person's own memories come back?
                        token = token_of(person)
                        found[slot] += any(token in r["memory"]["content"] for r in results)
                    latencies[slot].append(elapsed)
                    in_app[slot].append(app_seconds(response))
        except Exception as exc:  # noqa: BLE001 - re-raised by the main thread below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    flat = [x for per in latencies for x in per]
    if sum(empty):
        raise RuntimeError(f"{sum(empty)} searches found nothing in a loaded store")
    # Throughput over the timed part only: total requests / the slowest client's timed span.
    timed_wall = max(sum(per) for per in latencies)
    return summary(
        flat,
        concurrency=concurrency,
        throughput_per_s=round(len(flat) / timed_wall, 1),
        wall_s=round(wall, 2),
        **app_p50(x for per in in_app for x in per),
        **({"person_found_share": round(sum(found) / len(flat), 3)} if kind == "named" else {}),
    )


def time_writes(base_url: str, scopes: list[str], *, count: int, warmup: int) -> dict[str, Any]:
    """``count`` single writes (classified and embedded) on one keep-alive connection."""
    rng = random.Random(SEED + 7)
    latencies: list[float] = []
    in_app: list[float] = []
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=120.0
    ) as http:
        for number in range(warmup + count):
            content, tag = memory_text(rng)
            body = {"content": content, "scope": rng.choice(scopes), "tags": [tag]}
            elapsed, response = timed(http.post, "/v1/memories", json=body)
            if response.status_code not in {201, 202}:
                raise RuntimeError(f"write answered {response.status_code}")
            if number >= warmup:
                latencies.append(elapsed)
                in_app.append(app_seconds(response))
    return summary(
        latencies,
        concurrency=1,
        throughput_per_s=round(count / sum(latencies), 1),
        **app_p50(in_app),
    )


def app_seconds(response: httpx.Response) -> float:
    """The app's own time for a response, from its ``Server-Timing: app;dur=<ms>`` (NaN when
    the server does not send one, e.g. an older snapshot)."""
    name, _, duration = response.headers.get("server-timing", "").partition(";dur=")
    return float(duration) / 1000 if name == "app" and duration else math.nan


def app_p50(seconds: Iterable[float]) -> dict[str, float]:
    known = [s for s in seconds if not math.isnan(s)]
    return {"app_p50_ms": round(float(np.percentile(known, 50)) * 1000, 3)} if known else {}


def embed_alone(backends: Sequence[str], model_cache: Path, count: int) -> dict[str, Any]:
    """One short query through each backend in this process, one thread, as the service does.

    The backends take turns in slices of 20 queries, so that a noisy neighbour weighs on all
    of them alike; the per-slice p50s give the spread.
    """
    from memory_service.app import build_embedder  # noqa: PLC0415
    from memory_service.settings import Settings  # noqa: PLC0415

    embedders: dict[str, Any] = {}
    loads: dict[str, float] = {}
    for backend in backends:
        settings = Settings.model_validate(
            {"embedding_backend": backend, "embedding_cache_dir": model_cache}
        )
        loads[backend], embedders[backend] = timed(build_embedder, settings)
    rng = random.Random(SEED)
    for embedder in embedders.values():
        for _ in range(30):
            embedder.embed([query_text(rng)])
    samples: dict[str, list[float]] = {b: [] for b in backends}
    slice_p50s: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(max(1, count // 20)):
        queries = [query_text(rng) for _ in range(20)]
        for backend, embedder in embedders.items():
            part = [timed(embedder.embed, [q])[0] for q in queries]
            samples[backend] += part
            slice_p50s[backend].append(float(np.median(part)) * 1000)
    return {
        b: summary(
            samples[b],
            load_s=round(loads[b], 2),
            slice_p50_ms_min=round(min(slice_p50s[b]), 3),
            slice_p50_ms_max=round(max(slice_p50s[b]), 3),
        )
        for b in backends
    }


def bench_backend(
    data_dir: Path,
    backend: str,
    *,
    scopes: list[str],
    args: argparse.Namespace,
    work: Path,
    model_cache: Path,
) -> dict[str, Any]:
    env = {
        "MEMORY_EMBEDDING_BACKEND": base_backend(backend),
        "MEMORY_QUERY_PSEUDONYMS": "ner" if backend.endswith("+ner") else "lookup",
        "MEMORY_EMBEDDING_CACHE_DIR": str(model_cache),
        # The app's own time per request, so the table can show the client's share apart.
        "MEMORY_SERVER_TIMING": "true",
        **dict(kv.split("=", 1) for kv in args.server_env),
    }
    server = Server(data_dir, free_port(), work / f"server-{backend.replace('+', '-')}.log", env)
    from memory_service.app import build_pseudonymizer  # noqa: PLC0415 - the snapshot's code
    from memory_service.settings import Settings  # noqa: PLC0415

    pseudonymizer = build_pseudonymizer(Settings(data_dir=data_dir))
    org = scopes[0].split("/", 1)[0]

    def token_of(person: str) -> str:
        return pseudonymizer.pseudonym(org, "PERSON", person)

    out: dict[str, Any] = {}
    with server:
        out["startup_s"] = round(server.start(), 2)
        reader = _reader_key(server.base_url)
        pids = {"server": server.pid, "client": os.getpid()}
        for concurrency in args.concurrency:
            for kind in SEARCH_KINDS:
                key = reader if kind == "subtree" else ADMIN_KEY
                with CpuMeter(pids) as cpu:
                    stats = time_searches(
                        server.base_url,
                        key,
                        scopes,
                        kind=kind,
                        token_of=token_of,
                        count=args.searches,
                        warmup=args.warmup,
                        concurrency=concurrency,
                        gap_s=args.gap_ms / 1000,
                    )
                stats["cpu"] = cpu.result
                out[f"{kind}_c{concurrency}"] = stats
                log(
                    f"  {backend} {kind} c={concurrency}: p50 {stats['p50_ms']:.2f} ms, "
                    f"p95 {stats['p95_ms']:.2f} ms, {stats['throughput_per_s']}/s "
                    f"(other procs {cpu.result['other_cores']:.2f} cores)"
                )
        if args.writes:
            # After the searches: every write grows the store the next round searches.
            with CpuMeter(pids) as cpu:
                stats = time_writes(server.base_url, scopes, count=args.writes, warmup=args.warmup)
            stats["cpu"] = cpu.result
            out["write_c1"] = stats
            log(
                f"  {backend} write c=1: p50 {stats['p50_ms']:.2f} ms, "
                f"p95 {stats['p95_ms']:.2f} ms, {stats['throughput_per_s']}/s "
                f"(other procs {cpu.result['other_cores']:.2f} cores)"
            )
    return out


# --------------------------------------------------------------------------- report


def _spread(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{min(values):.2f} / {float(np.median(values)):.2f} / {max(values):.2f}"


def print_embed_table(embed: dict[str, Any]) -> None:
    print("query embedding alone (in-process, 1 thread): p50 ms [min-max of 20-query slices]")
    for backend, stats in embed.items():
        print(
            f"  {backend:>9}: p50 {stats['p50_ms']:.2f} "
            f"[{stats['slice_p50_ms_min']:.2f}-{stats['slice_p50_ms_max']:.2f}], "
            f"p95 {stats['p95_ms']:.2f}, load {stats['load_s']} s"
        )


def print_table(results: dict[str, Any]) -> None:
    print_embed_table(results["embed_alone"])
    if not results["runs"]:
        return
    rows: list[tuple[str, ...]] = [
        (
            "N",
            "backend",
            "search",
            "conc",
            "p50 ms",
            "in app p50 ms",
            "p95 ms",
            "per s",
            "embed p50 ms",
            "found",
        )
    ]
    for run in results["runs"]:
        for backend in run["backends"]:
            rounds = [r[backend] for r in run["rounds"]]
            if not rounds:  # --rounds 0: the store was only built
                continue
            embed = run["embed_alone"].get(base_backend(backend), {})
            for metric in rounds[0]:
                if metric == "startup_s":
                    continue
                kind, _, conc = metric.partition("_c")
                rows.append(
                    (
                        f"{run['n']:,}",
                        backend,
                        kind,
                        conc,
                        _spread([r[metric]["p50_ms"] for r in rounds]),
                        _spread([r[metric]["app_p50_ms"] for r in rounds])
                        if "app_p50_ms" in rounds[0][metric]
                        else "",
                        _spread([r[metric]["p95_ms"] for r in rounds]),
                        _spread([r[metric]["throughput_per_s"] for r in rounds]),
                        f"{embed['p50_ms']:.2f}" if embed else "",
                        _spread([r[metric]["person_found_share"] for r in rounds])
                        if "person_found_share" in rounds[0][metric]
                        else "",
                    )
                )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print(" | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if number == 0:
            print("-+-".join("-" * w for w in widths))
    print("(with several rounds: min / median / max over rounds of each round's figure)")
    print("(found: share of named searches whose top 10 held a memory of the person named)")
    print("(in app: the server's own time, from Server-Timing; the rest is client and HTTP)")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--scopes", type=int, default=50)
    parser.add_argument("--backends", nargs="+", choices=CONFIGS, default=list(BACKENDS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--searches", type=int, default=300, help="timed, per client")
    parser.add_argument("--warmup", type=int, default=30, help="untimed, per client")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=0.0,
        help="idle time before each timed search, as between an agent's requests (on this VM "
        "a core idle for 10 ms runs the next search about twice as slow)",
    )
    parser.add_argument(
        "--writes",
        type=int,
        default=0,
        help="also time this many single writes (classified, embedded) per round, after searches",
    )
    parser.add_argument("--embed-count", type=int, default=300)
    parser.add_argument(
        "--embed-only", action="store_true", help="only the query-embedding table, no store"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "recall.json")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=None,
        help="where the ONNX files are cached (shared by the loader and every server; "
        "default: a directory in the run's work dir, built once per run)",
    )
    parser.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the servers, e.g. MEMORY_SCHEDULER_ENABLED=false",
    )
    parser.add_argument(
        "--stores",
        type=Path,
        default=None,
        help="keep each built store here and reuse it on later runs (delete it after a change "
        "to the storage layout or the loader)",
    )
    parser.add_argument(
        "--snapshot",
        default="worktree",
        help="product to run, copied at start: 'worktree', a git revision, or 'none'",
    )
    return parser.parse_args(argv)


def run_all(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    if args.snapshot != "none":
        source = snapshot_source(args.snapshot, work / "src")
        use_source(work / "src")
    else:
        source = {"snapshot": None}
    model_cache = args.model_cache or work / "models"
    scopes = scope_names(args.scopes)
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "cpus": os.cpu_count(),
            "loadavg_start": loadavg(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "loader": "IndexWriter.commit + append_versions (no classification), int8 ONNX "
            "vectors, then optimize()",
        },
        "runs": [],
    }
    log("query embedding alone, per backend (builds the ONNX cache on the first call)")
    embed = embed_alone(
        list(dict.fromkeys(base_backend(b) for b in args.backends)), model_cache, args.embed_count
    )
    for backend, stats in embed.items():
        log(f"  {backend}: p50 {stats['p50_ms']:.2f} ms (load {stats['load_s']} s)")
    results["embed_alone"] = embed
    for n in [] if args.embed_only else args.sizes:
        data_dir = work / f"data-{n}"
        load = load_store(args.stores, data_dir, n, scopes, model_cache)
        run: dict[str, Any] = {
            "n": n,
            "scopes": len(scopes),
            "backends": args.backends,
            "embed_alone": embed,
            "load": load,
            "rounds": [],
        }
        log(f"N={n}: loaded in {run['load']['load_s']} s, optimize {run['load']['optimize_s']} s")
        for round_number in range(args.rounds):
            log(f"N={n}: round {round_number + 1}/{args.rounds}")
            run["rounds"].append(
                {
                    backend: bench_backend(
                        data_dir,
                        backend,
                        scopes=scopes,
                        args=args,
                        work=work,
                        model_cache=model_cache,
                    )
                    for backend in args.backends
                }
            )
            write_json({**results, "runs": [*results["runs"], run]}, args.out)
        results["runs"].append(run)
        shutil.rmtree(data_dir, ignore_errors=True)
    results["meta"]["loadavg_end"] = loadavg()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-recall-"))
    try:
        results = run_all(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["meta"]["total_wall_s"] = round(time.perf_counter() - started, 1)
    write_json(results, args.out)
    print_table(results)
    print(f"\ntotal wall time {results['meta']['total_wall_s']} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
