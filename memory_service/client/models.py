"""What the API returns, as typed values (shared/API.md).

Decoding ignores fields this client does not know, so a newer server does not break an older
client; every field a server may omit has a default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec


class Finding(msgspec.Struct, frozen=True, omit_defaults=True):
    kind: str
    type: str
    action: str | None = None


class Classification(msgspec.Struct, frozen=True):
    action: str
    findings: list[Finding] = msgspec.field(default_factory=list)


class Provenance(msgspec.Struct, frozen=True):
    created_by: str
    request_id: str = ""
    source: dict[str, Any] = msgspec.field(default_factory=dict)
    review: dict[str, Any] | None = None


class Memory(msgspec.Struct, frozen=True):
    id: str
    scope: str
    content: str
    created_at: datetime
    updated_at: datetime
    version: int
    classification: Classification
    provenance: Provenance
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)
    subject: str | None = None
    expires_at: datetime | None = None


class Stored(msgspec.Struct, frozen=True, tag_field="status", tag="stored"):
    """The memory was stored (``memory.classification`` says whether anything was redacted)."""

    memory: Memory


class Quarantined(msgspec.Struct, frozen=True, tag_field="status", tag="quarantined"):
    """Held for review: nothing searchable was stored."""

    quarantine_id: str | None
    findings: list[Finding] = msgspec.field(default_factory=list)


class Rejected(msgspec.Struct, frozen=True, tag_field="status", tag="rejected"):
    """The scope's policy rejects this content; nothing was stored."""

    findings: list[Finding] = msgspec.field(default_factory=list)
    title: str = ""
    detail: str = ""


WriteResult = Stored | Quarantined
BatchResult = Stored | Quarantined | Rejected


class Batch(msgspec.Struct, frozen=True):
    results: list[BatchResult]


class MemoryPage(msgspec.Struct, frozen=True):
    items: list[Memory]
    next_cursor: str | None = None


class SearchHit(msgspec.Struct, frozen=True):
    memory: Memory
    score: float


class SearchResults(msgspec.Struct, frozen=True):
    results: list[SearchHit]


class HistoryItem(msgspec.Struct, frozen=True):
    version: int
    content: str
    changed_by: str
    changed_at: datetime
    op: str
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)


class History(msgspec.Struct, frozen=True):
    items: list[HistoryItem]


class Grant(msgspec.Struct, frozen=True):
    scope: str
    permissions: list[str]


class ApiKey(msgspec.Struct, frozen=True):
    id: str
    name: str
    grants: list[Grant]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class IssuedKey(msgspec.Struct, frozen=True):
    """A new key; ``key`` is the secret and is shown this once only."""

    id: str
    key: str
    name: str
    grants: list[Grant]
    created_at: datetime
    expires_at: datetime | None = None


class KeyList(msgspec.Struct, frozen=True):
    items: list[ApiKey]


class QuarantineFinding(msgspec.Struct, frozen=True):
    kind: str
    type: str
    start: int = 0
    end: int = 0


class QuarantineItem(msgspec.Struct, frozen=True):
    id: str
    scope: str
    status: str
    created_at: datetime
    created_by: str
    findings: list[QuarantineFinding] = msgspec.field(default_factory=list)
    preview: str | None = None
    reason: str = ""
    memory_id: str | None = None
    subject: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    approvals: int = 0
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None


class QuarantinePage(msgspec.Struct, frozen=True):
    items: list[QuarantineItem]
    next_cursor: str | None = None


class AwaitingSecondReview(
    msgspec.Struct, frozen=True, tag_field="status", tag="awaiting_second_review"
):
    id: str
    approvals: int


ReleaseResult = Stored | AwaitingSecondReview


class PurgeResult(msgspec.Struct, frozen=True):
    matched: int
    purged: int
    receipt_id: str
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    dry_run: bool = False
    verified_at: datetime | None = None
    physical: dict[str, Any] = msgspec.field(default_factory=dict)


class Erasure(msgspec.Struct, frozen=True):
    purged: dict[str, int]
    receipt_id: str
    verified_at: datetime | None = None
    physical: dict[str, Any] = msgspec.field(default_factory=dict)


class Receipt(msgspec.Struct, frozen=True):
    id: str
    kind: str
    created_at: datetime
    actor: str
    selector: dict[str, Any]
    dry_run: bool
    counts: dict[str, int]
    memory_ids: list[str] = msgspec.field(default_factory=list)
    quarantine_ids: list[str] = msgspec.field(default_factory=list)
    request_id: str | None = None
    verified_at: datetime | None = None
    compacted_at: datetime | None = None
    physical: dict[str, Any] = msgspec.field(default_factory=dict)


class AuditEvent(msgspec.Struct, frozen=True):
    seq: int
    at: datetime
    actor: str
    action: str
    hash: str
    prev_hash: str
    scope: str | None = None
    memory_ids: list[str] = msgspec.field(default_factory=list)
    decision: dict[str, Any] = msgspec.field(default_factory=dict)
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    request_id: str | None = None
    actor_id: str | None = None


class AuditPage(msgspec.Struct, frozen=True):
    items: list[AuditEvent]
    next_cursor: str | None = None


class AuditVerification(msgspec.Struct, frozen=True):
    ok: bool
    events: int
    first_bad_seq: int | None = None


class Policy(msgspec.Struct, frozen=True):
    """A classification policy: an action per finding kind for the scopes under ``scope``."""

    name: str
    scope: str
    secret: str
    pii: str
    injection: str
    pii_types: dict[str, str] = msgspec.field(default_factory=dict)
    min_score: float | None = None
    two_person_release: bool = False
    hold_unclassified: bool = False


class PolicyList(msgspec.Struct, frozen=True):
    items: list[Policy]


class RetentionPolicy(msgspec.Struct, frozen=True):
    name: str
    scope: str
    applies_to: Literal["memories", "quarantine", "deleted"]
    max_age_seconds: int | None = None


class RetentionPolicyList(msgspec.Struct, frozen=True):
    items: list[RetentionPolicy]


class JobRun(msgspec.Struct, frozen=True):
    id: str
    job: str
    holder: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    error: str | None = None


class Job(msgspec.Struct, frozen=True):
    name: str
    schedule: str
    next_run: datetime | None = None
    last_run: JobRun | None = None


class JobList(msgspec.Struct, frozen=True):
    items: list[Job]


class JobRunList(msgspec.Struct, frozen=True):
    items: list[JobRun]
