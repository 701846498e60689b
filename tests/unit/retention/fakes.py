"""In-memory stand-ins for the Protocols in ``retention.store``, faithful to their contracts."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from retention.policies import RetentionPolicy
from retention.runs import JobRun
from retention.selection import MemoryHead, QuarantineHead

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class _Lease:
    holder: str
    expires_at: datetime


class FakeLeaseStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.leases: dict[str, _Lease] = {}
        self.renewals = 0
        self.renewed = threading.Event()
        self.renew_attempted = threading.Event()
        self.refuse_renewals = False

    def acquire(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        with self._lock:
            lease = self.leases.get(name)
            if lease is not None and lease.holder != holder and lease.expires_at > now:
                return False
            self.leases[name] = _Lease(holder, now + ttl)
            return True

    def renew(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        self.renew_attempted.set()
        with self._lock:
            lease = self.leases.get(name)
            if self.refuse_renewals or lease is None or lease.holder != holder:
                return False
            if lease.expires_at <= now:
                return False
            lease.expires_at = now + ttl
            self.renewals += 1
            self.renewed.set()
            return True

    def release(self, name: str, holder: str) -> None:
        with self._lock:
            lease = self.leases.get(name)
            if lease is not None and lease.holder == holder:
                del self.leases[name]


class FakeRunLog:
    def __init__(self) -> None:
        self.runs: dict[UUID, JobRun] = {}

    def start_run(self, run: JobRun) -> None:
        assert run.id not in self.runs
        self.runs[run.id] = run

    def finish_run(self, run: JobRun) -> None:
        assert run.id in self.runs
        self.runs[run.id] = run

    def close_interrupted(self, job: str, *, at: datetime, error: str) -> int:
        stale = [r for r in self.runs.values() if r.job == job and r.status == "running"]
        for run in stale:
            self.runs[run.id] = replace(run, status="failed", finished_at=at, error=error)
        return len(stale)


class FakeRetentionStore:
    """Keeps heads by id; ``sticky`` ids survive a purge, to exercise verification."""

    def __init__(self) -> None:
        self.policies: list[RetentionPolicy] = []
        self.memories: dict[UUID, MemoryHead] = {}
        self.quarantine: dict[UUID, QuarantineHead] = {}
        self.sticky: set[UUID] = set()
        self.pages_listed = 0

    def retention_policies(self) -> Sequence[RetentionPolicy]:
        return list(self.policies)

    def memory_heads(self, *, after: UUID | None, limit: int) -> Sequence[MemoryHead]:
        self.pages_listed += 1
        ids = sorted(i for i in self.memories if after is None or i > after)
        return [self.memories[i] for i in ids[:limit]]

    def quarantine_heads(self, *, after: UUID | None, limit: int) -> Sequence[QuarantineHead]:
        ids = sorted(i for i in self.quarantine if after is None or i > after)
        return [self.quarantine[i] for i in ids[:limit]]

    def purge_memories(self, ids: Sequence[UUID]) -> int:
        gone = [i for i in ids if i in self.memories and i not in self.sticky]
        for i in gone:
            del self.memories[i]
        return len(gone)

    def purge_quarantine(self, ids: Sequence[UUID]) -> int:
        gone = [i for i in ids if i in self.quarantine]
        for i in gone:
            del self.quarantine[i]
        return len(gone)

    def memories_remaining(self, ids: Sequence[UUID]) -> set[UUID]:
        return {i for i in ids if i in self.memories}

    def quarantine_remaining(self, ids: Sequence[UUID]) -> set[UUID]:
        return {i for i in ids if i in self.quarantine}
