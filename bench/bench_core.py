"""Core benchmark: start-up, memory, write throughput and search latency at corpus size N.

For each size N this starts a fresh ``memory-service serve`` on a fresh data dir, loads N
memories over a set of scopes through the HTTP API and times writes and searches as a client
sees them (one client thread, one keep-alive connection, 20 untimed warm-up requests). A
second table times the vector store alone (``QdrantEdgeMemoryIndex`` in this process) before
and after ``optimize()``, because Qdrant Edge runs no optimiser in the background. A last
table breaks a write and a search down: SQLite transactions and embedding, in this process.

The product runs from a snapshot taken at start (``--snapshot``), since others change the tree
during a long run. Every timed phase records the CPU other processes used meanwhile ("other
procs ... cores"): on a shared 2-core machine, numbers taken while it is high are inflated.

Run: ``.venv/bin/python bench/bench_core.py [--sizes 10000 100000] [--scopes 50]
[--out bench/results/core.json]``. Not a test: it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
SERVER_BIN = REPO / ".venv" / "bin" / "memory-service"
ADMIN_KEY = "msk_0000000000000000_benchadminsecretvalue000000000"
DIMENSION = 384
SEED = 20240611
T = TypeVar("T")

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
        (
            "Meeting on {weekday}: agreed to finish {activity} before the {event}; "
            "{role} will follow up with the {team} team."
        ),
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
        (
            "Support ticket about {product}: it crashes after the upgrade to version {ver}; "
            "the workaround is clearing the local cache."
        ),
    ),
    ("travel", "{role} travels to {city} in {month} for the {event} and needs a hotel nearby."),
    (
        "billing",
        (
            "Contract renewal for {product} is due in {month}; budget is capped at "
            "{amount} {currency} per year."
        ),
    ),
    ("preference", "Preferred channel for {role} is {channel}; avoid calls before {hour}:00."),
    (
        "infra",
        (
            "The {system} service runs on {db} with {n} replicas in {region}; "
            "backups run nightly at {hour}:00 UTC."
        ),
    ),
    (
        "decision",
        (
            "Decision: move {activity} from {tool} to {tool2} by the end of {quarter}, "
            "owned by the {team} team."
        ),
    ),
    ("preference", "{role} likes concise answers with bullet points and examples in {code}."),
    (
        "support",
        (
            "Known issue: {product} export fails for files over {n} MB; a fix is planned for "
            "{quarter}."
        ),
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


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    """Seconds ``fn(*args, **kwargs)`` took, and its result."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- process and machine


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


def disk_usage(path: Path) -> dict[str, int]:
    """Apparent and allocated bytes under ``path`` (Qdrant preallocates sparse files)."""
    out = {"apparent_bytes": 0, "allocated_bytes": 0, "qdrant_allocated_bytes": 0}
    for file in path.rglob("*"):
        if not file.is_file():
            continue
        st = file.stat()
        out["apparent_bytes"] += st.st_size
        out["allocated_bytes"] += st.st_blocks * 512
        if "qdrant" in file.relative_to(path).parts[:1]:
            out["qdrant_allocated_bytes"] += st.st_blocks * 512
    out["control_allocated_bytes"] = out["allocated_bytes"] - out["qdrant_allocated_bytes"]
    return out


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(fields[:8])  # guest time is already inside user/nice
    idle = fields[3] + fields[4]
    return total - idle, total


def _process_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


