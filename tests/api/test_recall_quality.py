"""Recall survives paraphrase: a labelled set, stored through the API, searched by meaning."""

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
    for start in range(0, len(contents), 100):
        batch = [{"content": c, "scope": "acme/recall"} for c in contents[start : start + 100]]
        response = client.post("/v1/memories/batch", json={"items": batch}, headers=headers)
        assert response.status_code == 200
    hits = 0
    for item in data["items"]:
        response = client.post(
            "/v1/memories/search", json={"query": item["query"], "limit": TOP_K}, headers=headers
        )
        top = [r["memory"]["content"] for r in response.json()["results"]]
        hits += item["memory"] in top
    rate = hits / len(data["items"])
    assert rate >= FLOOR, f"paraphrase recall@{TOP_K} is {rate:.2f}, floor {FLOOR}"
