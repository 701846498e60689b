"""The scheduled jobs: retention's purges plus reconcile, compact and audit trimming.

Composition only: the jobs' logic lives in ``retention`` (selection, leases, runs) and in the
services; this module names the jobs, reads their schedules from settings, and counts their
runs in the audit trail and in ``/metrics``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from prometheus_client import Counter

from memory_service.domain.audit import audit_entry
from memory_service.domain.ports import AuditTrail, ControlStore
from memory_service.services.compaction import Compactor
from memory_service.services.index_writer import IndexWriter
from memory_service.services.retention import ServiceRetentionStore
from retention.errors import InvalidSchedule
from retention.jobs import Job, JobFunction, JobRunner, Schedule
from retention.purge import retention_jobs
from retention.scheduler import RetentionScheduler
from retention.store import LeaseStore, RunLog

# Every job and when it runs (UTC); MEMORY_JOB_SCHEDULES overrides any of them.
DEFAULT_SCHEDULES: Mapping[str, str] = {
    "purge_expired": "every 300s",
    "enforce_policies": "every 900s",
    "empty_trash": "every 3600s",
    "drop_quarantine": "every 3600s",
    "reconcile": "every 3600s",
    # Compaction holds the process (Edge's optimiser keeps the GIL): nightly, plus on demand
    # right after every purge that deleted index points.
    "compact": "cron 30 3 * * *",
    "audit_trim": "cron 0 4 * * *",
}

JOB_RUNS = Counter(
    "memory_service_job_runs", "Job runs that did their work, by outcome", ["job", "status"]
)
JOB_ITEMS = Counter(
    "memory_service_job_items", "What job runs counted (purged, repaired, ...)", ["job", "count"]
)


def parse_schedule(text: str) -> Schedule:
    """``every 300s`` or ``cron m h dom mon dow`` (UTC)."""
    kind, _, rest = text.strip().partition(" ")
    if kind == "every" and rest.endswith("s") and rest[:-1].isdigit():
        return Schedule(interval_seconds=int(rest[:-1]))
    if kind == "cron":
        return Schedule(cron=rest.strip())
    raise InvalidSchedule(f"schedule {text!r}: use 'every <n>s' or 'cron <five fields>'")


def schedules_from(overrides: Mapping[str, str]) -> dict[str, Schedule]:
    unknown = set(overrides) - set(DEFAULT_SCHEDULES)
    if unknown:
        raise InvalidSchedule(f"no such job: {', '.join(sorted(unknown))}")
    return {name: parse_schedule(text) for name, text in {**DEFAULT_SCHEDULES, **overrides}.items()}


def worker_id() -> str:
    """Who holds a lease: host, process and a random part (pids repeat across containers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _observed(name: str, body: JobFunction, control: ControlStore) -> JobFunction:
    """Count the run in /metrics and the audit trail; the run log is the runner's."""

    def run(now: datetime) -> dict[str, int]:
        try:
            counts = dict(body(now))
        except Exception as exc:
            JOB_RUNS.labels(job=name, status="failed").inc()
            control.record_audit(
                [
                    audit_entry(
                        None,
                        "job.run",
                        decision={"status": "failed"},
                        details={"job": name, "error_type": type(exc).__name__},
                    )
                ]
            )
            raise
        JOB_RUNS.labels(job=name, status="ok").inc()
        for key, value in counts.items():
            JOB_ITEMS.labels(job=name, count=key).inc(value)
        control.record_audit(
            [
                audit_entry(
                    None,
                    "job.run",
                    decision={"status": "ok"},
                    details={"job": name, "counts": counts},
                )
            ]
        )
        return counts

    return run


def build_jobs(
    *,
    schedules: Mapping[str, Schedule],
    retention_store: ServiceRetentionStore,
    writer: IndexWriter,
    compactor: Compactor,
    trail: AuditTrail,
    control: ControlStore,
    undo_window: timedelta,
    audit_retention: timedelta,
) -> list[Job]:
    def reconcile(_now: datetime) -> dict[str, int]:
        return {"repaired": writer.reconcile(), "orphans_removed": writer.remove_orphans()}

    def compact(_now: datetime) -> dict[str, int]:
        writer.sync_index()
        return compactor.run()

    def audit_trim(now: datetime) -> dict[str, int]:
        return {"events_trimmed": trail.trim(now - audit_retention)}

    jobs = retention_jobs(retention_store, schedules, undo_window=undo_window)
    extra: dict[str, Callable[[datetime], dict[str, int]]] = {
        "reconcile": reconcile,
        "compact": compact,
        "audit_trim": audit_trim,
    }
    jobs += [Job(name, schedules[name], body) for name, body in extra.items()]
    return [Job(j.name, j.schedule, _observed(j.name, j.run, control)) for j in jobs]


def build_scheduler(
    jobs: list[Job],
    *,
    leases: LeaseStore,
    runs: RunLog,
    clock: Callable[[], datetime],
    lease_ttl: timedelta,
) -> RetentionScheduler:
    runner = JobRunner(leases, runs, holder=worker_id(), clock=clock, lease_ttl=lease_ttl)
    return RetentionScheduler(jobs, runner)