class CpuMeter:
    """CPU used during a block, in cores: the machine, each watched pid, and everyone else.

    "other" is what other processes on the machine used meanwhile: a noisy neighbour shows
    up there, and latencies measured while it is high are inflated.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.result: dict[str, float] = {}

    def __enter__(self) -> Self:
        self._wall = time.perf_counter()
        self._machine = _machine_ticks()
        self._procs = {name: _process_ticks(pid) for name, pid in self.pids.items()}
        return self

    def __exit__(self, *_exc: object) -> None:
        wall = time.perf_counter() - self._wall
        busy, total = _machine_ticks()
        cpus = os.cpu_count() or 1
        d_total = max(total - self._machine[1], 1)
        machine = (busy - self._machine[0]) / d_total * cpus
        result = {"machine_cores": machine}
        for name, pid in self.pids.items():
            result[f"{name}_cores"] = (_process_ticks(pid) - self._procs[name]) / _CLK_TCK / wall
        result["other_cores"] = max(0.0, machine - sum(result[f"{n}_cores"] for n in self.pids))
        self.result = {k: round(v, 2) for k, v in result.items()}


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# --------------------------------------------------------------------------- server


class Server:
    """One ``memory-service serve`` process; always stop it (``with`` does)."""

    def __init__(
        self, data_dir: Path, port: int, log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.extra_env = extra_env or {}
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
            **self.extra_env,
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

    def __enter__(self) -> Self:
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
    start = mark = time.perf_counter()
    next_report, reported = 0.1, 0
    done = 0
    while done < n:
        body = {"items": corpus.items(min(batch_size, n - done))}
        elapsed, response = timed(client.post, "/v1/memories/batch", json=body)
        for result in _check_ok(response)["results"]:
            outcomes.add(result["status"])
        latencies.append(elapsed)
        done += len(body["items"])
        if done / n >= next_report:
            now = time.perf_counter()
            rate = (done - reported) / (now - mark)
            log(f"  loaded {done}/{n} ({rate:.0f} memories/s over the last {done - reported})")
            mark, reported = now, done
            next_report += 0.1
    total = time.perf_counter() - start
    # Does a batch get slower as the store grows? Median batch latency per tenth of the load.
    deciles = [
        round(float(np.median(part)) * 1000, 1)
        for part in np.array_split(np.asarray(latencies), min(10, len(latencies)))
    ]
    stats = summary(
        latencies,
        batch_size=batch_size,
        memories=n,
        total_s=round(total, 2),
        throughput_per_s=round(n / total, 1),
        p50_ms_by_tenth_of_load=deciles,
    )
    return stats, outcomes


def time_requests(
    client: httpx.Client,
    make: Callable[[int], tuple[str, dict[str, Any]]],
    *,
    count: int,
    warmup: int,
    expected: int = 200,
    check: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """POST ``make(i)`` ``warmup`` times untimed, then ``count`` times timed, back to back."""
    for i in range(warmup):
        path, body = make(i)
        _check_ok(client.post(path, json=body), expected)
    latencies: list[float] = []
    hits: list[int] = []
    for i in range(warmup, warmup + count):
        path, body = make(i)
        elapsed, response = timed(client.post, path, json=body)
        payload = _check_ok(response, expected)
        if check is not None:
            check(payload)
        if "results" in payload:
            hits.append(len(payload["results"]))
        latencies.append(elapsed)
    extra = {"mean_results": round(sum(hits) / len(hits), 2)} if hits else {}
    return summary(latencies, throughput_per_s=round(count / sum(latencies), 1), **extra)


def _some_results(payload: Any) -> None:
    if not payload["results"]:
        raise RuntimeError("search returned no results from a loaded store")


def _reader_key(client: httpx.Client, pattern: str) -> str:
    body = {
        "name": "bench-reader",
        "grants": [{"scope": pattern, "permissions": ["memory:read"]}],
    }
    key: str = _check_ok(client.post("/v1/keys", json=body), 201)["key"]
    return key


def _latency_phases(
    server: Server, corpus: Corpus, scopes: list[str], args: argparse.Namespace, n: int
) -> dict[str, Any]:
    """Single writes and searches, each phase with the CPU it and its neighbours used."""
    out: dict[str, Any] = {}
    pids = {"server": server.pid, "client": os.getpid()}
    qrng = random.Random(SEED + 1)
    search = "/v1/memories/search"

    def scoped(_i: int) -> tuple[str, dict[str, Any]]:
        return search, {"query": query_text(qrng), "scopes": [qrng.choice(scopes)], "limit": 10}

    def unscoped(_i: int) -> tuple[str, dict[str, Any]]:
        return search, {"query": query_text(qrng), "limit": 10}

    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=300.0) as admin:
        reader = _reader_key(admin, "org/**")
        phases: list[tuple[str, str, httpx.Client, Callable[..., Any], int, Any]] = [
            (
                "single_write",
                "single writes",
                admin,
                lambda _i: ("/v1/memories", corpus.item()),
                201,
                None,
            ),
            ("search_scoped", "scoped searches", admin, scoped, 200, _some_results),
            (
                "search_unscoped",
                "unscoped searches (admin key, grant **)",
                admin,
                unscoped,
                200,
                _some_results,
            ),
        ]
        for key, label, client, make, expected, check in phases:
            count = args.single_writes if key == "single_write" else args.searches
            log(f"N={n}: {count} {label}")
            with CpuMeter(pids) as cpu:
                out[key] = time_requests(
                    client, make, count=count, warmup=args.warmup, expected=expected, check=check
                )
            out[key]["cpu"] = cpu.result
        rd_headers = {"Authorization": f"Bearer {reader}"}
        with httpx.Client(base_url=server.base_url, headers=rd_headers, timeout=300.0) as rd:
            log(f"N={n}: {args.searches} subtree searches (key with grant org/**)")
            with CpuMeter(pids) as cpu:
                out["search_subtree"] = time_requests(
                    rd, unscoped, count=args.searches, warmup=args.warmup, check=_some_results
                )
            out["search_subtree"]["cpu"] = cpu.result
    return out


def service_bench(
    n: int, scopes: list[str], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    data_dir = work / f"data-{n}"
    extra_env = {}
    if args.embedding_threads is not None:
        extra_env["MEMORY_EMBEDDING_THREADS"] = str(args.embedding_threads)
    server = Server(data_dir, args.port or free_port(), work / f"server-{n}.log", extra_env)
    out: dict[str, Any] = {"loadavg_start": loadavg()}
    with server:
        log(f"N={n}: starting server on a fresh data dir")
        out["startup_s"] = round(server.start(), 3)
        out["memory_kib_ready"] = server.memory()
        corpus = Corpus(scopes)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=300.0) as client:
            log(f"N={n}: loading {n} memories in batches of {args.batch_size}")
            with CpuMeter({"server": server.pid, "client": os.getpid()}) as cpu:
                out["batch_write"], outcomes = load_corpus(client, corpus, n, args.batch_size)
            out["batch_write"]["cpu"] = cpu.result
        out["outcomes"] = {"stored": outcomes.stored, **outcomes.other}
        out["memory_kib_loaded"] = server.memory()
        out["disk_loaded"] = disk_usage(data_dir)
        out.update(_latency_phases(server, corpus, scopes, args, n))
        out["memory_kib_end"] = server.memory()
        out["shutdown_s"] = round(server.stop(), 3)

        if not args.no_restart:
            log(f"N={n}: restarting on the loaded data dir")
            out["restart_s"] = round(server.start(), 3)
            out["memory_kib_restarted"] = server.memory()
            out["restart_shutdown_s"] = round(server.stop(), 3)
    out["loadavg_end"] = loadavg()
    return out


# --------------------------------------------------------------------------- storage layer


def _random_unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


VectorMaker = Callable[[int], np.ndarray]

CLUSTERS = 256
CLUSTER_NOISE = 0.9


def vector_maker(kind: str, rng: np.random.Generator) -> VectorMaker:
    """Unit vectors: uniformly random, or around ``CLUSTERS`` centres like text embeddings.

    Uniform vectors in 384 dimensions have no neighbourhood structure, the worst case for
    HNSW recall; clustered ones (same-cluster cosine about 0.55) are closer to real embeddings.
    """
    if kind == "random":
        return lambda rows: _random_unit(rng, rows)
    centres = _random_unit(rng, CLUSTERS)

    def clustered(rows: int) -> np.ndarray:
        noise = rng.standard_normal((rows, DIMENSION), dtype=np.float32)
        vectors: np.ndarray = centres[rng.integers(0, CLUSTERS, rows)] + noise * (
            CLUSTER_NOISE / np.sqrt(DIMENSION)
        )
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors

    return clustered


def _shard_info(index: Any) -> dict[str, int]:
    info = index._shard.info()  # noqa: SLF001 - the adapter exposes no stats; bench only
    return {
        "segments": info.segments_count,
        "points": info.points_count,
        "indexed_vectors": info.indexed_vectors_count,
    }


def _fill_index(
    index: Any, n: int, scopes: list[str], vectors_of: VectorMaker, text_rng: random.Random
) -> dict[str, Any]:
    """Upsert ``n`` unit vectors with realistic payloads, 1000 a call."""
    from memory_service.domain.models import (  # noqa: PLC0415 - keep --help fast
        Classification,
        Memory,
        Provenance,
    )

    now = datetime.now(UTC)
    provenance = Provenance("bench", "bench-request", {})
    upsert_s = 0.0
    chunk = 1000
    for begin in range(0, n, chunk):
        rows = min(chunk, n - begin)
        vectors = vectors_of(rows)
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
        elapsed, _ = timed(index.upsert, items)
        upsert_s += elapsed
    return {
        "batch": chunk,
        "total_s": round(upsert_s, 2),
        "throughput_per_s": round(n / upsert_s, 1),
    }


def _index_searches(
    index: Any, queries: np.ndarray, filters: Sequence[Any], warmup: int
) -> tuple[dict[str, Any], list[list[uuid.UUID]]]:
    from memory_service.domain.models import IndexQuery  # noqa: PLC0415

    latencies: list[float] = []
    ids: list[list[uuid.UUID]] = []
    for i, vector in enumerate(queries):
        elapsed, hits = timed(
            index.search, vector, filters[i], IndexQuery(), limit=10, now=datetime.now(UTC)
        )
        if i >= warmup:
            latencies.append(elapsed)
            ids.append([h.memory.id for h in hits])
    return summary(latencies), ids


def storage_bench(
    n: int, scopes: list[str], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    """The vector store alone: search before and after ``optimize()``."""
    from memory_service.domain.scopes import ScopeFilter, ScopePattern  # noqa: PLC0415
    from memory_service.storage.qdrant_edge_index import QdrantEdgeMemoryIndex  # noqa: PLC0415

    vectors_of = vector_maker(args.storage_vectors, np.random.default_rng(SEED))
    text_rng = random.Random(SEED)
    path = work / f"edge-{n}"
    out: dict[str, Any] = {"loadavg_start": loadavg(), "vectors": args.storage_vectors}
    index = QdrantEdgeMemoryIndex(path, DIMENSION)
    try:
        log(f"N={n}: storage layer, upserting {n} {args.storage_vectors} vectors")
        out["upsert"] = _fill_index(index, n, scopes, vectors_of, text_rng)
        out["shard_before"] = _shard_info(index)
        out["disk_before"] = disk_usage(path)

        queries = vectors_of(args.searches + args.warmup)
        everything = ScopeFilter((ScopePattern.parse("**"),))
        filters = {
            "scoped": [
                ScopeFilter((ScopePattern.parse(text_rng.choice(scopes)),)) for _ in queries
            ],
            "unscoped": [everything] * len(queries),
        }
        pids = {"bench": os.getpid()}
        before: dict[str, list[list[uuid.UUID]]] = {}
        for kind, flts in filters.items():
            log(f"N={n}: storage layer, {kind} search before optimize")
            with CpuMeter(pids) as cpu:
                out[f"search_{kind}_before"], before[kind] = _index_searches(
                    index, queries, flts, args.warmup
                )
            out[f"search_{kind}_before"]["cpu"] = cpu.result

        log(f"N={n}: storage layer, optimize()")
        optimize_s, changed = timed(index.optimize)
        out["optimize"] = {"duration_s": round(optimize_s, 2), "changed": bool(changed)}
        out["shard_after"] = _shard_info(index)
        out["disk_after"] = disk_usage(path)

        for kind, flts in filters.items():
            log(f"N={n}: storage layer, {kind} search after optimize")
            with CpuMeter(pids) as cpu:
                stats, after = _index_searches(index, queries, flts, args.warmup)
            stats["cpu"] = cpu.result
            # Before optimize the shard is one plain segment: exact search, so it is the truth.
            hits = sum(len(set(a) & set(b)) for a, b in zip(after, before[kind], strict=True))
            total = sum(len(b) for b in before[kind])
            stats["recall_at_10_vs_exact"] = round(hits / total, 4) if total else None
            out[f"search_{kind}_after"] = stats
    finally:
        index.close()
        shutil.rmtree(path, ignore_errors=True)
    out["loadavg_end"] = loadavg()
    return out


def control_bench(work: Path, count: int) -> dict[str, Any]:
    """The control store's share of a write: what ``MemoryService._commit`` does per memory."""
    from memory_service.domain.models import (  # noqa: PLC0415
        Classification,
        Provenance,
        VersionRecord,
    )
    from memory_service.storage.sql.store import SqlControlStore, sqlite_url_for  # noqa: PLC0415

    directory = work / "control"
    directory.mkdir()
    store = SqlControlStore(sqlite_url_for(directory), audit_key=b"bench-audit-key")
    store.migrate()
    text_rng = random.Random(SEED + 3)
    appends: list[float] = []
    marks: list[float] = []
    try:
        log(f"control store: {count} x (append_version + mark_indexed) on SQLite")
        for _ in range(count):
            now = datetime.now(UTC)
            record = VersionRecord(
                memory_id=uuid.uuid4(),
                version=1,
                scope="org/client-00",
                content=memory_text(text_rng)[0],
                metadata={},
                tags=(),
                subject=None,
                expires_at=None,
                classification=Classification(),
                provenance=Provenance("bench", "bench-request", {}),
                op="create",
                changed_by="bench",
                changed_at=now,
                created_at=now,
            )
            appends.append(timed(store.append_version, record, expected_version=None)[0])
            marks.append(timed(store.mark_indexed, record.memory_id, 1)[0])
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)
    per_memory = [a + m for a, m in zip(appends, marks, strict=True)]
    return {
        "append_version": summary(appends),
        "mark_indexed": summary(marks),
        "per_memory": summary(per_memory, throughput_per_s=round(count / sum(per_memory), 1)),
    }


