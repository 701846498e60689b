"""What retention needs from the service's stores. The service implements these Protocols.

All methods are synchronous: jobs run on the scheduler's worker threads, not the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from retention.policies import RetentionPolicy
from retention.runs import JobRun
from retention.selection import MemoryHead, QuarantineHead


class RetentionStore(Protocol):
    """Candidates, purges and their verification, over the vector index and the control store.

    Listing pages by ascending id after a cursor (keyset), so purging the ids of a page does
    not shift the next one. A page may hold rows that are not due: the selection decides.
    """

    def retention_policies(self) -> Sequence[RetentionPolicy]:
        """Every configured retention policy."""
        ...

    def memory_heads(self, *, after: UUID | None, limit: int) -> Sequence[MemoryHead]:
        """Up to ``limit`` memories with id > ``after``, live and soft-deleted alike."""
        ...

    def quarantine_heads(self, *, after: UUID | None, limit: int) -> Sequence[QuarantineHead]:
        """Up to ``limit`` quarantine items with id > ``after``, in every status."""
        ...

    def purge_memories(self, ids: Sequence[UUID]) -> int:
        """Hard-delete these memories from the vector index and their versions from the control
        store; return how many existed. Ids already gone are ignored, so a purge interrupted
        half-way is simply finished by the next run."""
        ...

    def purge_quarantine(self, ids: Sequence[UUID]) -> int:
        """Delete these quarantine rows (sealed content included); return how many existed."""
        ...

    def memories_remaining(self, ids: Sequence[UUID]) -> set[UUID]:
        """The ids still present in the vector index or the control store (versions)."""
        ...

    def quarantine_remaining(self, ids: Sequence[UUID]) -> set[UUID]:
        """The ids still present in the quarantine."""
        ...


class RunLog(Protocol):
    """Where job runs are recorded (and read back by the API)."""

    def start_run(self, run: JobRun) -> None:
        """Insert ``run`` (status "running")."""
        ...

    def finish_run(self, run: JobRun) -> None:
        """Update the run with ``run.id`` to its final status, end time, counts and error."""
        ...

    def close_interrupted(self, job: str, *, at: datetime, error: str) -> int:
        """Mark ``job``'s runs still "running" as failed at ``at`` with ``error``; return how many.

        Only called by the lease holder, so no live run of that job can be among them.
        """
        ...


class LeaseStore(Protocol):
    """Named leases in the control store, so that one worker at a time runs each job.

    Each call must be atomic (one conditional UPDATE/INSERT), since several processes race.
    Expiry is judged against the ``now`` the caller passes, so worker clocks must agree to well
    within the ttl.
    """

    def acquire(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        """Take the lease if it is free, expired (``expires_at <= now``) or already ``holder``'s;
        on success it expires at ``now + ttl``."""
        ...

    def renew(self, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
        """Extend to ``now + ttl`` if ``holder`` still holds it unexpired; False otherwise."""
        ...

    def release(self, name: str, holder: str) -> None:
        """Free the lease if ``holder`` holds it; do nothing otherwise."""
        ...
