"""Core benchmark: start-up, memory, write throughput and search latency at corpus size N.

For each size N this starts a fresh ``memory-service serve`` on a fresh data dir, loads N
memories over a set of scopes through the HTTP API and times writes and searches as a client
sees them (one client thread, one keep-alive connection). A second table times the vector
store alone (``QdrantEdgeMemoryIndex`` in this process, random vectors) before and after
``optimize()``, because Qdrant Edge runs no optimiser in the background.

Run: ``.venv/bin/python bench/bench_core.py [--sizes 10000 100000] [--scopes 50]
[--out bench/results/core.json]``. Not a test: it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
SERVER_BIN = REPO / ".venv" / "bin" / "memory-service"
ADMIN_KEY = "msk_0000000000000000_benchadminsecretvalue000000000"
DIMENSION = 384
SEED = 20240611

# --------------------------------------------------------------------------- corpus

_ROLES = (
    "the user",
    "the client",
    "the account owner",
    "the support lead",
    "the CFO",
    "the project manager",
    "the on-call engineer",
    "the customer",
    "the head of sales",
    "the data team lead",
)
_TEAMS = ("platform", "billing", "growth", "mobile", "security", "data", "support", "infra")
_TOOLS = (
    "Jira",
    "Linear",
    "Notion",
    "Confluence",
    "Slack",
    "GitHub",
    "GitLab",
    "Grafana",
    "Datadog",
    "Figma",
    "Airflow",
    "dbt",
    "Terraform",
    "Sentry",
)
_ACTIVITIES = (
    "sprint planning",
    "incident reviews",
    "code review",
    "release notes",
    "quarterly reporting",
    "design handoff",
    "customer onboarding",
    "capacity planning",
    "data exports",
    "on-call handover",
)
_PRODUCTS = (
    "the analytics dashboard",
    "the mobile app",
    "the billing portal",
    "the public API",
    "the CSV importer",
    "the search service",
    "the reporting module",
    "the SSO integration",
)
_SYSTEMS = ("payments", "checkout", "auth", "ingest", "notifications", "search", "ledger")
_CAUSES = (
    "an expired TLS certificate",
    "a full disk on the primary database",
    "a bad feature flag rollout",
    "a DNS misconfiguration",
    "connection pool exhaustion",
    "a runaway cron job",
    "a schema migration that locked a hot table",
)
_CITIES = ("Lisbon", "Berlin", "Toronto", "Singapore", "Austin", "Nairobi", "Oslo", "Osaka")
_MONTHS = ("January", "March", "April", "June", "September", "October", "November")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_FOODS = ("peanuts", "shellfish", "gluten", "dairy", "sesame")
_EVENTS = ("offsite", "customer summit", "board meeting", "partner workshop", "hackathon")
_CHANNELS = ("email", "Slack", "a short video call", "the shared doc", "text message")
_LANGS = ("English", "German", "Portuguese", "French", "Japanese", "Spanish")
_CODE_LANGS = ("Python", "TypeScript", "Go", "Rust", "SQL", "Kotlin")
_DBS = ("PostgreSQL", "MySQL", "Redis", "ClickHouse", "SQLite")
_REGIONS = ("eu-west-1", "us-east-2", "ap-southeast-1", "eu-central-1")
_QUARTERS = ("Q1", "Q2", "Q3", "Q4")
_CURRENCIES = ("EUR", "USD", "GBP")
_PRIORITIES = ("high", "medium", "low")
_REPORTS = ("usage", "revenue", "churn", "latency", "ticket volume")

_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("preference", "{role} prefers {tool} over {tool2} for {activity}."),
    (
        "meeting",
        "Meeting on {weekday}: agreed to finish {activity} before the {event}; "
        "{role} will follow up with the {team} team.",
    ),
    ("incident", "The {system} outage on {weekday} was caused by {cause}."),
    (
        "reminder",
        "{role} wants weekly {report} summaries every {weekday} morning, written in {lang}.",
    ),
    ("tooling", "The {team} team uses {tool} for {activity} and {tool2} for {activity2}."),
    ("preference", "{role} is allergic to {food}; avoid it at the {event} in {city}."),
    (
        "support",
        "Support ticket about {product}: it crashes after the upgrade to version {ver}; "
        "the workaround is clearing the local cache.",
    ),
    ("travel", "{role} travels to {city} in {month} for the {event} and needs a hotel nearby."),
    (
        "billing",
        "Contract renewal for {product} is due in {month}; budget is capped at "
        "{amount} {currency} per year.",
    ),
    ("preference", "Preferred channel for {role} is {channel}; avoid calls before {hour}:00."),
    (
        "infra",
        "The {system} service runs on {db} with {n} replicas in {region}; "
        "backups run nightly at {hour}:00 UTC.",
    ),
    (
        "decision",
        "Decision: move {activity} from {tool} to {tool2} by the end of {quarter}, "
        "owned by the {team} team.",
    ),
    ("preference", "{role} likes concise answers with bullet points and examples in {code}."),
    (
        "support",
        "Known issue: {product} export fails for files over {n} MB; a fix is planned for "
        "{quarter}.",
    ),
    (
        "onboarding",
        "New hires on the {team} team need access to {tool}, {tool2} and the {system} dashboard.",
    ),
)
_TAILS = (
    " Confirmed again last {weekday}.",
    " This came up twice in {month}.",
    " Priority is {priority}.",
    " See the notes from the {event}.",
    " Raised by {role} during {activity}.",
)
_QUERY_TEMPLATES = (
    "what does {role} prefer for {activity}",
    "which tool does the {team} team use for {activity}",
    "why did the {system} service go down",
    "when is the contract renewal for {product}",
    "travel plans to {city} in {month}",
    "dietary restrictions for the {event}",
    "how should I contact {role}",
    "known problems with {product}",
    "where do the {system} backups run",
    "weekly {report} report schedule",
    "who owns the migration off {tool}",
    "access needed for new {team} engineers",
)
_TAGS = ("preference", "meeting", "incident", "travel", "billing", "support", "decision", "infra")
MIN_CHARS, MAX_CHARS = 60, 200


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        role=rng.choice(_ROLES),
        team=rng.choice(_TEAMS),
        tool=rng.choice(_TOOLS),
        tool2=rng.choice(_TOOLS),
        activity=rng.choice(_ACTIVITIES),
        activity2=rng.choice(_ACTIVITIES),
        product=rng.choice(_PRODUCTS),
        system=rng.choice(_SYSTEMS),
        cause=rng.choice(_CAUSES),
        city=rng.choice(_CITIES),
        month=rng.choice(_MONTHS),
        weekday=rng.choice(_WEEKDAYS),
        food=rng.choice(_FOODS),
        event=rng.choice(_EVENTS),
        channel=rng.choice(_CHANNELS),
        lang=rng.choice(_LANGS),
        code=rng.choice(_CODE_LANGS),
        db=rng.choice(_DBS),
        region=rng.choice(_REGIONS),
        quarter=rng.choice(_QUARTERS),
        currency=rng.choice(_CURRENCIES),
        priority=rng.choice(_PRIORITIES),
        report=rng.choice(_REPORTS),
        ver=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        amount=f"{rng.randint(5, 250) * 1000:,}",
        hour=f"{rng.randint(0, 23):02d}",
        n=rng.randint(2, 500),
    )


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def memory_text(rng: random.Random) -> tuple[str, str]:
    """One short memory (MIN_CHARS..MAX_CHARS characters) and its topic tag."""
    tag, template = rng.choice(_TEMPLATES)
    text = _cap(_fill(rng, template))
    while len(text) < MIN_CHARS or (len(text) < MAX_CHARS - 40 and rng.random() < 0.35):
        text += _fill(rng, rng.choice(_TAILS))
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "."
    return text, tag


def query_text(rng: random.Random) -> str:
    return _fill(rng, rng.choice(_QUERY_TEMPLATES))


def scope_names(count: int) -> list[str]:
    return [f"org/client-{i:02d}" for i in range(count)]


@dataclass
class Corpus:
    """Deterministic memory bodies for the API, in the order they are generated."""

    scopes: list[str]
    seed: int = SEED
    rng: random.Random = field(init=False)
    produced: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def item(self) -> dict[str, Any]:
        rng = self.rng
        content, tag = memory_text(rng)
        tags = sorted({tag, *rng.sample(_TAGS, rng.randint(0, 2))})
        body: dict[str, Any] = {
            "content": content,
            "scope": rng.choice(self.scopes),
            "tags": tags,
            "metadata": {"source": rng.choice(("chat", "email", "ticket")), "seq": self.produced},
        }
        if rng.random() < 0.3:
            body["subject"] = f"user-{rng.randint(1, 5000):05d}"
        self.produced += 1
        return body

    def items(self, count: int) -> list[dict[str, Any]]:
        return [self.item() for _ in range(count)]


# --------------------------------------------------------------------------- stats


def summary(samples_s: Sequence[float], **extra: Any) -> dict[str, Any]:
    """Latency summary in milliseconds from samples in seconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    out: dict[str, Any] = {
        "count": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "min_ms": round(float(ms.min()), 3),
        "max_ms": round(float(ms.max()), 3),
    }
    out.update(extra)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in KiB, from /proc."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            values[key] = int(rest.split()[0])
    return values


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Server:
    """One ``memory-service serve`` process; always stop it (``with`` does)."""

    def __init__(self, data_dir: Path, port: int, log_path: Path) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 300.0) -> float:
        """Start the process; seconds from spawn to the first 200 from /readyz."""
        env = {
            **os.environ,
            "MEMORY_DATA_DIR": str(self.data_dir),
            "MEMORY_PORT": str(self.port),
            "MEMORY_HOST": "127.0.0.1",
            "MEMORY_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        }
        with self.log_path.open("ab") as log_file:
            start = time.perf_counter()
            self.proc = subprocess.Popen(
                [str(SERVER_BIN), "serve"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        deadline = start + timeout_s
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return time.perf_counter() - start
                time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout_s}s: {self.tail()}")

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("server not started")
        return self.proc.pid

    def memory(self) -> dict[str, int]:
        return proc_memory(self.pid)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_s: float = 60.0) -> float:
        """SIGTERM (graceful: the shard is flushed), SIGKILL if it hangs; seconds taken."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return 0.0
        start = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log(f"server {proc.pid} ignored SIGTERM for {timeout_s}s; killing it")
            proc.kill()
            proc.wait()
        return time.perf_counter() - start

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _check_ok(response: httpx.Response, expected: int = 200) -> Any:
    if response.status_code != expected:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response.json()


@dataclass
class Outcomes:
    stored: int = 0
    other: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        if status == "stored":
            self.stored += 1
        else:
            self.other[status] = self.other.get(status, 0) + 1


def load_corpus(
    client: httpx.Client, corpus: Corpus, n: int, batch_size: int
) -> tuple[dict[str, Any], Outcomes]:
    outcomes = Outcomes()
    latencies: list[float] = []
    start = time.perf_counter()
    next_report = 0.1
    done = 0
    while done < n:
        body = {"items": corpus.items(min(batch_size, n - done))}
        elapsed, response = timed(lambda b=body: client.post("/v1/memories/batch", json=b))
        for result in _check_ok(response)["results"]:
            outcomes.add(result["status"])
        latencies.append(elapsed)
        done += len(body["items"])
        if done / n >= next_report:
            rate = done / (time.perf_counter() - start)
            log(f"  loaded {done}/{n} ({rate:.0f} memories/s)")
            next_report += 0.1
    total = time.perf_counter() - start
    stats = summary(
        latencies,
        batch_size=batch_size,
        memories=n,
        total_s=round(total, 2),
        throughput_per_s=round(n / total, 1),
    )
    return stats, outcomes


def time_requests(
    client: httpx.Client,
    make: Callable[[int], tuple[str, dict[str, Any]]],
    count: int,
    warmup: int,
    expected: int,
    check: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """POST ``make(i)`` ``warmup`` times untimed, then ``count`` times timed."""
    for i in range(warmup):
        path, body = make(i)
        _check_ok(client.post(path, json=body), expected)
    latencies: list[float] = []
    for i in range(warmup, warmup + count):
        path, body = make(i)
        elapsed, response = timed(lambda p=path, b=body: client.post(p, json=b))
        payload = _check_ok(response, expected)
        if check is not None:
            check(payload)
        latencies.append(elapsed)
    return summary(latencies, throughput_per_s=round(count / sum(latencies), 1))


def service_bench(
    n: int, scopes: list[str], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    data_dir = work / f"data-{n}"
    server = Server(data_dir, args.port or free_port(), work / f"server-{n}.log")
    out: dict[str, Any] = {}
    with server:
        log(f"N={n}: starting server on a fresh data dir")
        out["startup_s"] = round(server.start(), 3)
        out["memory_kib_ready"] = server.memory()
        corpus = Corpus(scopes)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=300.0) as client:
            log(f"N={n}: loading {n} memories in batches of {args.batch_size}")
            out["batch_write"], outcomes = load_corpus(client, corpus, n, args.batch_size)
            out["outcomes"] = {"stored": outcomes.stored, **outcomes.other}
            out["memory_kib_loaded"] = server.memory()
            out["disk_bytes_loaded"] = dir_bytes(data_dir)

            log(f"N={n}: {args.single_writes} single writes")
            out["single_write"] = time_requests(
                client,
                lambda _i: ("/v1/memories", corpus.item()),
                args.single_writes,
                args.warmup,
                201,
            )

            qrng = random.Random(SEED + 1)

            def scoped(_i: int) -> tuple[str, dict[str, Any]]:
                body = {"query": query_text(qrng), "scopes": [qrng.choice(scopes)], "limit": 10}
                return "/v1/memories/search", body

            def unscoped(_i: int) -> tuple[str, dict[str, Any]]:
                return "/v1/memories/search", {"query": query_text(qrng), "limit": 10}

            def full_page(payload: Any) -> None:
                if len(payload["results"]) != 10:
                    raise RuntimeError(f"search returned {len(payload['results'])} results")

            log(f"N={n}: {args.searches} scoped searches")
            out["search_scoped"] = time_requests(
                client, scoped, args.searches, args.warmup, 200, full_page
            )
            log(f"N={n}: {args.searches} unscoped searches (admin key, grant **)")
            out["search_unscoped"] = time_requests(
                client, unscoped, args.searches, args.warmup, 200, full_page
            )
            issued = _check_ok(
                client.post(
                    "/v1/keys",
                    json={
                        "name": "bench-reader",
                        "grants": [{"scope": "org/**", "permissions": ["memory:read"]}],
                    },
                ),
                201,
            )
        reader_headers = {"Authorization": f"Bearer {issued['key']}"}
        with httpx.Client(base_url=server.base_url, headers=reader_headers, timeout=300.0) as rd:
            log(f"N={n}: {args.searches} subtree searches (key with grant org/**)")
            out["search_subtree"] = time_requests(
                rd, unscoped, args.searches, args.warmup, 200, full_page
            )
        out["memory_kib_end"] = server.memory()
        out["shutdown_s"] = round(server.stop(), 3)

        if not args.no_restart:
            log(f"N={n}: restarting on the loaded data dir")
            out["restart_s"] = round(server.start(), 3)
            out["memory_kib_restarted"] = server.memory()
            out["restart_shutdown_s"] = round(server.stop(), 3)
    return out


# --------------------------------------------------------------------------- storage layer


def _random_unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _shard_info(index: Any) -> dict[str, int]:
    info = index._shard.info()  # noqa: SLF001 - the adapter exposes no stats; bench only
    return {
        "segments": info.segments_count,
        "points": info.points_count,
        "indexed_vectors": info.indexed_vectors_count,
    }


def storage_bench(
    n: int, scopes: list[str], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    from memory_service.domain.models import (  # noqa: PLC0415 - keep --help fast
        Classification,
        IndexQuery,
        Memory,
        Provenance,
    )
    from memory_service.domain.scopes import ScopeFilter, ScopePattern  # noqa: PLC0415
    from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex  # noqa: PLC0415

    rng = np.random.default_rng(SEED)
    text_rng = random.Random(SEED)
    path = work / f"edge-{n}"
    out: dict[str, Any] = {}
    index = QdrantEdgeMemoryIndex(path, DIMENSION)
    try:
        now = datetime.now(UTC)
        provenance = Provenance("bench", "bench-request", {})
        upsert_s = 0.0
        chunk = 1000
        log(f"N={n}: storage layer, upserting {n} random vectors")
        for begin in range(0, n, chunk):
            rows = min(chunk, n - begin)
            vectors = _random_unit(rng, rows)
            items = []
            for row in range(rows):
                content, tag = memory_text(text_rng)
                memory = Memory(
                    id=uuid.UUID(int=text_rng.getrandbits(128), version=4),
                    scope=text_rng.choice(scopes),
                    content=content,
                    metadata={"seq": begin + row},
                    tags=(tag,),
                    subject=None,
                    created_at=now,
                    updated_at=now,
                    expires_at=None,
                    version=1,
                    classification=Classification(),
                    provenance=provenance,
                )
                items.append((memory, vectors[row]))
            elapsed, _ = timed(lambda i=items: index.upsert(i))
            upsert_s += elapsed
        out["upsert"] = {"total_s": round(upsert_s, 2), "throughput_per_s": round(n / upsert_s, 1)}
        out["shard_before"] = _shard_info(index)

        queries = _random_unit(rng, args.searches + args.warmup)
        qscopes = [text_rng.choice(scopes) for _ in range(len(queries))]
        everything = ScopeFilter((ScopePattern.parse("**"),))
        filters = {
            "scoped": lambda i: ScopeFilter((ScopePattern.parse(qscopes[i]),)),
            "unscoped": lambda _i: everything,
        }

        def run(kind: str) -> tuple[dict[str, Any], list[list[uuid.UUID]]]:
            latencies: list[float] = []
            ids: list[list[uuid.UUID]] = []
            make_filter = filters[kind]
            for i, vector in enumerate(queries):
                flt = make_filter(i)
                elapsed, hits = timed(
                    lambda v=vector, f=flt: index.search(
                        v, f, IndexQuery(), limit=10, now=datetime.now(UTC)
                    )
                )
                if i >= args.warmup:
                    latencies.append(elapsed)
                    ids.append([h.memory.id for h in hits])
            return summary(latencies), ids

        before: dict[str, list[list[uuid.UUID]]] = {}
        for kind in filters:
            log(f"N={n}: storage layer, {kind} search before optimize")
            out[f"search_{kind}_before"], before[kind] = run(kind)

        log(f"N={n}: storage layer, optimize()")
        optimize_s, changed = timed(index.optimize)
        out["optimize"] = {"duration_s": round(optimize_s, 2), "changed": bool(changed)}
        out["shard_after"] = _shard_info(index)

        for kind in filters:
            log(f"N={n}: storage layer, {kind} search after optimize")
            stats, after = run(kind)
            # Before optimize the shard is one plain segment: exact search, so it is the truth.
            hits = sum(len(set(a) & set(b)) for a, b in zip(after, before[kind], strict=True))
            total = sum(len(b) for b in before[kind])
            stats["recall_at_10_vs_exact"] = round(hits / total, 4) if total else None
            out[f"search_{kind}_after"] = stats
    finally:
        index.close()
        shutil.rmtree(path, ignore_errors=True)
    return out


def embed_bench(args: argparse.Namespace) -> dict[str, Any]:
    """The query-embedding share of a search: one text, as the service embeds it."""
    from memory_service.embedding.sentence_transformer import (  # noqa: PLC0415 - loads torch
        SentenceTransformerEmbedder,
    )

    log("embedding: loading the model in this process")
    load_s, embedder = timed(lambda: SentenceTransformerEmbedder(threads=2))
    qrng = random.Random(SEED + 2)
    for _ in range(args.warmup):
        embedder.embed([query_text(qrng)])
    single = [timed(lambda: embedder.embed([query_text(qrng)]))[0] for _ in range(args.searches)]
    texts = [memory_text(qrng)[0] for _ in range(100)]
    batches = [timed(lambda: embedder.embed(texts))[0] for _ in range(5)]
    return {
        "model_load_s": round(load_s, 2),
        "embed_one_query": summary(single),
        "embed_batch_100": summary(batches, throughput_per_s=round(500 / sum(batches), 1)),
    }


# --------------------------------------------------------------------------- report


def _ms(stats: dict[str, Any] | None, key: str) -> str:
    return "" if not stats or key not in stats else f"{stats[key]:.1f}"


def _mib(kib: dict[str, int], key: str = "VmRSS") -> str:
    return f"{kib[key] / 1024:.0f} MiB"


def table_rows(results: dict[str, Any]) -> Iterator[tuple[str, str, str, str, str, str, str]]:
    """(N, section, metric, p50 ms, p95 ms, throughput/s, note)."""
    for run in results["runs"]:
        n = f"{run['n']:,}"
        svc = run.get("service")
        if svc:
            yield (
                n,
                "service",
                "startup (spawn -> /readyz 200)",
                "",
                "",
                "",
                f"{svc['startup_s']} s",
            )
            yield n, "service", "RSS ready (empty)", "", "", "", _mib(svc["memory_kib_ready"])
            bw = svc["batch_write"]
            yield (
                n,
                "service",
                f"batch write ({bw['batch_size']}/req)",
                _ms(bw, "p50_ms"),
                _ms(bw, "p95_ms"),
                f"{bw['throughput_per_s']:.0f}",
                f"{bw['memories']} in {bw['total_s']} s; {svc['outcomes']}",
            )
            loaded = svc["memory_kib_loaded"]
            yield n, "service", "RSS after load", "", "", "", _mib(loaded)
            yield (
                n,
                "service",
                "data dir on disk after load",
                "",
                "",
                "",
                f"{svc['disk_bytes_loaded'] / 2**20:.0f} MiB",
            )
            for key, label in (
                ("single_write", "single write"),
                ("search_scoped", "search, 1 scope, limit 10"),
                ("search_unscoped", "search, admin ** (no filter)"),
                ("search_subtree", "search, grant org/** (all)"),
            ):
                s = svc[key]
                yield (
                    n,
                    "service",
                    label,
                    _ms(s, "p50_ms"),
                    _ms(s, "p95_ms"),
                    f"{s['throughput_per_s']:.0f}",
                    f"n={s['count']}",
                )
            end = svc["memory_kib_end"]
            yield (
                n,
                "service",
                "RSS end / peak (VmHWM)",
                "",
                "",
                "",
                f"{_mib(end)} / {_mib(end, 'VmHWM')}",
            )
            yield n, "service", "shutdown (SIGTERM -> exit)", "", "", "", f"{svc['shutdown_s']} s"
            if "restart_s" in svc:
                yield n, "service", "restart on loaded dir", "", "", "", f"{svc['restart_s']} s"
                yield (
                    n,
                    "service",
                    "RSS after restart",
                    "",
                    "",
                    "",
                    _mib(svc["memory_kib_restarted"]),
                )
        st = run.get("storage")
        if st:
            up = st["upsert"]
            yield (
                n,
                "storage",
                "upsert (1000/call)",
                "",
                "",
                f"{up['throughput_per_s']:.0f}",
                f"{up['total_s']} s; shard {st['shard_before']}",
            )
            for kind in ("scoped", "unscoped"):
                s = st[f"search_{kind}_before"]
                label = "1 scope" if kind == "scoped" else "no filter"
                yield (
                    n,
                    "storage",
                    f"search {label}, before optimize",
                    _ms(s, "p50_ms"),
                    _ms(s, "p95_ms"),
                    "",
                    f"n={s['count']}",
                )
            opt = st["optimize"]
            yield (
                n,
                "storage",
                "optimize()",
                "",
                "",
                "",
                f"{opt['duration_s']} s; shard {st['shard_after']}",
            )
            for kind in ("scoped", "unscoped"):
                s = st[f"search_{kind}_after"]
                label = "1 scope" if kind == "scoped" else "no filter"
                yield (
                    n,
                    "storage",
                    f"search {label}, after optimize",
                    _ms(s, "p50_ms"),
                    _ms(s, "p95_ms"),
                    "",
                    f"recall@10 vs exact {s['recall_at_10_vs_exact']}",
                )
    emb = results.get("embedding")
    if emb:
        one, batch = emb["embed_one_query"], emb["embed_batch_100"]
        yield "-", "embed", "one query (in-process)", _ms(one, "p50_ms"), _ms(one, "p95_ms"), "", ""
        yield (
            "-",
            "embed",
            "batch of 100 memories",
            _ms(batch, "p50_ms"),
            _ms(batch, "p95_ms"),
            f"{batch['throughput_per_s']:.0f}",
            f"model load {emb['model_load_s']} s",
        )


def print_table(results: dict[str, Any]) -> None:
    header = ("N", "layer", "metric", "p50 ms", "p95 ms", "thrpt/s", "note")
    rows = [header, *table_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    right = {0, 3, 4, 5}
    for number, row in enumerate(rows):
        cells = [
            row[i].rjust(widths[i]) if i in right else row[i].ljust(widths[i])
            for i in range(len(widths))
        ]
        print(" | ".join([*cells, row[-1]]))
        if number == 0:
            print("-+-".join("-" * w for w in widths) + "-+-" + "-" * 20)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--scopes", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "core.json")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--single-writes", type=int, default=200)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="0: pick a free port")
    parser.add_argument("--no-restart", action="store_true", help="skip the restart timing")
    parser.add_argument("--skip-service", action="store_true", help="storage layer only")
    parser.add_argument("--skip-storage", action="store_true", help="HTTP service only")
    parser.add_argument("--skip-embed", action="store_true", help="skip the embedding breakdown")
    return parser.parse_args(argv)


def _git_rev() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scopes = scope_names(args.scopes)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git_rev": _git_rev(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "client": "one thread, httpx.Client keep-alive",
        },
        "runs": [],
    }
    work = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        for n in args.sizes:
            run: dict[str, Any] = {"n": n, "scopes": len(scopes)}
            if not args.skip_service:
                run["service"] = service_bench(n, scopes, args, work)
            if not args.skip_storage:
                run["storage"] = storage_bench(n, scopes, args, work)
            results["runs"].append(run)
            shutil.rmtree(work / f"data-{n}", ignore_errors=True)
        if not args.skip_embed:
            results["embedding"] = embed_bench(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["meta"]["total_wall_s"] = round(time.perf_counter() - started, 1)
    results["meta"]["bench_process_kib"] = proc_memory(os.getpid())

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\ntotal wall time {results['meta']['total_wall_s']} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
