"""Wire shapes of the v1 API (see shared/API.md). Validation of shape and bounds lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from memory_service.domain.models import Memory, VersionRecord

Content = Annotated[str, msgspec.Meta(min_length=1, max_length=32_768)]
ScopeText = Annotated[str, msgspec.Meta(min_length=1, max_length=520)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class GrantIn(msgspec.Struct, forbid_unknown_fields=True):
    scope: ScopeText
    permissions: Annotated[list[str], msgspec.Meta(min_length=1, max_length=16)]


class CreateKey(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    grants: Annotated[list[GrantIn], msgspec.Meta(max_length=64)]
    expires_at: datetime | None = None


class KeyOut(msgspec.Struct):
    id: str
    name: str
    grants: list[dict[str, Any]]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class IssuedKeyOut(msgspec.Struct):
    id: str
    key: str
    name: str
    grants: list[dict[str, Any]]
    created_at: datetime
    expires_at: datetime | None


class KeyList(msgspec.Struct):
    items: list[KeyOut]


class CreateMemory(msgspec.Struct, forbid_unknown_fields=True):
    content: Content
    scope: ScopeText
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    tags: Annotated[list[Tag], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=list)
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=100 * 365 * 24 * 3600)] | None = None
    expires_at: datetime | None = None
    source: dict[str, Any] = msgspec.field(default_factory=dict)


class BatchCreate(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[CreateMemory], msgspec.Meta(min_length=1, max_length=100)]


class PatchMemory(msgspec.Struct, forbid_unknown_fields=True):
    content: Content | msgspec.UnsetType = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    tags: Annotated[list[Tag], msgspec.Meta(max_length=64)] | msgspec.UnsetType = msgspec.UNSET
    expires_at: datetime | msgspec.UnsetType | None = msgspec.UNSET


class RestoreMemory(msgspec.Struct, forbid_unknown_fields=True):
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class SearchFilters(msgspec.Struct, forbid_unknown_fields=True):
    tags_any: Annotated[list[Tag], msgspec.Meta(max_length=64)] | None = None
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    # Bounded: every string value is classified to find its stored forms.
    metadata: (
        Annotated[
            dict[
                Annotated[str, msgspec.Meta(min_length=1, max_length=128)],
                Annotated[str, msgspec.Meta(max_length=1024)] | int | bool,
            ],
            msgspec.Meta(max_length=32),
        ]
        | None
    ) = None


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: Content
    scopes: Annotated[list[ScopeText], msgspec.Meta(min_length=1, max_length=64)] | None = None
    filters: SearchFilters | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    min_score: Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)] | None = None


class FindingOut(msgspec.Struct):
    kind: str
    type: str
    action: str
    field: str = "content"  # content, metadata, tags, subject or source


class ClassificationOut(msgspec.Struct):
    action: Literal["clean", "redacted"]
    findings: list[FindingOut]


class ProvenanceOut(msgspec.Struct):
    created_by: str
    request_id: str
    source: dict[str, Any]
    review: dict[str, Any] | None = None


class MemoryOut(msgspec.Struct):
    id: str
    scope: str
    content: str
    metadata: dict[str, Any]
    tags: list[str]
    subject: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    version: int
    classification: ClassificationOut
    provenance: ProvenanceOut


class StoredOut(msgspec.Struct):
    memory: MemoryOut
    status: Literal["stored"] = "stored"


class HeldFinding(msgspec.Struct):
    kind: str
    type: str


class QuarantinedOut(msgspec.Struct):
    quarantine_id: str | None
    findings: list[HeldFinding]
    status: Literal["quarantined"] = "quarantined"


class RejectedOut(msgspec.Struct):
    findings: list[HeldFinding]
    title: str = "Rejected by policy"
    detail: str = "the scope's policy rejects this content"
    status: Literal["rejected"] = "rejected"


class BatchOut(msgspec.Struct):
    results: list[StoredOut | QuarantinedOut | RejectedOut]


class MemoryPage(msgspec.Struct):
    items: list[MemoryOut]
    next_cursor: str | None


class SearchHit(msgspec.Struct):
    memory: MemoryOut
    score: float


class SearchOut(msgspec.Struct):
    results: list[SearchHit]


class HistoryItem(msgspec.Struct):
    version: int
    content: str
    metadata: dict[str, Any]
    tags: list[str]
    changed_by: str
    changed_at: datetime
    op: str


class HistoryOut(msgspec.Struct):
    items: list[HistoryItem]


def memory_out(memory: Memory) -> MemoryOut:
    return MemoryOut(
        id=str(memory.id),
        scope=memory.scope,
        content=memory.content,
        metadata=memory.metadata,
        tags=list(memory.tags),
        subject=memory.subject,
        created_at=memory.created_at,
        updated_at=memory.updated_at,
        expires_at=memory.expires_at,
        version=memory.version,
        classification=ClassificationOut(
            action=memory.classification.action,
            findings=[
                FindingOut(kind=f.kind, type=f.type, action=f.action, field=f.field)
                for f in memory.classification.findings
            ],
        ),
        provenance=ProvenanceOut(
            created_by=memory.provenance.created_by,
            request_id=memory.provenance.request_id,
            source=memory.provenance.source,
            review=memory.provenance.review,
        ),
    )


def history_item(version: VersionRecord) -> HistoryItem:
    return HistoryItem(
        version=version.version,
        content=version.content,
        metadata=version.metadata,
        tags=list(version.tags),
        changed_by=version.changed_by,
        changed_at=version.changed_at,
        op=version.op,
    )


ActionText = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class PutPolicy(msgspec.Struct, forbid_unknown_fields=True):
    scope: ScopeText
    secret: ActionText = "quarantine"  # noqa: S105 - an action name, not a credential
    pii: ActionText = "pseudonymize"
    injection: ActionText = "quarantine"
    pii_types: Annotated[dict[str, ActionText], msgspec.Meta(max_length=64)] | None = None
    min_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    # Releasing as-is an item that holds a secret then needs two reviewers, neither the writer.
    two_person_release: bool = False
    # A write the classifiers could not read in time is held for review instead of a 503.
    hold_unclassified: bool = False


class PolicyOut(msgspec.Struct):
    name: str
    scope: str
    secret: str
    pii: str
    injection: str
    pii_types: dict[str, str]
    min_score: float
    updated_at: datetime
    updated_by: str
    two_person_release: bool
    hold_unclassified: bool


class PolicyList(msgspec.Struct):
    items: list[PolicyOut]


class AuditEventOut(msgspec.Struct):
    seq: int
    at: datetime
    actor: str
    actor_id: str | None
    action: str
    scope: str | None
    memory_ids: list[str]
    decision: dict[str, Any]
    details: dict[str, Any]
    request_id: str | None
    hash: str
    prev_hash: str


class AuditPage(msgspec.Struct):
    items: list[AuditEventOut]
    next_cursor: str | None


class AuditVerification(msgspec.Struct):
    ok: bool
    events: int
    first_bad_seq: int | None


class PurgeRequest(msgspec.Struct, forbid_unknown_fields=True):
    scope: ScopeText | None = None
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    tags_any: Annotated[list[Tag], msgspec.Meta(min_length=1, max_length=64)] | None = None
    created_before: datetime | None = None
    dry_run: bool = False


class PurgeOut(msgspec.Struct):
    matched: int
    purged: int
    receipt_id: str
    counts: dict[str, int]
    dry_run: bool
    verified_at: datetime | None
    physical: dict[str, Any]


class ErasureOut(msgspec.Struct):
    purged: dict[str, int]
    receipt_id: str
    verified_at: datetime | None
    physical: dict[str, Any]


class ReceiptOut(msgspec.Struct):
    id: str
    kind: str
    created_at: datetime
    actor: str
    request_id: str | None
    selector: dict[str, Any]
    dry_run: bool
    counts: dict[str, int]
    memory_ids: list[str]
    quarantine_ids: list[str]
    verified_at: datetime | None
    compacted_at: datetime | None
    physical: dict[str, Any]


Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class QuarantineFindingOut(msgspec.Struct):
    kind: str
    type: str
    start: int
    end: int
    field: str = "content"  # offsets are within this field's text


class QuarantineItemOut(msgspec.Struct):
    id: str
    scope: str
    status: str
    reason: str
    findings: list[QuarantineFindingOut]
    preview: str | None
    created_at: datetime
    created_by: str
    memory_id: str | None
    subject: str | None
    tags: list[str]
    approvals: int
    metadata: dict[str, Any]  # masked like the preview
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


class QuarantinePage(msgspec.Struct):
    items: list[QuarantineItemOut]
    next_cursor: str | None


class RevealRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class RevealOut(msgspec.Struct):
    """Every field of the held write as written (the fields it had)."""

    content: str
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)
    subject: str | None = None
    source: dict[str, Any] = msgspec.field(default_factory=dict)


class ReleaseRequest(msgspec.Struct, forbid_unknown_fields=True):
    mode: Literal["redacted", "as_is"]
    reason: Reason


class AwaitingOut(msgspec.Struct):
    id: str
    approvals: int
    status: Literal["awaiting_second_review"] = "awaiting_second_review"


class RejectRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class PutRetentionPolicy(msgspec.Struct, forbid_unknown_fields=True):
    scope: ScopeText
    applies_to: Literal["memories", "quarantine", "deleted"]
    # None: no limit here (exempts a subtree from a broader policy).
    max_age_seconds: Annotated[int, msgspec.Meta(ge=1, le=100 * 365 * 24 * 3600)] | None = None


class RetentionPolicyOut(msgspec.Struct):
    name: str
    scope: str
    applies_to: str
    max_age_seconds: int | None


class RetentionPolicyList(msgspec.Struct):
    items: list[RetentionPolicyOut]


class JobRunOut(msgspec.Struct):
    id: str
    job: str
    holder: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    error: str | None


class JobOut(msgspec.Struct):
    name: str
    schedule: str
    next_run: datetime | None
    last_run: JobRunOut | None


class JobList(msgspec.Struct):
    items: list[JobOut]


class JobRunList(msgspec.Struct):
    items: list[JobRunOut]
