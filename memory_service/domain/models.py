"""Domain records. Plain frozen dataclasses; no framework types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FindingSummary:
    """What a classifier decided about one finding: never the matched value."""

    kind: str
    type: str
    action: str
    field: str = "content"  # which field of the write it was found in (content, metadata, ...)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "type": self.type, "action": self.action, "field": self.field}


@dataclass(frozen=True, slots=True)
class Classification:
    action: Literal["clean", "redacted"] = "clean"
    findings: tuple[FindingSummary, ...] = ()

    def to_json(self) -> JsonObject:
        return {"action": self.action, "findings": [f.to_json() for f in self.findings]}

    @classmethod
    def from_json(cls, data: JsonObject) -> Classification:
        return cls(
            action=data.get("action", "clean"),
            findings=tuple(FindingSummary(**f) for f in data.get("findings", [])),
        )


@dataclass(frozen=True, slots=True)
class Provenance:
    created_by: str
    request_id: str
    source: JsonObject = field(default_factory=dict)
    key_id: str | None = None  # the writer's key, so a reviewer can be told apart from it
    # For a released quarantine item: reviewer(s), mode, reason, quarantine id.
    review: JsonObject | None = None

    def to_json(self) -> JsonObject:
        data: JsonObject = {
            "created_by": self.created_by,
            "request_id": self.request_id,
            "source": self.source,
        }
        if self.key_id is not None:
            data["key_id"] = self.key_id
        if self.review is not None:
            data["review"] = self.review
        return data

    @classmethod
    def from_json(cls, data: JsonObject) -> Provenance:
        return cls(
            created_by=data.get("created_by", ""),
            request_id=data.get("request_id", ""),
            source=data.get("source") or {},
            key_id=data.get("key_id"),
            review=data.get("review"),
        )


@dataclass(frozen=True, slots=True)
class Memory:
    """A live memory as the index stores it (content is what the classifiers let through)."""

    id: UUID
    scope: str
    content: str
    metadata: JsonObject
    tags: tuple[str, ...]
    subject: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    version: int
    classification: Classification
    provenance: Provenance
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexQuery:
    """Request-level filters, applied inside the store query next to the scope filter."""

    tags_any: tuple[str, ...] = ()
    subject: str | None = None
    # A value given as a tuple matches any of its forms (the service widens a caller's value
    # to the forms the gate may have stored it in); callers give single values.
    metadata: JsonObject = field(default_factory=dict)
    subject_any: tuple[str, ...] = ()
    include_deleted: bool = False
    # Memories holding any of these pseudonym tokens (set by the recall path, never by a caller).
    pseudonyms_any: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoredMemory:
    memory: Memory
    score: float


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: UUID
    name: str
    lookup: str  # public, non-secret part of the key used to find the row
    secret_hash: str  # hex digest of the secret part; compared in constant time
    grants: tuple[Any, ...]  # tuple[Grant, ...]; Any keeps this module free of grants' import cycle
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One entry of a memory's history: the state after ``op``."""

    memory_id: UUID
    version: int
    scope: str
    content: str
    metadata: JsonObject
    tags: tuple[str, ...]
    subject: str | None
    expires_at: datetime | None
    classification: Classification
    provenance: Provenance
    op: Literal["create", "update", "delete", "restore"]
    changed_by: str
    changed_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key_id: str
    idempotency_key: str
    request_hash: str
    status_code: int
    body: JsonObject
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A named classification policy for every scope its pattern matches."""

    name: str
    scope: str  # a scope pattern, as text
    secret: str
    pii: str
    injection: str
    pii_types: dict[str, str]
    min_score: float
    updated_at: datetime
    updated_by: str
    two_person_release: bool = False
    # A write the classifiers could not read in time is held (sealed, shown to nobody until
    # revealed) instead of refused with 503.
    hold_unclassified: bool = False


@dataclass(frozen=True, slots=True)
class Sealed:
    """Ciphertext of a quarantined text; ``key_id`` names the key so keys can rotate."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class HeldFinding:
    """Where a quarantined text holds what: never the value."""

    kind: str
    type: str
    start: int  # offsets within the field's text (for content: within the content)
    end: int
    field: str = "content"

    def to_json(self) -> JsonObject:
        return {
            "kind": self.kind,
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "field": self.field,
        }


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    """A write the classifiers held back: encrypted, never embedded, never searchable."""

    id: UUID
    scope: str
    status: Literal["pending", "released", "rejected"]
    reason: str  # why it was held: "findings" or "classifier_failed"
    findings: tuple[HeldFinding, ...]
    sealed: Sealed | None  # None once the content has been destroyed
    metadata: JsonObject
    tags: tuple[str, ...]
    subject: str | None
    expires_at: datetime | None
    provenance: Provenance
    created_at: datetime
    memory_id: UUID | None = None  # the memory an update was aimed at, if any
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    approvals: tuple[str, ...] = ()  # key ids of first reviewers of a two-person release


@dataclass(frozen=True, slots=True)
class PurgeSelector:
    """What a purge matches; every given field must match (an empty selector is refused)."""

    scope: str | None = None
    subject: str | None = None
    tags_any: tuple[str, ...] = ()
    created_before: datetime | None = None
    # Every form the subject may be stored in (set by the service, never by a caller).
    subject_forms: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return (
            self.scope is None
            and self.subject is None
            and not self.tags_any
            and self.created_before is None
        )


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of what a purge or an erasure removed: ids and counts, never content.

    ``selector`` holds a subject only as a keyed digest.
    """

    id: UUID
    kind: Literal["purge", "erasure", "retention"]
    created_at: datetime
    actor: str
    actor_id: str | None
    request_id: str | None
    selector: JsonObject
    dry_run: bool
    counts: dict[str, int]
    memory_ids: tuple[str, ...]
    quarantine_ids: tuple[str, ...]
    physical: JsonObject
    verified_at: datetime | None = None
    compacted_at: datetime | None = None
