"""Classification policies and the encrypted quarantine.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory_service.storage.sql.schema import UtcDateTime, json_type

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(520), nullable=False),
        sa.Column("secret", sa.String(16), nullable=False),
        sa.Column("pii", sa.String(16), nullable=False),
        sa.Column("injection", sa.String(16), nullable=False),
        sa.Column("pii_types", json_type(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_policies")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("findings", json_type(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("nonce", sa.LargeBinary(), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("metadata", json_type(), nullable=False),
        sa.Column("tags", json_type(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("provenance", json_type(), nullable=False),
        sa.Column("memory_id", sa.String(36), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'released', 'rejected')",
            name=op.f("ck_quarantine_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_scope"), "quarantine", ["scope"])
    op.create_index(op.f("ix_quarantine_subject"), "quarantine", ["subject"])
    op.create_index(op.f("ix_quarantine_status_created_at"), "quarantine", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantine_status_created_at"), table_name="quarantine")
    op.drop_index(op.f("ix_quarantine_subject"), table_name="quarantine")
    op.drop_index(op.f("ix_quarantine_scope"), table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_table("policies")
