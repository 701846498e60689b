"""Tables of the control store, shared by SQLite and PostgreSQL.

The migrations in ``migrations/versions`` create these tables; this module is what the store
queries against. ``tests/contract/test_control_store.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

# Deterministic constraint names, so migrations can refer to them on either backend.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OPS = ("create", "update", "delete", "restore")
UNINDEXED_PREDICATE = "indexed_version < version"

# Fixed width, so that on SQLite the stored strings sort in time order.
_SQLITE_TIMESTAMP_WIDTH = len("0001-01-01T00:00:00.000000+00:00")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC, returned as an aware UTC datetime on every backend.

    SQLite has no timestamp type and its driver drops the offset, so there the value is an
    ISO-8601 string in UTC at microsecond precision (fixed width, hence ordered). Naive
    datetimes are refused: guessing their zone would silently shift expiry times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(_SQLITE_TIMESTAMP_WIDTH))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the control store; use an aware UTC one")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.isoformat(timespec="microseconds")
        return utc

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(parsed, datetime):
            raise TypeError(f"unexpected timestamp value of type {type(value).__name__}")
        if parsed.tzinfo is None:
            # Only rows written outside this type (by hand) can be naive; they were UTC.
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON on SQLite (text), JSONB on PostgreSQL (binary, validated on the way in)."""
    return JSON().with_variant(JSONB(), "postgresql")