def service_embedding_threads(args: argparse.Namespace) -> int:
    """The embedding thread count the benchmarked server runs with."""
    from memory_service.settings import Settings  # noqa: PLC0415

    if args.embedding_threads is not None:
        return int(args.embedding_threads)
    return int(Settings().embedding_threads)


def embed_bench(args: argparse.Namespace) -> dict[str, Any]:
    """The embedding share of a search and of a batch write, as the service embeds.

    Measured with the server's thread count, then 1 and 2 threads: torch's thread count is
    process-wide, so the runs are sequential and each loads the model afresh.
    """
    from memory_service.embedding.sentence_transformer import (  # noqa: PLC0415 - loads torch
        SentenceTransformerEmbedder,
    )

    out: dict[str, Any] = {}
    pids = {"bench": os.getpid()}
    for threads in dict.fromkeys((service_embedding_threads(args), 1, 2)):
        log(f"embedding: loading the model in this process, {threads} thread(s)")
        load_s, embedder = timed(SentenceTransformerEmbedder, threads=threads)
        qrng = random.Random(SEED + 2)
        for _ in range(args.warmup):
            embedder.embed([query_text(qrng)])
        with CpuMeter(pids) as cpu_one:
            single = [timed(embedder.embed, [query_text(qrng)])[0] for _ in range(args.searches)]
        texts = [memory_text(qrng)[0] for _ in range(100)]
        embedder.embed(texts)
        with CpuMeter(pids) as cpu_batch:
            batches = [timed(embedder.embed, texts)[0] for _ in range(10)]
        out[f"threads_{threads}"] = {
            "threads": threads,
            "model_load_s": round(load_s, 2),
            "embed_one_query": summary(single, cpu=cpu_one.result),
            "embed_batch_100": summary(
                batches, throughput_per_s=round(1000 / sum(batches), 1), cpu=cpu_batch.result
            ),
        }
    return out


