"""The service runs with no network at all: only loopback exists in its network namespace."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_KEY, READY_TIMEOUT_S, server_command, server_env

pytestmark = pytest.mark.e2e

# Runs inside the namespace: starts the server, proves there is no route out, stores, searches.
CLIENT_SCRIPT = textwrap.dedent(
    """
    import json
    import socket
    import subprocess
    import sys
    import time

    import httpx

    command, env, port, key, log_path, timeout = json.loads(sys.argv[1])

    def fail(message):
        print("FAIL:", message, file=sys.stderr)
        return 1

    def main():
        interfaces = sorted(name for _, name in socket.if_nameindex())
        if interfaces != ["lo"]:
            return fail(f"expected only loopback in the namespace, found {interfaces}")
        try:
            socket.create_connection(("1.1.1.1", 443), timeout=2).close()
        except OSError:
            pass
        else:
            return fail("the namespace reaches the outside network; the test proves nothing")
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
            try:
                return exercise(server, port, key, timeout)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=20)

    def exercise(server, port, key, timeout):
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None:
                    return fail(f"server exited with {server.returncode} before ready")
                if time.monotonic() > deadline:
                    return fail("server not ready in time")
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            text = "the lighthouse keeper logs the weather at dawn"
            stored = client.post("/v1/memories", json={"content": text, "scope": "offline/e2e"})
            if stored.status_code != 201:
                return fail(f"store: {stored.status_code} {stored.text}")
            memory_id = stored.json()["memory"]["id"]
            found = client.post("/v1/memories/search", json={"query": "weather at dawn"})
            if found.status_code != 200:
                return fail(f"search: {found.status_code} {found.text}")
            ids = [hit["memory"]["id"] for hit in found.json()["results"]]
            if ids[:1] != [memory_id]:
                return fail(f"search did not find the memory: {ids}")
        print("OK")
        return 0

    sys.exit(main())
    """
)


def test_no_network_at_run_time(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if unshare is None or ip is None:
        pytest.fail("this test needs `unshare` (util-linux) and `ip` (iproute2) on PATH")
    probe = subprocess.run(
        [unshare, "-n", "true"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        pytest.fail(
            "`unshare -n` failed (it needs root or CAP_SYS_ADMIN); this test must run where a "
            f"network namespace can be created: {probe.stderr.strip()}"
        )
    script = tmp_path / "offline_client.py"
    script.write_text(CLIENT_SCRIPT)
    port = 8765  # the namespace is fresh: nothing else listens there
    env = server_env(tmp_path / "data", port, ADMIN_KEY)
    log_path = tmp_path / "server.log"
    args = [server_command(), env, port, ADMIN_KEY, str(log_path), READY_TIMEOUT_S]
    python = shlex.join([sys.executable, str(script)])
    inner = f'{shlex.quote(ip)} link set lo up && exec {python} "$0"'
    # --pid --fork --kill-child: whatever happens, nothing started in there outlives the test.
    result = subprocess.run(
        [unshare, "--net", "--pid", "--fork", "--kill-child", "sh", "-c", inner, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT_S + 60,
        check=False,
    )
    server_log = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
    assert result.returncode == 0, (
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nserver log:\n{server_log}"
    )
    assert result.stdout.strip() == "OK"