metadata = MetaData(naming_convention=NAMING_CONVENTION)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", Text, nullable=False),
    Column("lookup", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("grants", json_type(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_api_keys_lookup", "lookup", unique=True),
)
# Every request's key check runs this: built once, it is not compiled nor cache-keyed per call.
KEY_BY_LOOKUP: Final = select(api_keys).where(api_keys.c.lookup == bindparam("lookup"))

# The head row of each memory: where it lives, its current version and whether the index has
# caught up with it. The content itself is only in memory_versions.
memories = Table(
    "memories",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("scope", String(512), nullable=False),
    Column("subject", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("indexed_version", Integer, nullable=False),
    Column("deleted", Boolean(create_constraint=False), nullable=False),
    Column("deleted_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("indexed_version <= version", name="indexed_not_ahead"),
    Index("ix_memories_scope", "scope"),
    Index("ix_memories_subject", "subject"),
    # Partial: crash repair only ever looks for the few heads the index has not caught up with.
    Index(
        "ix_memories_unindexed",
        "updated_at",
        sqlite_where=text(UNINDEXED_PREDICATE),
        postgresql_where=text(UNINDEXED_PREDICATE),
    ),
)

memory_versions = Table(
    "memory_versions",
    metadata,
    Column(
        "memory_id",
        String(36),
        ForeignKey("memories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("scope", String(512), nullable=False),
    Column("content", Text, nullable=False),
    Column("metadata", json_type(), nullable=False),
    Column("tags", json_type(), nullable=False),
    Column("subject", Text, nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("classification", json_type(), nullable=False),
    Column("provenance", json_type(), nullable=False),
    Column("op", String(16), nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("memory_id", "version"),
    CheckConstraint("op IN ('create', 'update', 'delete', 'restore')", name="op_known"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("key_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", json_type(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("key_id", "idempotency_key"),
    # For expiring old records by age.
    Index("ix_idempotency_created_at", "created_at"),
)

# Named classification policies; the most specific matching scope pattern wins.
policies = Table(
    "policies",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("scope", String(520), nullable=False),
    Column("secret", String(16), nullable=False),
    Column("pii", String(16), nullable=False),
    Column("injection", String(16), nullable=False),
    Column("pii_types", json_type(), nullable=False),
    Column("min_score", Float, nullable=False),
    Column("two_person_release", Boolean(create_constraint=False), nullable=False, default=False),
    Column("hold_unclassified", Boolean(create_constraint=False), nullable=False, default=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", Text, nullable=False),
)

# Writes the classifiers held back. The text is only ever here encrypted (AES-GCM, key named by
# key_id); findings hold kinds, types and offsets, never values.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("scope", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("findings", json_type(), nullable=False),
    Column("key_id", String(64), nullable=True),
    Column("nonce", LargeBinary, nullable=True),
    Column("ciphertext", LargeBinary, nullable=True),
    Column("metadata", json_type(), nullable=False),
    Column("tags", json_type(), nullable=False),
    Column("subject", Text, nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("provenance", json_type(), nullable=False),
    Column("memory_id", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decision_reason", Text, nullable=True),
    # Key ids of reviewers who approved an as-is release still waiting for a second one.
    Column("approvals", json_type(), nullable=False, default=list),
    CheckConstraint("status IN ('pending', 'released', 'rejected')", name="status_known"),
    Index("ix_quarantine_scope", "scope"),
    Index("ix_quarantine_subject", "subject"),
    Index("ix_quarantine_status_created_at", "status", "created_at"),
)

# The hash-chained audit trail (see domain/audit.py). seq is assigned under the chain row's lock,
# so concurrent writers queue instead of forking the chain; the primary key refuses a fork anyway.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_id", String(64), nullable=True),
    Column("request_id", Text, nullable=True),
    Column("scope", String(512), nullable=True),
    Column("memory_ids", json_type(), nullable=False),
    Column("decision", json_type(), nullable=False),
    Column("details", json_type(), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_action", "action"),
    Index("ix_audit_events_actor", "actor"),
    Index("ix_audit_events_scope", "scope"),
)

# Which events name which memory, so "who touched this memory" is an indexed lookup.
audit_event_memories = Table(
    "audit_event_memories",
    metadata,
    Column(
        "seq",
        BigInteger,
        ForeignKey("audit_events.seq", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("memory_id", String(36), nullable=False),
    PrimaryKeyConstraint("seq", "memory_id"),
    Index("ix_audit_event_memories_memory_id", "memory_id"),
)

# One row: the chain's sealed ends. Its lock serialises appends; its MACs detect an event cut
# off either end (trimming moves the anchor forward, sealed again).
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("head_seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("head_mac", String(64), nullable=False),
    Column("anchor_seq", BigInteger, nullable=False),
    Column("anchor_hash", String(64), nullable=False),
    Column("anchor_mac", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# What a purge, an erasure or a retention run removed: ids and counts, never content. A
# subject is kept only as a keyed digest, so the receipt itself is not a trace of the person.
receipts = Table(
    "receipts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_id", String(64), nullable=True),
    Column("request_id", Text, nullable=True),
    Column("selector", json_type(), nullable=False),
    Column("dry_run", Boolean(create_constraint=False), nullable=False),
    Column("counts", json_type(), nullable=False),
    Column("memory_ids", json_type(), nullable=False),
    Column("quarantine_ids", json_type(), nullable=False),
    Column("verified_at", UtcDateTime(), nullable=True),
    # When the vector store's files were rewritten without the purged points (null: pending).
    Column("compacted_at", UtcDateTime(), nullable=True),
    Column("physical", json_type(), nullable=False),
    Index("ix_receipts_created_at", "created_at"),
)

# Retention policies: how long things under a scope pattern are kept. max_age_seconds NULL means
# "no limit here", so a specific pattern can exempt a subtree from a broader policy.
retention_policies = Table(
    "retention_policies",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("scope", String(520), nullable=False),
    Column("max_age_seconds", BigInteger, nullable=True),
    Column("applies_to", String(16), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", Text, nullable=False),
    CheckConstraint("applies_to IN ('memories', 'quarantine', 'deleted')", name="applies_to_known"),
)

# One row per run of a scheduled job. "skipped" is never stored: only the lease holder runs.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job", String(64), nullable=False),
    Column("holder", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("counts", json_type(), nullable=False),
    Column("error", Text, nullable=True),
    CheckConstraint("status IN ('running', 'ok', 'failed')", name="status_known"),
    Index("ix_job_runs_job_started_at", "job", "started_at"),
)

# Named leases, so that one worker at a time runs each job; taken and renewed by single
# conditional statements, since several processes race for them.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("acquired_at", UtcDateTime(), nullable=False),
)
