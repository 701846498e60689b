"""Wiring jobs to APScheduler 3.x's BackgroundScheduler.

APScheduler is imported lazily, here only, so the rest of retention (and its tests) work
without it. It ships no type information, so it is reached through ``importlib`` and typed by
the small Protocol below rather than by per-line ignores that differ between installed and not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from retention.errors import UnknownJob
from retention.jobs import Job, JobRunner, Schedule
from retention.runs import JobRun

MISFIRE_GRACE_SECONDS = 300


class SchedulerBackend(Protocol):
    """The part of APScheduler 3.x's ``BaseScheduler`` this module uses."""

    def add_job(self, func: Callable[..., object], trigger: object, **options: Any) -> object: ...

    def get_job(self, job_id: str) -> object | None: ...

    def start(self) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...  # noqa: FBT001, FBT002 - APScheduler's signature


TriggerFactory = Callable[[Schedule], object]


def apscheduler_trigger(schedule: Schedule) -> object:
    """An APScheduler 3.x IntervalTrigger or CronTrigger for ``schedule``, in UTC."""
    if schedule.cron is not None:
        cron = importlib.import_module("apscheduler.triggers.cron")
        return cron.CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    interval = importlib.import_module("apscheduler.triggers.interval")
    return interval.IntervalTrigger(seconds=schedule.interval_seconds, timezone=UTC)


def background_scheduler() -> SchedulerBackend:
    """A stopped APScheduler 3.x BackgroundScheduler in UTC, with the in-memory job store:
    jobs are registered anew at every start, and run history lives in the RunLog instead."""
    background = importlib.import_module("apscheduler.schedulers.background")
    backend: SchedulerBackend = background.BackgroundScheduler(timezone=UTC)
    return backend


class RetentionScheduler:
    """Fires each job on its schedule through the JobRunner, which enforces the lease.

    Every replica may start one; the lease makes only one of them act per job.
    """

    def __init__(
        self,
        jobs: Sequence[Job],
        runner: JobRunner,
        *,
        misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS,
        backend: SchedulerBackend | None = None,
        trigger_for: TriggerFactory = apscheduler_trigger,
    ) -> None:
        self._jobs = {job.name: job for job in jobs}
        if len(self._jobs) != len(jobs):
            raise ValueError("job names must be unique")
        self._runner = runner
        self._backend = backend if backend is not None else background_scheduler()
        self._started = False
        for job in jobs:
            self._backend.add_job(
                runner.run,
                trigger_for(job.schedule),
                args=(job,),
                id=job.name,
                name=job.name,
                replace_existing=True,
                # One instance, and missed firings collapsed into one: a purge pass covers
                # everything that is due, so catching up run by run would only repeat it.
                max_instances=1,
                coalesce=True,
                misfire_grace_time=misfire_grace_seconds,
            )

    @property
    def jobs(self) -> Mapping[str, Job]:
        return self._jobs

    def start(self) -> None:
        """Start firing jobs on the scheduler's own thread."""
        self._backend.start()
        self._started = True

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop firing, wait for running jobs if asked, and hand the leases back."""
        # A replica with the scheduler turned off never starts it (APScheduler refuses to shut
        # down what never ran), but run_now may still have taken leases there.
        if self._started:
            self._backend.shutdown(wait=wait)
            self._started = False
        for name in self._jobs:
            self._runner.release(name)

    def next_run_times(self) -> dict[str, datetime | None]:
        """Each job's next firing; None before ``start`` or when it will not fire again."""
        times: dict[str, datetime | None] = {}
        for name in self._jobs:
            scheduled = self._backend.get_job(name)
            # APScheduler sets next_run_time only once the scheduler has started.
            times[name] = getattr(scheduled, "next_run_time", None)
        return times

    def run_now(self, name: str) -> JobRun:
        """Run the job ``name`` on the calling thread, through the lease; return its run."""
        job = self._jobs.get(name)
        if job is None:
            raise UnknownJob("no job by that name")
        return self._runner.run(job)
