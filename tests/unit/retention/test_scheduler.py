"""The wiring against a stand-in backend, and the real APScheduler where it matters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from retention.errors import InvalidSchedule, UnknownJob
from retention.jobs import Job, JobRunner, Schedule
from retention.scheduler import RetentionScheduler
from tests.unit.retention.fakes import T0, FakeLeaseStore, FakeRunLog, ManualClock


class _Scheduled:
    def __init__(self, next_run_time: datetime | None) -> None:
        self.next_run_time = next_run_time


class FakeBackend:
    def __init__(self) -> None:
        self.added: list[tuple[Callable[..., object], object, dict[str, Any]]] = []
        self.started = False
        self.shut_down_with: bool | None = None

    def add_job(self, func: Callable[..., object], trigger: object, **options: Any) -> object:
        self.added.append((func, trigger, options))
        return object()

    def get_job(self, job_id: str) -> object | None:
        if not self.started:
            return object()  # APScheduler's pending job has no next_run_time yet
        return _Scheduled(T0 + timedelta(seconds=60))

    def start(self) -> None:
        self.started = True

    def shutdown(self, wait: bool = True) -> None:  # noqa: FBT001, FBT002
        self.shut_down_with = wait


def make(jobs: list[Job]) -> tuple[RetentionScheduler, FakeBackend, FakeLeaseStore]:
    backend, leases = FakeBackend(), FakeLeaseStore()
    runner = JobRunner(leases, FakeRunLog(), holder="a", clock=ManualClock())
    scheduler = RetentionScheduler(
        jobs, runner, backend=backend, trigger_for=Schedule.describe, misfire_grace_seconds=30
    )
    return scheduler, backend, leases


def job(name: str, schedule: Schedule) -> Job:
    return Job(name, schedule, lambda _now: {"ran": 1})


def test_jobs_are_registered_once_each_with_their_trigger() -> None:
    _, backend, _ = make(
        [job("a", Schedule(interval_seconds=60)), job("b", Schedule(cron="0 3 * * *"))]
    )
    assert [(trigger, options["id"]) for _, trigger, options in backend.added] == [
        ("every 60s", "a"),
        ("cron 0 3 * * *", "b"),
    ]
    for _, _, options in backend.added:
        assert options["max_instances"] == 1
        assert options["coalesce"] is True
        assert options["replace_existing"] is True
        assert options["misfire_grace_time"] == 30


def test_a_fired_job_goes_through_the_runner() -> None:
    _, backend, leases = make([job("a", Schedule(interval_seconds=60))])
    func, _, options = backend.added[0]
    run = func(*options["args"])
    assert (run.job, run.status, run.counts) == ("a", "ok", {"ran": 1})
    assert "retention-job:a" in leases.leases


def test_next_run_times_before_and_after_start() -> None:
    scheduler, _, _ = make([job("a", Schedule(interval_seconds=60))])
    assert scheduler.next_run_times() == {"a": None}
    scheduler.start()
    assert scheduler.next_run_times() == {"a": T0 + timedelta(seconds=60)}


def test_run_now_and_unknown_jobs() -> None:
    scheduler, _, _ = make([job("a", Schedule(interval_seconds=60))])
    assert scheduler.run_now("a").status == "ok"
    with pytest.raises(UnknownJob):
        scheduler.run_now("nope")


def test_shutdown_hands_the_leases_back() -> None:
    scheduler, backend, leases = make([job("a", Schedule(interval_seconds=60))])
    scheduler.start()
    scheduler.run_now("a")
    scheduler.shutdown(wait=False)
    assert backend.shut_down_with is False
    assert leases.leases == {}


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        make([job("a", Schedule(interval_seconds=1)), job("a", Schedule(interval_seconds=2))])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"interval_seconds": 0}, {"cron": "* * *"}, {"interval_seconds": 5, "cron": "* * * * *"}],
)
def test_bad_schedules_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidSchedule):
        Schedule(**kwargs)


def test_a_scheduler_that_never_started_shuts_down_cleanly() -> None:
    """API replicas keep the scheduler off but may run jobs by hand; closing must not raise."""
    leases = FakeLeaseStore()
    runner = JobRunner(leases, FakeRunLog(), holder="api-1", clock=ManualClock())
    scheduler = RetentionScheduler([job("a", Schedule(interval_seconds=60))], runner)
    scheduler.run_now("a")
    scheduler.shutdown(wait=True)  # the real APScheduler backend, never started
    assert leases.leases == {}
