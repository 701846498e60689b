"""The scheduled jobs as the API shows them: schedule, next and last run, the run log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from memory_service.errors import NotFound
from retention.runs import JobRun
from retention.scheduler import RetentionScheduler


class RunReader(Protocol):
    def list_runs(self, job: str | None, limit: int) -> list[JobRun]: ...

    def last_run(self, job: str) -> JobRun | None: ...


@dataclass(frozen=True, slots=True)
class JobStatus:
    name: str
    schedule: str
    next_run: datetime | None
    last_run: JobRun | None


class JobService:
    def __init__(self, scheduler: RetentionScheduler, runs: RunReader) -> None:
        self._scheduler = scheduler
        self._runs = runs

    def jobs(self) -> list[JobStatus]:
        next_runs = self._scheduler.next_run_times()
        return [
            JobStatus(
                name=name,
                schedule=job.schedule.describe(),
                next_run=next_runs.get(name),
                last_run=self._runs.last_run(name),
            )
            for name, job in self._scheduler.jobs.items()
        ]

    def run_now(self, name: str) -> JobRun:
        """Through the lease: "skipped" if another worker holds it."""
        if name not in self._scheduler.jobs:
            raise NotFound
        return self._scheduler.run_now(name)

    def runs(self, name: str | None, limit: int) -> list[JobRun]:
        return self._runs.list_runs(name, limit)
