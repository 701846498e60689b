"""Two or more server settings side by side, on one store, with requests alternating between them.

This machine's speed drifts by up to 50% within minutes, so two runs one after the other can
differ more than the settings being compared. Here every variant runs at the same time, each a
``memory-service serve`` on its own copy of the same 100k store, and the searches alternate
between them in blocks (in a shuffled order per block), so a drift hits every variant alike.
Each variant is ``NAME:VAR=VALUE,VAR=VALUE`` (environment for its server, may be empty).

``--gap-ms`` idles before each timed search: on this VM a core idle for a few milliseconds runs
the next request about twice as slowly, and an agent's requests are usually spaced, so a change
can win back to back and lose with gaps (the 2-thread query embedding did both).

Run: ``.venv/bin/python bench/bench_ab.py base: one:MEMORY_INDEX_SEARCH_THREADS=1
[--kind scoped] [--gap-ms 10] [--rounds 4] [--stores DIR]``. Prints per variant the p50 over
all timed searches (client and in-app), then each round's, for the rounds to be compared
pairwise. Not a test.

``--kind write`` times single writes instead (``POST /v1/memories``: content and a topic tag,
as ``bench_recall.py --writes``); ``--kind write-fields`` adds what an agent's write usually
carries besides its content (a subject, a second tag, three metadata values and a source).
Every variant gets the same bodies. Two versions of the code compare by giving one variant
``PYTHONPATH=<a git worktree of the other commit>``.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from bench_core import ADMIN_KEY, REPO, Server, free_port, log, memory_text, scope_names
from bench_recall import SEARCH_KINDS, SEED, app_seconds, load_store, search_body

WRITE_KINDS = ("write", "write-fields")


def request_for(rng: random.Random, scopes: list[str], kind: str) -> tuple[str, dict[str, Any]]:
    """(path, body) of one timed request of ``kind``."""
    if kind not in WRITE_KINDS:
        return "/v1/memories/search", search_body(rng, scopes, kind)[0]
    content, tag = memory_text(rng)
    body: dict[str, Any] = {"content": content, "scope": rng.choice(scopes), "tags": [tag]}
    if kind == "write-fields":
        body |= {
            "subject": f"user-{rng.randrange(1000)}",
            "tags": [tag, rng.choice(["prefs", "ops", "billing"])],
            "metadata": {
                "agent": "support-bot",
                "session": f"s-{rng.randrange(10**6)}",
                "channel": rng.choice(["chat", "email", "phone"]),
            },
            "source": {"kind": "agent", "tool": "crm"},
        }
    return "/v1/memories", body


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = text.partition(":")
    env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    return name, env


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", type=parse_variant, metavar="NAME:VAR=VALUE,...")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--scopes", type=int, default=50)
    parser.add_argument("--kind", choices=(*SEARCH_KINDS, *WRITE_KINDS), default="scoped")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=300, help="timed searches per variant")
    parser.add_argument("--block", type=int, default=25, help="searches per turn of a variant")
    parser.add_argument("--warmup", type=int, default=300, help="untimed, per variant")
    parser.add_argument("--gap-ms", type=float, default=0.0)
    parser.add_argument("--stores", type=Path, default=None, help="as in bench_recall.py")
    parser.add_argument("--model-cache", type=Path, default=REPO / "bench" / "results" / "models")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> None:
    scopes = scope_names(args.scopes)
    built = work / "built"
    load_store(args.stores, built, args.size, scopes, args.model_cache)
    base_env = {
        "MEMORY_EMBEDDING_CACHE_DIR": str(args.model_cache),
        "MEMORY_SERVER_TIMING": "true",
    }
    names = [name for name, _ in args.variants]
    client_s: dict[str, list[list[float]]] = {n: [[] for _ in range(args.rounds)] for n in names}
    app_s: dict[str, list[list[float]]] = {n: [[] for _ in range(args.rounds)] for n in names}
    rng = random.Random(SEED)
    with contextlib.ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        for name, env in args.variants:
            data = work / name
            shutil.copytree(built, data)
            server = Server(data, free_port(), work / f"{name}.log", {**base_env, **env})
            stack.enter_context(server)
            log(f"{name}: started in {server.start():.1f} s with {env or 'the defaults'}")
            headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
            clients[name] = stack.enter_context(
                httpx.Client(base_url=server.base_url, headers=headers, timeout=120.0)
            )
        for _ in range(args.warmup):
            path, body = request_for(rng, scopes, args.kind)
            for client in clients.values():
                client.post(path, json=body).raise_for_status()
        for round_ in range(args.rounds):
            for _ in range(args.per_round // args.block):
                requests = [request_for(rng, scopes, args.kind) for _ in range(args.block)]
                order = list(names)
                rng.shuffle(order)
                for name in order:
                    for path, body in requests:
                        time.sleep(args.gap_ms / 1000)
                        start = time.perf_counter()
                        response = clients[name].post(path, json=body)
                        client_s[name][round_].append(time.perf_counter() - start)
                        response.raise_for_status()
                        app_s[name][round_].append(app_seconds(response))
            log(f"round {round_ + 1}/{args.rounds} done")
    print(f"{args.kind} requests at {args.size:,}, gap {args.gap_ms} ms; p50 ms")
    for name in names:
        rounds = [statistics.median(r) * 1000 for r in client_s[name]]
        in_app = [statistics.median(r) * 1000 for r in app_s[name]]
        every = [x for r in client_s[name] for x in r]
        every_app = [x for r in app_s[name] for x in r]
        print(
            f"{name:>14}: {statistics.median(every) * 1000:.2f} "
            f"(app {statistics.median(every_app) * 1000:.2f}) | rounds "
            + " ".join(f"{x:.2f}" for x in rounds)
            + " | app "
            + " ".join(f"{x:.2f}" for x in in_app)
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as work:
        run(args, Path(work))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
