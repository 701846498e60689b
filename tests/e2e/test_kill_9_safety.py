"""SIGKILL mid-write: every acknowledged write survives, an in-flight one is all there or absent."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_KEY, Server, ServerFactory, list_all, search_ids

pytestmark = pytest.mark.e2e

WRITERS = 3
BATCH_EVERY = 4  # every 4th request of a writer is a batch
BATCH_SIZE = 5
# Acknowledged writes to wait for before each kill: different moments in the load.
KILL_AFTER = (40, 17, 29)
WAIT_S = 60.0


@dataclass
class WriteLoad:
    """Writer threads posting memories until the server dies; they record what was acknowledged."""

    base_url: str
    scope: str
    round_no: int
    acked: dict[str, str] = field(default_factory=dict)  # id -> content
    attempted: set[str] = field(default_factory=set)  # every content ever sent
    unexpected: list[str] = field(default_factory=list)
    in_flight: int = 0
    requests_sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for writer in range(WRITERS):
            thread = threading.Thread(target=self._run, args=(writer,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=WAIT_S)
            assert not thread.is_alive(), "a writer thread did not stop"

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def _run(self, writer: int) -> None:
        try:
            with httpx.Client(
                base_url=self.base_url,
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=WAIT_S,
            ) as client:
                n = 0
                while not self._stop.is_set():
                    n += 1
                    tag = f"r{self.round_no}-w{writer}-n{n}"
                    if n % BATCH_EVERY == 0:
                        contents = [
                            f"crash test note {tag} item {i} about harbour logistics"
                            for i in range(BATCH_SIZE)
                        ]
                    else:
                        contents = [f"crash test note {tag} about harbour logistics"]
                    if not self._send(client, contents):
                        return
        except Exception as exc:  # a thread must not die silently: the test checks this list
            with self._lock:
                self.unexpected.append(f"writer {writer}: {exc!r}")

    def _send(self, client: httpx.Client, contents: list[str]) -> bool:
        """Send one write; False once the server is gone."""
        with self._lock:
            self.attempted.update(contents)
            self.in_flight += 1
            self.requests_sent += 1
        try:
            if len(contents) == 1:
                response = client.post(
                    "/v1/memories", json={"content": contents[0], "scope": self.scope}
                )
            else:
                response = client.post(
                    "/v1/memories/batch",
                    json={"items": [{"content": c, "scope": self.scope} for c in contents]},
                )
        except httpx.TransportError:
            return False  # killed: this write was in flight, never acknowledged
        finally:
            with self._lock:
                self.in_flight -= 1
        acked = self._acknowledged(response, contents)
        with self._lock:
            self.acked.update(acked)
        return True

    def _acknowledged(self, response: httpx.Response, contents: list[str]) -> dict[str, str]:
        body: dict[str, Any] = response.json()
        if len(contents) == 1 and response.status_code == 201:
            memory = body["memory"]
            assert memory["content"] == contents[0]
            return {memory["id"]: contents[0]}
        if len(contents) > 1 and response.status_code == 200:
            results = body["results"]
            assert len(results) == len(contents)
            assert all(r["status"] == "stored" for r in results)
            assert [r["memory"]["content"] for r in results] == contents
            return {r["memory"]["id"]: r["memory"]["content"] for r in results}
        with self._lock:
            self.unexpected.append(f"{response.status_code}: {response.text[:200]}")
        return {}


def _wait_until(condition: Any, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


def _check_acknowledged(server: Server, acked: dict[str, tuple[str, str]], *, search: bool) -> None:
    """Every acknowledged write reads back exactly, and with ``search`` is found by its text.

    Searching is the slow part (one embedding each): the restarts between kills only read, the
    final restart (after every kill) also searches for everything.
    """
    with server.client() as client:
        for memory_id, (scope, content) in acked.items():
            got = client.get(f"/v1/memories/{memory_id}")
            assert got.status_code == 200, f"acknowledged {memory_id} lost: {got.text}"
            assert got.json()["content"] == content
            assert got.json()["scope"] == scope
            if search:
                found = search_ids(client, content, scopes=[scope])
                assert memory_id in found, f"acknowledged {memory_id} not found by its content"


def _control_store_heads(data_dir: Path) -> set[str]:
    uri = f"file:{data_dir / 'control.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute("SELECT id FROM memories WHERE deleted = 0").fetchall()
        unindexed = db.execute(
            "SELECT count(*) FROM memories WHERE indexed_version < version"
        ).fetchone()[0]
    assert unindexed == 0, f"{unindexed} heads were never indexed although the server restarted"
    return {row[0] for row in rows}


def test_kill_9_safety(tmp_path: Path, servers: ServerFactory) -> None:
    data_dir = tmp_path / "data"
    acked: dict[str, tuple[str, str]] = {}  # id -> (scope, content)
    attempted: dict[str, str] = {}  # content -> scope
    for round_no, kill_after in enumerate(KILL_AFTER):
        server = servers.start(data_dir, name=f"round{round_no}")
        _check_acknowledged(server, acked, search=False)
        scope = f"crash/round{round_no}"
        load = WriteLoad(server.base_url, scope, round_no)
        load.start()
        try:
            _wait_until(lambda: load.acked_count() >= kill_after, f"{kill_after} acknowledged")  # noqa: B023
            # Only kill while at least one write is on its way.
            _wait_until(lambda: load.in_flight > 0, "a write in flight")  # noqa: B023
            server.kill()
        finally:
            load.stop()
        assert not load.unexpected, load.unexpected
        acked |= {memory_id: (scope, content) for memory_id, content in load.acked.items()}
        attempted |= dict.fromkeys(load.attempted, scope)
        assert len(load.attempted) > len(load.acked), "nothing was in flight at the kill"

    final = servers.start(data_dir, name="final")
    _check_acknowledged(final, acked, search=True)
    with final.client() as client:
        listed = list_all(client, page_size=100)
        listed_ids = {m["id"] for m in listed}
        assert len(listed_ids) == len(listed)
        assert set(acked) <= listed_ids
        # Writes that were in flight and made it are whole: their exact text, readable, found.
        for memory in listed:
            if memory["id"] in acked:
                continue
            assert memory["content"] in attempted, memory
            assert memory["scope"] == attempted[memory["content"]]
            assert memory["version"] == 1
            got = client.get(f"/v1/memories/{memory['id']}")
            assert got.status_code == 200
            assert got.json() == memory
            assert memory["id"] in search_ids(client, memory["content"], scopes=[memory["scope"]])
        # Each attempted text was stored at most once (no replay of an in-flight write).
        contents = [m["content"] for m in listed]
        assert len(contents) == len(set(contents))
    final.stop()
    assert _control_store_heads(data_dir) == listed_ids
