"""The caseload's index: a staff member's open pathways of a team, found by (case_manager, team, closed_at).

SQLite plans without statistics, and with only single-column indexes it read a one-team caseload
through the team's index: every pathway of the team with its sealed record (23 ms at 10,000 pathways of
one team, against 0.3 ms through this index). The composite index finds the caseload's own rows. It also
serves every other lookup by case manager (its first column), so the single-column index on it goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pathway", schema=None) as batch_op:
        batch_op.create_index("ix_pathway_caseload", ["case_manager", "team", "closed_at"], unique=False)
        batch_op.drop_index(batch_op.f("ix_pathway_case_manager"))


def downgrade() -> None:
    with op.batch_alter_table("pathway", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pathway_case_manager"), ["case_manager"], unique=False)
        batch_op.drop_index("ix_pathway_caseload")