# --------------------------------------------------------------------------- report

Row = tuple[str, str, str, str, str, str, str]


def _mib(kib: dict[str, int], key: str = "VmRSS") -> str:
    return f"{kib[key] / 1024:.0f} MiB"


def _row(
    n: str, layer: str, metric: str, stats: dict[str, Any] | None = None, note: str = ""
) -> Row:
    """A table row; latency and throughput columns come from a :func:`summary` dict."""
    stats = stats or {}
    p50 = f"{stats['p50_ms']:.1f}" if "p50_ms" in stats else ""
    p95 = f"{stats['p95_ms']:.1f}" if "p95_ms" in stats else ""
    thr = f"{stats['throughput_per_s']:.0f}" if "throughput_per_s" in stats else ""
    cpu = stats.get("cpu")
    if cpu:
        neighbours = f"other procs {cpu['other_cores']:.2f} cores"
        note = f"{note}; {neighbours}" if note else neighbours
    return n, layer, metric, p50, p95, thr, note


def _service_rows(n: str, svc: dict[str, Any]) -> Iterator[Row]:
    yield _row(n, "service", "startup (spawn -> /readyz 200)", note=f"{svc['startup_s']} s")
    yield _row(n, "service", "RSS when ready (empty store)", note=_mib(svc["memory_kib_ready"]))
    bw = svc["batch_write"]
    yield _row(
        n,
        "service",
        f"batch write, {bw['batch_size']} per request",
        bw,
        f"{bw['memories']} in {bw['total_s']} s; {svc['outcomes']}",
    )
    if "p50_ms_by_tenth_of_load" in bw:
        tenths = ", ".join(f"{v:.0f}" for v in bw["p50_ms_by_tenth_of_load"])
        yield _row(n, "service", "batch write p50 ms per tenth of load", note=tenths)
    yield _row(n, "service", "RSS after load", note=_mib(svc["memory_kib_loaded"]))
    disk = svc["disk_loaded"]
    yield _row(
        n,
        "service",
        "data dir after load (allocated)",
        note=f"{disk['allocated_bytes'] / 2**20:.0f} MiB "
        f"(qdrant {disk['qdrant_allocated_bytes'] / 2**20:.0f}, "
        f"sqlite {disk['control_allocated_bytes'] / 2**20:.0f}; "
        f"apparent {disk['apparent_bytes'] / 2**20:.0f} MiB)",
    )
    for key, label in (
        ("single_write", "single write"),
        ("search_scoped", "search, scopes=[1 of 50], limit 10"),
        ("search_unscoped", "search, admin key ** (no scope filter)"),
        ("search_subtree", "search, key org/** (subtree filter)"),
    ):
        yield _row(n, "service", label, svc[key], f"n={svc[key]['count']}")
    end = svc["memory_kib_end"]
    yield _row(n, "service", "RSS end / peak (VmHWM)", note=f"{_mib(end)} / {_mib(end, 'VmHWM')}")
    yield _row(n, "service", "shutdown (SIGTERM -> exit)", note=f"{svc['shutdown_s']} s")
    if "restart_s" in svc:
        yield _row(n, "service", "restart on the loaded data dir", note=f"{svc['restart_s']} s")
        yield _row(n, "service", "RSS after restart", note=_mib(svc["memory_kib_restarted"]))


