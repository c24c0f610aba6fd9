"""what each line of a sale earned, for exact returns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sales recorded before this table have no row: their returns stay proportional to money.
    op.create_table(
        "sale_attributions",
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("sale_id", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("attribution", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("programme", "sale_id", name=op.f("pk_sale_attributions")),
    )


def downgrade() -> None:
    op.drop_table("sale_attributions")
