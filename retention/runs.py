"""The record of one job run, as stored and as shown over the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

# "skipped" is only ever returned to the caller (another worker held the lease); it is never
# stored, or every replica would log a skip for every firing.
RunStatus = Literal["running", "ok", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of a job: when, by whom, how it ended and what it counted.

    ``error`` is the exception's class name and a message known to hold no stored data.
    """

    id: UUID
    job: str
    holder: str
    started_at: datetime
    status: RunStatus = "running"
    finished_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
