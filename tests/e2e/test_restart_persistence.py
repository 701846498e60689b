"""A graceful stop and a new process on the same data dir: everything is as it was."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    ADMIN_KEY,
    RW,
    ServerFactory,
    create_key,
    list_all,
    search_ids,
    store,
)

pytestmark = pytest.mark.e2e

SCOPE = "acme/persist"


def _snapshot(client: httpx.Client, ids: list[str]) -> dict[str, Any]:
    """What a client can observe of ``ids``: each memory (or its status), history and listing."""
    memories: dict[str, Any] = {}
    histories: dict[str, Any] = {}
    for memory_id in ids:
        got = client.get(f"/v1/memories/{memory_id}")
        memories[memory_id] = got.json() if got.status_code == 200 else got.status_code
        history = client.get(f"/v1/memories/{memory_id}/history")
        assert history.status_code == 200, history.text
        histories[memory_id] = history.json()["items"]
    listed = {m["id"]: m for m in list_all(client, page_size=2)}
    return {"memories": memories, "histories": histories, "listed": listed}


def test_restart_persistence(tmp_path: Path, servers: ServerFactory) -> None:
    data_dir = tmp_path / "data"
    first = servers.start(data_dir, name="before")
    agent_key = create_key(first, "persist-bot", (f"{SCOPE}/**", RW))
    contents = [
        "the office plant needs water on mondays",
        "our standup moved to ten thirty",
        "the printer on floor two jams with glossy paper",
        "customer prefers email over phone calls",
        "the release train leaves every second thursday",
    ]
    with first.client(agent_key) as client:
        ids = [
            store(
                client,
                text,
                f"{SCOPE}/team{i % 2}",
                tags=["fact", f"t{i}"],
                subject=f"subject-{i}",
                metadata={"n": i, "kind": "note"},
                source={"tool": "e2e"},
            )["id"]
            for i, text in enumerate(contents)
        ]
        patched_id, deleted_id = ids[1], ids[3]
        patched = client.patch(
            f"/v1/memories/{patched_id}",
            json={"content": "our standup moved to eleven sharp", "tags": ["fact", "moved"]},
            headers={"If-Match": "1"},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["version"] == 2
        assert client.delete(f"/v1/memories/{deleted_id}").status_code == 204
        assert client.get(f"/v1/memories/{deleted_id}").status_code == 404
        before = _snapshot(client, ids)
    assert set(before["listed"]) == set(ids) - {deleted_id}
    assert before["memories"][deleted_id] == 404
    assert [v["op"] for v in before["histories"][patched_id]] == ["create", "update"]
    assert [v["op"] for v in before["histories"][deleted_id]] == ["create", "delete"]

    # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
    assert first.stop() in {0, -signal.SIGTERM}, first.logs()
    assert "Application shutdown complete" in first.logs()
    assert "Traceback" not in first.logs()

    second = servers.start(data_dir, name="after")
    with second.client(agent_key) as client, second.client(ADMIN_KEY) as admin:
        # The bootstrap key and a key issued at run time both still authenticate.
        keys = admin.get("/v1/keys")
        assert keys.status_code == 200, keys.text
        assert "persist-bot" in {k["name"] for k in keys.json()["items"]}
        after = _snapshot(client, ids)
        assert after == before

        assert after["memories"][patched_id]["content"] == "our standup moved to eleven sharp"
        assert after["memories"][patched_id]["version"] == 2
        for memory_id in set(ids) - {deleted_id}:
            content = after["memories"][memory_id]["content"]
            assert search_ids(client, content, scopes=[f"{SCOPE}/**"])[0] == memory_id
            filtered = search_ids(
                client, content, filters={"subject": after["memories"][memory_id]["subject"]}
            )
            assert filtered == [memory_id]
        # The old text of the patched memory is no longer what it says.
        assert all(
            hit["memory"]["content"] != contents[1]
            for hit in client.post(
                "/v1/memories/search", json={"query": contents[1], "limit": 100}
            ).json()["results"]
        )
        assert deleted_id not in search_ids(client, contents[3])
        assert client.get(f"/v1/memories/{deleted_id}").status_code == 404

        restored = client.post(f"/v1/memories/{deleted_id}/restore", json={})
        assert restored.status_code == 200, restored.text
        body = restored.json()
        assert body["id"] == deleted_id
        assert body["content"] == contents[3]
        assert body["version"] == 3
        assert body["tags"] == ["fact", "t3"]
        assert client.get(f"/v1/memories/{deleted_id}").json()["content"] == contents[3]
        assert search_ids(client, contents[3])[0] == deleted_id
        history = client.get(f"/v1/memories/{deleted_id}/history").json()["items"]
        assert [v["op"] for v in history] == ["create", "delete", "restore"]
        assert {m["id"] for m in list_all(client)} == set(ids)

        # And the service still takes writes after the restart.
        fresh = store(client, "a note written after the restart", SCOPE)
        assert search_ids(client, "a note written after the restart")[0] == fresh["id"]
