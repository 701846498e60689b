"""Initial control store: API keys, memory heads and versions, idempotency records.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory_service.storage.sql.schema import UtcDateTime, json_type

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lookup", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("grants", json_type(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_lookup"), "api_keys", ["lookup"], unique=True)

    op.create_table(
        "memories",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("indexed_version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memories")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_memories_version_positive")),
        sa.CheckConstraint(
            "indexed_version <= version", name=op.f("ck_memories_indexed_not_ahead")
        ),
    )
    op.create_index(op.f("ix_memories_scope"), "memories", ["scope"])
    op.create_index(op.f("ix_memories_subject"), "memories", ["subject"])
    op.create_index(
        op.f("ix_memories_unindexed"),
        "memories",
        ["updated_at"],
        sqlite_where=sa.text("indexed_version < version"),
        postgresql_where=sa.text("indexed_version < version"),
    )

    op.create_table(
        "memory_versions",
        sa.Column("memory_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("tags", json_type(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("classification", json_type(), nullable=False),
        sa.Column("provenance", json_type(), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("memory_id", "version", name=op.f("pk_memory_versions")),
        sa.ForeignKeyConstraint(
            ["memory_id"],
            ["memories.id"],
            name=op.f("fk_memory_versions_memory_id_memories"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "op IN ('create', 'update', 'delete', 'restore')",
            name=op.f("ck_memory_versions_op_known"),
        ),
    )

    op.create_table(
        "idempotency",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", json_type(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "idempotency_key", name=op.f("pk_idempotency")),
    )
    op.create_index(op.f("ix_idempotency_created_at"), "idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency")
    op.drop_table("memory_versions")
    op.drop_table("memories")
    op.drop_table("api_keys")
