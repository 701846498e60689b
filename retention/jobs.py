"""Jobs, their schedules, and running one job under its lease."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from retention.clock import Clock, require_aware
from retention.errors import InvalidSchedule, LeaseLost, RetentionError
from retention.lease import LeaseHeartbeat
from retention.runs import JobRun
from retention.store import LeaseStore, RunLog

logger = logging.getLogger(__name__)

JobFunction = Callable[[datetime], Mapping[str, int]]
_CRON_FIELDS = 5
_INTERRUPTED = "Interrupted: the run ended without recording a result"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Either every ``interval_seconds`` or a five-field crontab expression, in UTC.

    APScheduler 3.x numbers cron weekdays from Monday = 0 (crontab uses Sunday = 0);
    prefer names (``mon``, ``sun``) in the day-of-week field.
    """

    interval_seconds: int | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        if (self.interval_seconds is None) == (self.cron is None):
            raise InvalidSchedule("give exactly one of interval_seconds and cron")
        if self.interval_seconds is not None and self.interval_seconds <= 0:
            raise InvalidSchedule("interval_seconds must be positive")
        if self.cron is not None and len(self.cron.split()) != _CRON_FIELDS:
            raise InvalidSchedule("cron must have five fields")

    def describe(self) -> str:
        """A short text for listings: ``every 300s`` or ``cron 0 3 * * *``."""
        if self.cron is not None:
            return f"cron {self.cron}"
        return f"every {self.interval_seconds}s"


@dataclass(frozen=True, slots=True)
class Job:
    """A named, scheduled, idempotent unit of work; ``run(now)`` returns what it counted."""

    name: str
    schedule: Schedule
    run: JobFunction


def lease_name(job: str) -> str:
    """The lease guarding ``job``: one per job, so different jobs may run on different workers."""
    return f"retention-job:{job}"


def describe_error(exc: BaseException) -> str:
    """Class name and a message safe to store: only our own errors' messages are kept, since a
    driver's or library's message may quote the data it was handling."""
    if isinstance(exc, RetentionError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: unexpected error (message withheld: it may quote stored data)"


class JobRunner:
    """Runs a job at most once at a time across every worker that shares the lease store.

    The runner takes the job's lease (free, expired or already its own), closes runs of that job
    a crashed holder left "running", records the start, runs the job while a heartbeat renews the
    lease, and records the outcome. The lease is kept after the run until its ttl lapses, so
    other workers whose scheduler fires moments later skip instead of running it again; a
    crashed holder's lease simply expires. A worker that cannot take the lease records nothing
    and gets a "skipped" run back.
    """

    def __init__(
        self,
        leases: LeaseStore,
        runs: RunLog,
        *,
        holder: str,
        clock: Clock,
        lease_ttl: timedelta = timedelta(minutes=5),
        renew_every: float | None = None,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        self._leases = leases
        self._runs = runs
        self._holder = holder
        self._clock = clock
        self._ttl = lease_ttl
        self._renew_every = renew_every or lease_ttl.total_seconds() / 3
        self._new_id = new_id
        # The lease is re-entrant for its holder, so a manual run and a scheduled one in the
        # same process would both pass it; this lock keeps them apart.
        self._local: dict[str, threading.Lock] = {}
        self._local_guard = threading.Lock()

    @property
    def holder(self) -> str:
        return self._holder

    def run(self, job: Job) -> JobRun:
        """Run ``job`` if this worker can take its lease; return the run record."""
        with self._local_guard:
            local = self._local.setdefault(job.name, threading.Lock())
        if not local.acquire(blocking=False):
            return self._skipped(job)
        try:
            return self._run_leased(job)
        finally:
            local.release()

    def release(self, job_name: str) -> None:
        """Give up ``job_name``'s lease (on shutdown), so another worker need not wait the ttl."""
        self._leases.release(lease_name(job_name), self._holder)

    def _run_leased(self, job: Job) -> JobRun:
        started = require_aware(self._clock())
        name = lease_name(job.name)
        if not self._leases.acquire(name, self._holder, ttl=self._ttl, now=started):
            return self._skipped(job)
        self._runs.close_interrupted(job.name, at=started, error=_INTERRUPTED)
        run = JobRun(id=self._new_id(), job=job.name, holder=self._holder, started_at=started)
        self._runs.start_run(run)
        heartbeat = LeaseHeartbeat(
            self._leases,
            name,
            self._holder,
            ttl=self._ttl,
            clock=self._clock,
            every=self._renew_every,
        )
        with heartbeat:
            try:
                counts = dict(job.run(started))
            except Exception as exc:  # noqa: BLE001 - any failure of a job is recorded, not raised
                logger.warning("retention job %s failed: %s", job.name, type(exc).__name__)
                outcome = replace(run, status="failed", error=describe_error(exc))
            else:
                outcome = replace(run, status="ok", counts=counts)
        if heartbeat.lost and outcome.status == "ok":
            lost = LeaseLost("the lease lapsed during the run; another worker may have run it")
            outcome = replace(outcome, status="failed", error=describe_error(lost))
        finished = replace(outcome, finished_at=self._clock())
        self._runs.finish_run(finished)
        return finished

    def _skipped(self, job: Job) -> JobRun:
        now = self._clock()
        return JobRun(
            id=self._new_id(),
            job=job.name,
            holder=self._holder,
            started_at=now,
            status="skipped",
            finished_at=now,
        )
