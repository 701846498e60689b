from __future__ import annotations

import threading
from datetime import datetime, timedelta
from uuid import uuid4

from retention.jobs import Job, JobRunner, Schedule, lease_name
from retention.runs import JobRun
from tests.unit.retention.fakes import T0, FakeLeaseStore, FakeRunLog, ManualClock

TTL = timedelta(minutes=5)
EVERY_MINUTE = Schedule(interval_seconds=60)


def counting_job(calls: list[datetime], name: str = "purge_expired") -> Job:
    def run(now: datetime) -> dict[str, int]:
        calls.append(now)
        return {"scanned": 3, "purged": 2}

    return Job(name, EVERY_MINUTE, run)


def runner(leases: FakeLeaseStore, runs: FakeRunLog, holder: str, clock: ManualClock) -> JobRunner:
    return JobRunner(leases, runs, holder=holder, clock=clock, lease_ttl=TTL)


def test_counts_and_times_are_recorded() -> None:
    clock, runs, calls = ManualClock(), FakeRunLog(), []
    run = runner(FakeLeaseStore(), runs, "worker-a", clock).run(counting_job(calls))
    assert run.status == "ok"
    assert run.counts == {"scanned": 3, "purged": 2}
    assert (run.started_at, run.finished_at, run.holder, run.error) == (T0, T0, "worker-a", None)
    assert calls == [T0]
    assert runs.runs == {run.id: run}


def test_only_the_lease_holder_runs() -> None:
    clock, leases, runs, calls = ManualClock(), FakeLeaseStore(), FakeRunLog(), []
    job = counting_job(calls)
    first = runner(leases, runs, "worker-a", clock).run(job)
    second = runner(leases, runs, "worker-b", clock).run(job)
    assert (first.status, second.status) == ("ok", "skipped")
    assert len(calls) == 1
    assert list(runs.runs) == [first.id]  # a skip is never stored


def test_the_holder_keeps_running_while_its_lease_is_fresh() -> None:
    clock, leases, runs, calls = ManualClock(), FakeLeaseStore(), FakeRunLog(), []
    job = counting_job(calls)
    a, b = runner(leases, runs, "worker-a", clock), runner(leases, runs, "worker-b", clock)
    a.run(job)
    clock.advance(timedelta(minutes=1))
    assert b.run(job).status == "skipped"
    assert a.run(job).status == "ok"
    assert len(calls) == 2


def test_an_expired_lease_is_taken_over() -> None:
    clock, leases, runs, calls = ManualClock(), FakeLeaseStore(), FakeRunLog(), []
    job = counting_job(calls)
    runner(leases, runs, "crashed", clock).run(job)
    clock.advance(TTL - timedelta(seconds=1))
    assert runner(leases, runs, "worker-b", clock).run(job).status == "skipped"
    clock.advance(timedelta(seconds=1))
    taken = runner(leases, runs, "worker-b", clock).run(job)
    assert (taken.status, taken.holder) == ("ok", "worker-b")
    assert len(calls) == 2


def test_released_lease_is_free_at_once() -> None:
    clock, leases, runs, calls = ManualClock(), FakeLeaseStore(), FakeRunLog(), []
    job = counting_job(calls)
    a = runner(leases, runs, "worker-a", clock)
    a.run(job)
    a.release(job.name)
    assert runner(leases, runs, "worker-b", clock).run(job).status == "ok"


def test_failure_is_recorded_without_the_message() -> None:
    clock, runs = ManualClock(), FakeRunLog()

    def explode(now: datetime) -> dict[str, int]:
        raise RuntimeError("row content: my password is hunter2")

    run = runner(FakeLeaseStore(), runs, "worker-a", clock).run(Job("boom", EVERY_MINUTE, explode))
    assert run.status == "failed"
    assert run.error is not None
    assert run.error.startswith("RuntimeError: ")
    assert "hunter2" not in run.error
    assert run.counts == {}
    assert runs.runs[run.id] == run


def test_a_crashed_run_left_running_is_closed_by_the_next_holder() -> None:
    clock, leases, runs, calls = ManualClock(), FakeLeaseStore(), FakeRunLog(), []
    job = counting_job(calls)
    # A holder killed mid-run: its lease and its "running" record stay behind.
    leases.acquire(lease_name(job.name), "crashed", ttl=TTL, now=clock())
    left = JobRun(uuid4(), job.name, "crashed", clock())
    runs.start_run(left)
    clock.advance(TTL)
    fresh = runner(leases, runs, "worker-b", clock).run(job)
    assert fresh.status == "ok"
    closed = runs.runs[left.id]
    assert (closed.status, closed.finished_at) == ("failed", clock())
    assert closed.error is not None
    assert closed.error.startswith("Interrupted")


def test_the_lease_is_renewed_while_a_long_job_runs() -> None:
    clock, leases, runs = ManualClock(), FakeLeaseStore(), FakeRunLog()

    def long_job(now: datetime) -> dict[str, int]:
        assert leases.renewed.wait(timeout=5)
        return {"purged": 1}

    worker = JobRunner(leases, runs, holder="a", clock=clock, lease_ttl=TTL, renew_every=0.01)
    run = worker.run(Job("long", EVERY_MINUTE, long_job))
    assert run.status == "ok"
    assert leases.renewals >= 1


def test_a_lease_lost_mid_run_fails_the_run() -> None:
    clock, leases, runs = ManualClock(), FakeLeaseStore(), FakeRunLog()
    leases.refuse_renewals = True

    def long_job(now: datetime) -> dict[str, int]:
        assert leases.renew_attempted.wait(timeout=5)
        return {"purged": 1}

    worker = JobRunner(leases, runs, holder="a", clock=clock, lease_ttl=TTL, renew_every=0.01)
    run = worker.run(Job("long", EVERY_MINUTE, long_job))
    assert run.status == "failed"
    assert run.error is not None
    assert run.error.startswith("LeaseLost: ")


def test_the_same_job_does_not_run_twice_at_once_in_one_process() -> None:
    clock, leases, runs = ManualClock(), FakeLeaseStore(), FakeRunLog()
    entered, release = threading.Event(), threading.Event()

    def slow(now: datetime) -> dict[str, int]:
        entered.set()
        assert release.wait(timeout=5)
        return {}

    worker = runner(leases, runs, "a", clock)
    job = Job("slow", EVERY_MINUTE, slow)
    results = []
    thread = threading.Thread(target=lambda: results.append(worker.run(job)))
    thread.start()
    assert entered.wait(timeout=5)
    assert worker.run(job).status == "skipped"
    release.set()
    thread.join(timeout=5)
    assert [r.status for r in results] == ["ok"]
