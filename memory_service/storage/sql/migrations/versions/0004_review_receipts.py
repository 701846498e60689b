"""Quarantine review (two-person approvals) and purge/erasure receipts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory_service.storage.sql.schema import UtcDateTime, json_type

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(
            sa.Column(
                "two_person_release",
                sa.Boolean(create_constraint=False),
                nullable=False,
                server_default=sa.false(),
            )
        )
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(
            sa.Column("approvals", json_type(), nullable=False, server_default=sa.text("'[]'"))
        )
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("selector", json_type(), nullable=False),
        sa.Column("dry_run", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("counts", json_type(), nullable=False),
        sa.Column("memory_ids", json_type(), nullable=False),
        sa.Column("quarantine_ids", json_type(), nullable=False),
        sa.Column("verified_at", UtcDateTime(), nullable=True),
        sa.Column("compacted_at", UtcDateTime(), nullable=True),
        sa.Column("physical", json_type(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
    )
    op.create_index("ix_receipts_created_at", "receipts", ["created_at"])


def downgrade() -> None:
    op.drop_table("receipts")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("approvals")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("two_person_release")
