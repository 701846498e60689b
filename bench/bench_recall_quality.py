"""Recall quality per pseudonym mode: recall@3 on the labelled recall set, through the API.

The recall set (``tests/data/recall_set.json``: 40 memories, each with a paraphrased question,
plus distractors; 16 of the memories name a person, stored as a pseudonym) is written through
``POST /v1/memories/batch`` on a fresh embedded store per mode, then each question is searched
as written and in lower case. ``lookup`` is the default (word runs looked up as pseudonyms in the
index), ``ner`` the PII classifier reading every query. Not a test: ``tests/api/
test_recall_quality.py`` holds the floor; this prints the figures for both modes side by side.

Run: ``.venv/bin/python bench/bench_recall_quality.py``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from memory_service.app import build_embedder, build_pipeline, build_runtime, create_app
from memory_service.settings import Settings

REPO = Path(__file__).resolve().parent.parent
RECALL_SET = REPO / "tests" / "data" / "recall_set.json"
ADMIN_KEY = "msk_0123456789abcdef_benchrecallqualityadminkey"
TOP_K = 3


def store(client: TestClient[Any], headers: dict[str, str], contents: list[str]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(contents), 100):
        items = [{"content": c, "scope": "acme/recall"} for c in contents[start : start + 100]]
        response = client.post("/v1/memories/batch", json={"items": items}, headers=headers)
        response.raise_for_status()
        ids += [r["memory"]["id"] for r in response.json()["results"]]
    return ids


def main() -> int:
    data = json.loads(RECALL_SET.read_text())
    items = data["items"]
    embedder, pipeline = build_embedder(Settings()), build_pipeline(Settings())
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    print(f"recall@{TOP_K} over {len(items)} questions ({len(data['distractors'])} distractors)")
    for mode in ("lookup", "ner"):
        data_dir = Path(tempfile.mkdtemp(prefix="bench-recall-quality-"))
        settings = Settings(
            data_dir=data_dir,
            bootstrap_admin_key=ADMIN_KEY,
            query_pseudonyms=mode,
            scheduler_enabled=False,
        )
        runtime = build_runtime(settings, embedder=embedder, pipeline=pipeline)
        try:
            with TestClient(app=create_app(runtime=runtime)) as client:
                ids = store(client, headers, [i["memory"] for i in items] + data["distractors"])
                for spelling in ("as written", "lower case"):
                    hits, started = 0, time.perf_counter()
                    for memory_id, item in zip(ids, items, strict=False):
                        query = item["query"] if spelling == "as written" else item["query"].lower()
                        response = client.post(
                            "/v1/memories/search",
                            json={"query": query, "limit": TOP_K},
                            headers=headers,
                        )
                        hits += memory_id in [r["memory"]["id"] for r in response.json()["results"]]
                    per_search = (time.perf_counter() - started) / len(items) * 1000
                    print(
                        f"  {mode:>6} {spelling:>10}: {hits}/{len(items)} = {hits / len(items):.3f}"
                        f" ({per_search:.1f} ms per search, in-process)"
                    )
        finally:
            runtime.close()
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
