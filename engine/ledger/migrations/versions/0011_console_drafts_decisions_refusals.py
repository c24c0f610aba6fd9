"""programme drafts, review decisions and the last reload's refused files (the console)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 01:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_drafts")),
    )
    op.create_index("ix_programme_drafts_programme", "programme_drafts", ["programme", "id"])
    op.create_table(
        "review_decisions",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("programme", name=op.f("pk_review_decisions")),
    )
    op.create_table(
        "reload_refusals",
        sa.Column("file", sa.String(length=512), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("file", name=op.f("pk_reload_refusals")),
    )


def downgrade() -> None:
    op.drop_table("reload_refusals")
    op.drop_table("review_decisions")
    op.drop_index("ix_programme_drafts_programme", table_name="programme_drafts")
    op.drop_table("programme_drafts")
