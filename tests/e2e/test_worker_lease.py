"""Two `memory-service worker` processes on one PostgreSQL: each job runs on one only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import create_engine, text

from memory_service.storage.sql import normalise_url
from tests.conftest import reset_postgres
from tests.e2e.conftest import ADMIN_KEY

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EVERY_SECOND = dict.fromkeys(
    (
        "purge_expired",
        "enforce_policies",
        "empty_trash",
        "drop_quarantine",
        "reconcile",
        "compact",
        "audit_trim",
    ),
    "every 1s",
)


def start_worker(
    data_dir: Path, database_url: str, log: Path, files: list[IO[bytes]]
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env |= {
        "MEMORY_DATA_DIR": str(data_dir),
        "MEMORY_DATABASE_URL": database_url,
        "MEMORY_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "MEMORY_JOB_SCHEDULES": json.dumps(EVERY_SECOND),
        # Longer than the test: whoever takes a lease first keeps it throughout.
        "MEMORY_JOB_LEASE_SECONDS": "120",
        "MEMORY_AUDIT_KEY": "k1:" + "A" * 43,
        "MEMORY_ENCRYPTION_KEY": "k1:" + "B" * 43,
        "MEMORY_PSEUDONYM_KEY": "k1:" + "C" * 43,
    }
    files.append(log.open("wb"))
    return subprocess.Popen(
        [sys.executable, "-m", "memory_service.cli", "worker"],
        env=env,
        stdout=files[-1],
        stderr=subprocess.STDOUT,
    )


def wait_started(process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "worker started" in log.read_text(errors="replace"):
            return
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError("worker did not start\n" + log.read_text(errors="replace"))


def test_only_one_worker_runs_each_job(tmp_path: Path, postgres_url: str) -> None:
    reset_postgres(postgres_url)
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    files: list[IO[bytes]] = []
    first = start_worker(tmp_path / "w1", postgres_url, logs[0], files)
    workers = [first]
    try:
        wait_started(first, logs[0])
        second = start_worker(tmp_path / "w2", postgres_url, logs[1], files)
        workers.append(second)
        wait_started(second, logs[1])
        time.sleep(6)  # both schedulers fire every job every second
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        for handle in files:
            handle.close()
    engine = create_engine(normalise_url(postgres_url))
    try:
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT job, holder, status FROM job_runs")).all()
    finally:
        engine.dispose()
    by_job: dict[str, set[str]] = {}
    for job, holder, _ in runs:
        by_job.setdefault(job, set()).add(holder)
    assert set(by_job) == set(EVERY_SECOND), by_job
    for job, holders in by_job.items():
        assert len(holders) == 1, (job, holders)
        # The first worker took every lease and kept it: the second never ran a job.
        assert holders.pop().split(":")[1] == str(first.pid), job
    per_job = {job: sum(1 for j, _, _ in runs if j == job) for job in by_job}
    assert min(per_job.values()) >= 2, per_job
    assert {status for _, _, status in runs} <= {"ok", "running"}, runs
