"""Pathway directory: each pathway's team, for authorizing staff actions without a Temporal round trip.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Starts empty: pathways opened before this revision are entered on their first access, from the
    # team in their search attributes.
    op.create_table(
        "pathway_directory",
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pathway_id"),
    )
    with op.batch_alter_table("pathway_directory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pathway_directory_team"), ["team"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pathway_directory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathway_directory_team"))
    op.drop_table("pathway_directory")
