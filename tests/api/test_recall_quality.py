"""Recall survives paraphrase and pseudonymisation: names in the set are stored as pseudonyms,
and the queries name the same people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.api.conftest import RW, auth, make_key

RECALL_SET = Path(__file__).parent.parent / "data" / "recall_set.json"
TOP_K = 3
FLOOR = 0.85


def test_paraphrased_queries_find_their_memory_in_the_top_3(client: TestClient[Any]) -> None:
    data = json.loads(RECALL_SET.read_text())
    headers = auth(make_key(client, "recall", ("acme/**", RW)))
    contents = [item["memory"] for item in data["items"]] + data["distractors"]
    ids: list[str] = []
    for start in range(0, len(contents), 100):
        batch = [{"content": c, "scope": "acme/recall"} for c in contents[start : start + 100]]
        response = client.post("/v1/memories/batch", json={"items": batch}, headers=headers)
        assert response.status_code == 200
        ids += [r["memory"]["id"] for r in response.json()["results"]]
    hits = 0
    for memory_id, item in zip(ids, data["items"], strict=False):
        response = client.post(
            "/v1/memories/search", json={"query": item["query"], "limit": TOP_K}, headers=headers
        )
        top = [r["memory"]["id"] for r in response.json()["results"]]
        hits += memory_id in top
    rate = hits / len(data["items"])
    assert rate >= FLOOR, f"paraphrase recall@{TOP_K} is {rate:.2f}, floor {FLOOR}"
