"""End-to-end fixtures: the real ``memory-service serve`` process, on a free port, over HTTP.

Every server is a subprocess of the test run with its own data dir (or a shared one, to test
restarts), stdout and stderr captured to files under ``tmp_path``; every process started here is
stopped in teardown (SIGTERM, then SIGKILL after a bounded wait).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from memory_service.client import MemoryClient
from memory_service.client.models import Grant

ADMIN_KEY = "msk_0000000000000000_testadminsecretvalue0000000000"
RW = ["memory:read", "memory:write", "memory:delete"]

READY_TIMEOUT_S = 90.0
SHARED_MODEL_CACHE = Path(__file__).resolve().parents[2] / "data" / "models"
STOP_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 30.0

# The root conftest sets these for in-process tests; a real server must not depend on them:
# the service has to make itself offline.
_OFFLINE_CRUTCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def server_command() -> list[str]:
    return [sys.executable, "-m", "memory_service.cli", "serve"]


def server_env(
    data_dir: Path, port: int, admin_key: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The process environment: ours without any MEMORY_* or offline flags, plus the settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MEMORY_") and k not in _OFFLINE_CRUTCHES
    }
    env |= {
        "MEMORY_DATA_DIR": str(data_dir),
        "MEMORY_HOST": "127.0.0.1",
        "MEMORY_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    if admin_key is not None:
        env["MEMORY_BOOTSTRAP_ADMIN_KEY"] = admin_key
    # The ONNX embedding files are built once per checkout (data/models, where the API tests'
    # embedder keeps them too) instead of once per fresh data dir, ~10 s each; a test of the
    # build itself passes its own MEMORY_EMBEDDING_CACHE_DIR in ``extra``.
    env["MEMORY_EMBEDDING_CACHE_DIR"] = str(SHARED_MODEL_CACHE)
    env |= dict(extra or {})
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Server:
    """One running ``memory-service serve`` process."""

    name: str
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    _files: list[IO[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = ADMIN_KEY, timeout: float = HTTP_TIMEOUT_S) -> httpx.Client:
        headers = auth(key) if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def logs(self) -> str:
        out = self.stdout_path.read_text(errors="replace")
        return f"--- {self.name} stdout ---\n{out}\n--- {self.name} stderr ---\n{self.stderr()}"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Graceful stop (SIGTERM); the exit code. Falls back to SIGKILL and fails if it hangs."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self._close_files()
                pytest.fail(f"{self.name} did not stop within {timeout}s of SIGTERM")
        self._close_files()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self._close_files()

    def _close_files(self) -> None:
        for handle in self._files:
            handle.close()
        self._files.clear()


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if not server.running():
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode} before it was "
                    f"ready\n{server.logs()}"
                )
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{server.name} not ready within {timeout}s\n{server.logs()}")


class ServerFactory:
    """Starts servers and remembers them, so that teardown stops every one."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._servers: list[Server] = []
        self._count = 0

    def start(
        self,
        data_dir: Path,
        *,
        name: str | None = None,
        admin_key: str | None = ADMIN_KEY,
        extra_env: Mapping[str, str] | None = None,
        ready_timeout: float = READY_TIMEOUT_S,
    ) -> Server:
        self._count += 1
        name = name or f"server{self._count}"
        last_error: Exception | None = None
        for attempt in range(3):  # the free port can be taken between probe and bind
            server = self._spawn(data_dir, f"{name}-{attempt}", admin_key, extra_env)
            try:
                _wait_ready(server, ready_timeout)
            except RuntimeError as exc:
                server.kill()
                if "address already in use" not in server.logs().lower():
                    raise
                last_error = exc
                continue
            except BaseException:
                server.kill()
                raise
            return server
        raise RuntimeError(f"could not start {name}") from last_error

    def _spawn(
        self,
        data_dir: Path,
        name: str,
        admin_key: str | None,
        extra_env: Mapping[str, str] | None,
    ) -> Server:
        port = free_port()
        self._log_dir.mkdir(parents=True, exist_ok=True)
        stdout_path = self._log_dir / f"{name}.stdout.log"
        stderr_path = self._log_dir / f"{name}.stderr.log"
        stdout = stdout_path.open("wb")
        stderr = stderr_path.open("wb")
        process = subprocess.Popen(
            server_command(),
            env=server_env(data_dir, port, admin_key, extra_env),
            cwd=self._log_dir,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # a ^C in the test run does not hit the server first
        )
        server = Server(name, data_dir, port, process, stdout_path, stderr_path, [stdout, stderr])
        self._servers.append(server)
        return server

    def close(self) -> None:
        for server in self._servers:
            if server.running():
                server.process.send_signal(signal.SIGTERM)
        for server in self._servers:
            try:
                server.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=STOP_TIMEOUT_S)
            server._close_files()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path / "logs")
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the tests of a module that do not need a fresh one."""
    base = tmp_path_factory.mktemp("e2e-server")
    factory = ServerFactory(base / "logs")
    try:
        yield factory.start(base / "data", name="module")
    finally:
        factory.close()


def create_key(server: Server, name: str, *grants: tuple[str, list[str]]) -> str:
    """A new key with these grants, made through our own typed client."""
    with MemoryClient(server.base_url, ADMIN_KEY) as admin:
        issued = admin.create_key(name, [Grant(scope=s, permissions=p) for s, p in grants])
    return issued.key


def store(client: httpx.Client, content: str, scope: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/memories", json={"content": content, "scope": scope, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "stored"
    memory: dict[str, Any] = body["memory"]
    return memory


def list_all(client: httpx.Client, page_size: int = 50, **params: str) -> list[dict[str, Any]]:
    """Every memory GET /v1/memories returns, following the cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        query: dict[str, Any] = {"limit": page_size, **params}
        if cursor:
            query["cursor"] = cursor
        response = client.get("/v1/memories", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= page_size
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    pytest.fail("GET /v1/memories never reached the end of its pages")


def search_ids(client: httpx.Client, query: str, **body: Any) -> list[str]:
    response = client.post("/v1/memories/search", json={"query": query, "limit": 100, **body})
    assert response.status_code == 200, response.text
    return [hit["memory"]["id"] for hit in response.json()["results"]]