def _storage_rows(n: str, st: dict[str, Any]) -> Iterator[Row]:
    up = st["upsert"]
    yield _row(
        n,
        "storage",
        f"index upsert, {up['batch']} per call",
        up,
        f"{st.get('vectors', 'random')} vectors; {up['total_s']} s; shard {st['shard_before']}",
    )
    labels = {"scoped": "1 scope", "unscoped": "no scope filter"}
    for kind, label in labels.items():
        s = st[f"search_{kind}_before"]
        yield _row(n, "storage", f"index search {label}, before optimize", s, f"n={s['count']}")
    opt = st["optimize"]
    yield _row(n, "storage", "optimize()", note=f"{opt['duration_s']} s; shard {st['shard_after']}")
    for kind, label in labels.items():
        s = st[f"search_{kind}_after"]
        note = f"recall@10 vs exact {s['recall_at_10_vs_exact']}"
        yield _row(n, "storage", f"index search {label}, after optimize", s, note)


def table_rows(results: dict[str, Any]) -> Iterator[Row]:
    for run in results["runs"]:
        n = f"{run['n']:,}"
        if "service" in run:
            yield from _service_rows(n, run["service"])
        if "storage" in run:
            yield from _storage_rows(n, run["storage"])
    control = results.get("control_store")
    if control:
        yield _row("-", "sqlite", "append_version (1 txn)", control["append_version"])
        yield _row("-", "sqlite", "mark_indexed (1 txn)", control["mark_indexed"])
        yield _row("-", "sqlite", "both, per stored memory", control["per_memory"])
    for emb in (results.get("embedding") or {}).values():
        threads = f"{emb['threads']} thread{'s' if emb['threads'] > 1 else ''}"
        one = emb["embed_one_query"]
        yield _row("-", "embed", f"one query, in-process, {threads}", one, f"n={one['count']}")
        yield _row(
            "-",
            "embed",
            f"100 memories per call, {threads}",
            emb["embed_batch_100"],
            f"model load {emb['model_load_s']} s",
        )


