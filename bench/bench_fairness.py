"""One key floods the gate, another writes: how much slower are the other key's writes?

A started ``memory-service serve`` (the embedded default, or with the environment given by
``--env``). The victim key writes ``--writes`` clean single memories on a quiet server, then
again while the attacker key sends maximum-size batches of token-dense text (the classifiers'
slowest input: ``--items`` items of ``--chars`` characters, as large as the body limit allows)
in a loop from ``--attackers`` threads. Reports the victim's p50 / p95 in both phases, their
ratio, the victim's statuses (every one should be 201) and what the attacker got.

Run: ``.venv/bin/python bench/bench_fairness.py [--writes 200] [--env MEMORY_CLASSIFY_WORKERS=2]``.
Writes ``bench/results/fairness.json``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import httpx
from bench_core import ADMIN_KEY, REPO, Server, free_port, log, memory_text, summary

SEED = 20261207


def dense_text(rng: random.Random, chars: int) -> str:
    """Token-dense filler: random base64-like words, the slowest input for the NER."""
    alphabet = string.ascii_letters + string.digits + "+/=_-"
    words: list[str] = []
    size = 0
    while size < chars:
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40)))
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:chars]


def make_key(base_url: str, name: str, scope: str) -> str:
    body = {
        "name": name,
        "grants": [{"scope": scope, "permissions": ["memory:read", "memory:write"]}],
    }
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        response = c.post("/v1/keys", json=body)
        response.raise_for_status()
        key: str = response.json()["key"]
        return key


def victim_writes(base_url: str, key: str, count: int, rng: random.Random) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120.0
    ) as http:
        for _ in range(count):
            content, tag = memory_text(rng)
            body = {"content": content, "scope": "acme/ops", "tags": [tag]}
            start = time.perf_counter()
            response = http.post("/v1/memories", json=body)
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] += 1
    return summary(latencies, statuses={str(k): v for k, v in sorted(statuses.items())})


class Flood:
    """Threads that send maximum-size adversarial batches until stopped."""

    def __init__(self, base_url: str, key: str, threads: int, body: dict[str, Any]) -> None:
        self._stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.batches_s: list[float] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(base_url, key, body), daemon=True)
            for _ in range(threads)
        ]

    def _loop(self, base_url: str, key: str, body: dict[str, Any]) -> None:
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=900.0
        ) as http:
            while not self._stop.is_set():
                start = time.perf_counter()
                response = http.post("/v1/memories/batch", json=body)
                with self._lock:
                    self.statuses[response.status_code] += 1
                    self.batches_s.append(time.perf_counter() - start)

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    env = dict(pair.split("=", 1) for pair in args.env)
    attack = {
        "items": [
            {"content": dense_text(rng, args.chars), "scope": "evil/x"} for _ in range(args.items)
        ]
    }
    log(f"attack batch: {len(json.dumps(attack)):,} bytes")
    with Server(work / "data", free_port(), work / "server.log", env) as server:
        log(f"server ready in {server.start():.1f} s with {env or 'the defaults'}")
        victim = make_key(server.base_url, "victim", "acme/**")
        attacker = make_key(server.base_url, "attacker", "evil/**")
        victim_writes(server.base_url, victim, args.warmup, rng)
        quiet = victim_writes(server.base_url, victim, args.writes, rng)
        log(f"quiet: p50 {quiet['p50_ms']} ms, p95 {quiet['p95_ms']} ms")
        with Flood(server.base_url, attacker, args.attackers, attack) as flood:
            time.sleep(args.lead_s)  # the attack fills the queue first
            loaded = victim_writes(server.base_url, victim, args.writes, rng)
        log(f"attacked: p50 {loaded['p50_ms']} ms, p95 {loaded['p95_ms']} ms")
    return {
        "env": env,
        "attack": {
            "items": args.items,
            "chars": args.chars,
            "threads": args.attackers,
            "statuses": {str(k): v for k, v in sorted(flood.statuses.items())},
            "batch_s": summary(flood.batches_s) if flood.batches_s else None,
        },
        "quiet": quiet,
        "attacked": loaded,
        "p50_ratio": round(loaded["p50_ms"] / quiet["p50_ms"], 2),
        "p95_ratio": round(loaded["p95_ms"] / quiet["p95_ms"], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200, help="timed victim writes per phase")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--items", type=int, default=100, help="items per attack batch")
    parser.add_argument("--chars", type=int, default=20_000, help="characters per attack item")
    parser.add_argument("--attackers", type=int, default=2, help="attacker threads")
    parser.add_argument("--lead-s", type=float, default=2.0)
    parser.add_argument("--env", nargs="*", default=[], metavar="VAR=VALUE")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fairness.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-fair-") as work:
        result = run(args, Path(work))
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
