"""Erase a data subject on a running server, then find no trace: not over the API, and not in
any file under the data directory once the server has stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_KEY, RW, Server, ServerFactory, create_key

pytestmark = pytest.mark.e2e

SUBJECT = "subject-zed-4410"
SCOPE = "acme/crm"
# Distinctive words in every text of the subject: none may survive anywhere on disk.
MARKERS = ["marzipan-quokka-7731", "tangerine-axolotl-2093", "saffron-pangolin-5168"]
KEPT = "unrelated-wombat-1234"
SECRET = "aws_access_key_id=AKIAZWKRA4UZEPZ1QSSK"


def admin_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env["MEMORY_ADMIN_KEY"] = ADMIN_KEY
    return subprocess.run(
        [sys.executable, "-m", "memory_service.cli", "admin", "--url", server.base_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def files_containing(root: Path, needle: str) -> list[str]:
    raw = needle.encode()
    return [
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and raw in p.read_bytes()
    ]


def write(client: httpx.Client, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post("/v1/memories", json=body, headers=headers)
    assert response.status_code in {201, 202}, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_no_trace_over_api(
    admin: httpx.Client, first_id: str, second_id: str, quarantine_id: str
) -> None:
    for memory_id in (first_id, second_id):
        assert admin.get(f"/v1/memories/{memory_id}").status_code == 404
        assert admin.get(f"/v1/memories/{memory_id}/history").status_code == 404
        assert admin.post(f"/v1/memories/{memory_id}/restore", json={}).status_code == 404
    assert admin.get(f"/v1/quarantine/{quarantine_id}").status_code == 404
    listed = admin.get("/v1/memories", params={"subject": SUBJECT}).json()
    assert listed["items"] == []
    for marker in MARKERS:
        hits = admin.post("/v1/memories/search", json={"query": f"Zed {marker}"}).json()
        assert all(r["memory"]["subject"] != SUBJECT for r in hits["results"])
        assert marker not in str(hits)
    audit = admin.get("/v1/audit", params={"limit": 500}).json()
    assert SUBJECT not in str(audit)
    for marker in MARKERS:
        assert marker not in str(audit)


def test_erased_subject_leaves_no_trace(tmp_path: Path, servers: ServerFactory) -> None:
    data_dir = tmp_path / "data"
    server = servers.start(data_dir, name="erasure")
    agent = create_key(server, "crm-bot", (f"{SCOPE}/**", RW))
    with server.client(agent) as client:
        first = write(
            client,
            {"content": f"Zed orders {MARKERS[0]} every week", "scope": SCOPE, "subject": SUBJECT},
            **{"Idempotency-Key": "order-1"},
        )["memory"]
        for n in range(2):
            revised = client.patch(
                f"/v1/memories/{first['id']}",
                json={"content": f"Zed orders {MARKERS[0]} every {n + 2} weeks"},
            )
            assert revised.status_code == 200, revised.text
        second = write(
            client,
            {
                "content": f"Zed's dog is called {MARKERS[1]}",
                "scope": f"{SCOPE}/pets",
                "subject": SUBJECT,
            },
        )["memory"]
        assert client.delete(f"/v1/memories/{second['id']}").status_code == 204
        held = write(
            client,
            {
                "content": f"Zed pasted {SECRET} near {MARKERS[2]}",
                "scope": SCOPE,
                "subject": SUBJECT,
            },
        )
        assert held["status"] == "quarantined"
        kept = write(
            client, {"content": f"Another customer: {KEPT}", "scope": SCOPE, "subject": "other"}
        )
        assert kept["status"] == "stored"
    time.sleep(1.5)  # let the index sync: erasure must also remove flushed, indexed data

    erased = admin_cli(server, "erase", SUBJECT, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert "erased: 2 memories (5 versions), 1 quarantine items" in erased.stdout
    receipt_id = erased.stdout.strip().rsplit(" ", 1)[-1]
    assert "without --yes" not in erased.stdout
    refused = admin_cli(server, "erase", SUBJECT)
    assert refused.returncode == 2

    started = time.monotonic()
    with server.client() as admin:
        receipt = admin.get(f"/v1/receipts/{receipt_id}").json()
        while receipt["compacted_at"] is None and time.monotonic() - started < 60:
            time.sleep(0.2)
            receipt = admin.get(f"/v1/receipts/{receipt_id}").json()
        assert receipt["verified_at"] is not None
        assert receipt["compacted_at"] is not None, receipt
        assert receipt["counts"] == {"memories": 2, "versions": 5, "quarantine": 1}
        assert sorted(receipt["memory_ids"]) == sorted([first["id"], second["id"]])
        assert receipt["quarantine_ids"] == [held["quarantine_id"]]
        assert SUBJECT not in str(receipt)

        assert_no_trace_over_api(admin, first["id"], second["id"], held["quarantine_id"])
        # The same idempotency key now starts afresh instead of replaying the erased memory.
    with server.client(agent) as client:
        replay = client.post(
            "/v1/memories",
            json={"content": "a new order", "scope": SCOPE},
            headers={"Idempotency-Key": "order-1"},
        )
        assert replay.status_code == 201
        assert MARKERS[0] not in replay.text

    assert server.stop() in {0, -signal.SIGTERM}, server.logs()
    # The probe can see stored text: the memory that was not erased is on disk.
    assert files_containing(data_dir, KEPT), "probe failed: kept text not found on disk"
    for needle in [*MARKERS, SUBJECT]:
        assert files_containing(data_dir, needle) == [], needle
    for log in (server.stdout_path, server.stderr_path):
        text = log.read_text(errors="replace")
        for needle in [*MARKERS, SUBJECT, SECRET]:
            assert needle not in text, (log.name, needle)