def print_table(results: dict[str, Any]) -> None:
    header: Row = ("N", "layer", "metric", "p50 ms", "p95 ms", "per s", "note")
    rows = [header, *table_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    right = {0, 3, 4, 5}
    for number, row in enumerate(rows):
        cells = [
            row[i].rjust(widths[i]) if i in right else row[i].ljust(widths[i])
            for i in range(len(widths))
        ]
        print(" | ".join([*cells, row[-1]]).rstrip())
        if number == 0:
            print("-+-".join("-" * w for w in widths) + "-+-" + "-" * 30)


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
    parser.add_argument("--control-writes", type=int, default=500)
    parser.add_argument("--port", type=int, default=0, help="0: pick a free port")
    parser.add_argument(
        "--snapshot",
        default="worktree",
        help="product to run, copied once at start: 'worktree' (files on disk now), "
        "a git revision, or 'none' (the live tree, which others may change mid-run)",
    )
    parser.add_argument(
        "--storage-vectors",
        choices=("random", "clustered"),
        default="random",
        help="vectors for the storage-layer table (clustered: closer to text embeddings)",
    )
    parser.add_argument(
        "--embedding-threads",
        type=int,
        default=None,
        help="MEMORY_EMBEDDING_THREADS for the server (default: the service's own default)",
    )
    parser.add_argument("--no-restart", action="store_true", help="skip the restart timing")
    parser.add_argument("--skip-service", action="store_true", help="no HTTP service runs")
    parser.add_argument("--skip-storage", action="store_true", help="no vector-index runs")
    parser.add_argument(
        "--skip-breakdown", action="store_true", help="no SQLite/embedding breakdown"
    )
    return parser.parse_args(argv)


def write_json(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)


PACKAGES = ("memory_service", "classifiers", "retention")


def snapshot_source(rev: str, dest: Path) -> dict[str, Any]:
    """Copy the product packages, as they are now or at git ``rev``, into ``dest``.

    Others edit and commit the tree while a long run goes on; the server (via PYTHONPATH, which
    wins over the editable install) and the in-process layers all run this one snapshot.
    ``worktree`` copies the files on disk, uncommitted changes included.
    """
    dest.mkdir(parents=True)
    if rev == "worktree":
        for package in PACKAGES:
            shutil.copytree(
                REPO / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *PACKAGES],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
        return {"snapshot": "worktree", "base": _git_rev(), "uncommitted": dirty}
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, *PACKAGES],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return {"snapshot": commit, "base": commit, "uncommitted": []}


