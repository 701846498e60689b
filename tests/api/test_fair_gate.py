"""One key's heavy writes cannot stall another key's: the classification queue takes turns.

(The latency figures are for ``bench/bench_fairness.py``; this checks the property a tenant
relies on: its writes are stored, not held or refused, while another key floods the gate.)
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from classifiers.pipeline import ClassificationPipeline
from memory_service.app import Runtime, build_runtime, create_app
from memory_service.domain.ports import Embedder
from memory_service.settings import Settings
from tests.api.conftest import ADMIN_KEY, RW, auth, make_key

# Token-dense text is the classifiers' slowest input; this many items keep one worker busy
# for several timeouts' worth on this machine (seconds; each item is a turn of its own).
ATTACK_ITEMS = 10
ATTACK_CHARS = 12_000
VICTIM_WRITES = 6


def _dense(rng: random.Random, chars: int) -> str:
    alphabet = string.ascii_letters + string.digits + "+/=_-"
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append("".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40))))
    return " ".join(words)[:chars]


@pytest.fixture
def runtime(
    tmp_path: Path, embedder: Embedder, pipeline: ClassificationPipeline
) -> Iterator[Runtime]:
    # A short per-write timeout: a victim that had to wait behind the attack would fail it.
    settings = Settings(
        data_dir=tmp_path / "data", bootstrap_admin_key=ADMIN_KEY, classify_timeout_seconds=1.0
    )
    rt = build_runtime(settings, embedder=embedder, pipeline=pipeline)
    yield rt
    rt.close()


def test_a_flooding_key_does_not_hold_or_refuse_another_keys_writes(runtime: Runtime) -> None:
    rng = random.Random(7)  # noqa: S311 - filler text, not a secret
    attack = {
        "items": [
            {"content": _dense(rng, ATTACK_CHARS), "scope": "evil/x"} for _ in range(ATTACK_ITEMS)
        ]
    }
    with TestClient(app=create_app(runtime=runtime)) as client:
        attacker_key = make_key(client, "attacker", ("evil/**", RW))
        victim = auth(make_key(client, "victim", ("acme/**", RW)))
        attacker_id = next(
            k["id"]
            for k in client.get("/v1/keys", headers=auth(ADMIN_KEY)).json()["items"]
            if k["name"] == "attacker"
        )
        answered: list[Any] = []

        def flood() -> None:
            answered.append(
                client.post("/v1/memories/batch", json=attack, headers=auth(attacker_key))
            )

        flooding = threading.Thread(target=flood)
        flooding.start()
        try:
            # Wait until the attack is in the queue, then write as the other tenant.
            while runtime.gate.waiting(attacker_id) == 0 and not answered:
                flooding.join(0.01)
            statuses = []
            still_queued = []
            for i in range(VICTIM_WRITES):
                body = {"content": f"Deploys freeze on Fridays, note {i}", "scope": "acme/ops"}
                statuses.append(client.post("/v1/memories", json=body, headers=victim).status_code)
                still_queued.append(runtime.gate.waiting(attacker_id))
        finally:
            flooding.join()
    assert statuses == [201] * VICTIM_WRITES
    # The victim's writes did not wait for the attack to drain: it was still queued after each.
    assert all(n > 0 for n in still_queued), still_queued
    # The attacker got an answer too: its batch classified in its turns (200), or refused
    # whole if they ran out of time (503); never a 202 that would hold its unread text.
    assert answered[0].status_code in {200, 503}
