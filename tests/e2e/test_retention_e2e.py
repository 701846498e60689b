"""Retention on a running server with short schedules: a memory past its TTL is invisible at
once, the scheduled job then purges it; the trash is restorable until its job runs."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RW, ServerFactory, create_key

pytestmark = pytest.mark.e2e

SCHEDULES = {"purge_expired": "every 6s", "empty_trash": "every 6s", "enforce_policies": "every 6s"}


def rows_for(data_dir: Path, memory_id: str) -> int:
    uri = f"file:{data_dir / 'control.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        count: int = db.execute(
            "SELECT count(*) FROM memory_versions WHERE memory_id = ?", (memory_id,)
        ).fetchone()[0]
    return count


def wait_for_run(admin: httpx.Client, job: str, key: str, timeout: float = 30) -> dict[str, Any]:
    """The first recorded run of ``job`` that counted something under ``key``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = admin.get("/v1/jobs/runs", params={"name": job}).json()["items"]
        for run in runs:
            if run["status"] == "ok" and run["counts"].get(key, 0) > 0:
                return run
        time.sleep(0.5)
    raise AssertionError(f"no run of {job} purged anything within {timeout}s")


def test_ttl_and_trash_on_schedule(tmp_path: Path, servers: ServerFactory) -> None:
    data_dir = tmp_path / "data"
    server = servers.start(
        data_dir,
        name="retention",
        extra_env={"MEMORY_JOB_SCHEDULES": json.dumps(SCHEDULES)},
    )
    agent = create_key(server, "agent", ("acme/**", RW))
    with server.client() as admin, server.client(agent) as client:
        jobs = {j["name"]: j for j in admin.get("/v1/jobs").json()["items"]}
        assert jobs["purge_expired"]["schedule"] == "every 6s"
        policy = {"scope": "acme/**", "applies_to": "deleted", "max_age_seconds": 2}
        assert admin.put("/v1/retention/policies/trash", json=policy).status_code == 200

        brief = client.post(
            "/v1/memories", json={"content": "brief", "scope": "acme", "ttl_seconds": 1}
        ).json()["memory"]
        binned = client.post("/v1/memories", json={"content": "binned", "scope": "acme"}).json()[
            "memory"
        ]
        assert client.delete(f"/v1/memories/{binned['id']}").status_code == 204
        time.sleep(1.3)
        # Invisible at once, while its rows are still there: no job has run yet.
        assert client.get(f"/v1/memories/{brief['id']}").status_code == 404
        assert rows_for(data_dir, brief["id"]) == 1
        restored = client.post(f"/v1/memories/{binned['id']}/restore", json={})
        assert restored.status_code == 200, "restorable until the trash job runs"
        assert client.delete(f"/v1/memories/{binned['id']}").status_code == 204

        wait_for_run(admin, "purge_expired", "purged")
        assert rows_for(data_dir, brief["id"]) == 0
        wait_for_run(admin, "empty_trash", "purged")
        assert client.post(f"/v1/memories/{binned['id']}/restore", json={}).status_code == 404
        assert rows_for(data_dir, binned["id"]) == 0

        runs = admin.get("/v1/jobs/runs", params={"limit": 20}).json()["items"]
        assert all(r["status"] in {"ok", "running"} for r in runs), runs
        listing = "\n".join(
            f"{r['started_at'][11:19]} {r['job']:16} {r['status']:7} {r['counts']}" for r in runs
        )
        print("\njob runs (newest first):\n" + listing)  # noqa: T201 - shown with -s for the note