def use_source(path: Path) -> None:
    """Import the product from ``path``, here and in every server started after this."""
    sys.path.insert(0, str(path))
    existing = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(path) + (os.pathsep + existing if existing else "")


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


def run_all(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    scopes = scope_names(args.scopes)
    source: dict[str, Any] = {"snapshot": None, "base": _git_rev(), "tree": str(REPO)}
    if args.snapshot != "none":
        source.update(snapshot_source(args.snapshot, work / "src"))
        use_source(work / "src")
        log(f"running a snapshot of the product: {args.snapshot} (base {source['base']})")
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_start": loadavg(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "client": "one thread, httpx.Client keep-alive, requests back to back",
            "server_embedding_threads": service_embedding_threads(args),
        },
        "runs": [],
    }
    for n in args.sizes:
        run: dict[str, Any] = {"n": n, "scopes": len(scopes)}
        if not args.skip_service:
            run["service"] = service_bench(n, scopes, args, work)
            shutil.rmtree(work / f"data-{n}", ignore_errors=True)
        if not args.skip_storage:
            run["storage"] = storage_bench(n, scopes, args, work)
        results["runs"].append(run)
        write_json(results, args.out)  # partial results survive a later failure
    if not args.skip_breakdown:
        results["control_store"] = control_bench(work, args.control_writes)
        results["embedding"] = embed_bench(args)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        results = run_all(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = results["meta"]
    meta["loadavg_end"] = loadavg()
    meta["total_wall_s"] = round(time.perf_counter() - started, 1)
    meta["bench_process_kib"] = proc_memory(os.getpid())
    write_json(results, args.out)
    print_table(results)
    print(
        f"\ntotal wall time {meta['total_wall_s']} s; load average at start {meta['loadavg_start']}"
        f", at end {meta['loadavg_end']}; results in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
