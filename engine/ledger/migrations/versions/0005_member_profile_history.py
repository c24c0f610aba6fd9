"""member profile history

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Who changed which profile field, when: {field: [old, new]} per enrolment or update.
    op.create_table(
        "member_profile_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_profile_history")),
    )
    op.create_index(
        "ix_member_profile_history_member",
        "member_profile_history",
        ["programme", "member_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_member_profile_history_member", table_name="member_profile_history")
    op.drop_table("member_profile_history")
