"""Trust (issue 35): the data protection officer's role (log monitoring across teams; no client data), and
notices about a team rather than a pathway (a partner's destination changed), whose pathway is none.

Revision ID: 1_1_0
Revises: 1_0_0
Create Date: 2026-12-07 01:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "1_1_0"
down_revision: str | None = "1_0_0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL keeps the role as a native enum; SQLite keeps the name as text without a check.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE staffrole ADD VALUE IF NOT EXISTS 'DPO'")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("pathway_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)


def downgrade() -> None:
    officers = op.get_bind().execute(sa.text("SELECT count(*) FROM staff WHERE role = 'DPO'")).scalar()
    if officers:
        # The code before 1.1 cannot load them; deactivating is not enough (the row is still read).
        raise RuntimeError(
            f"{officers} data protection officer account(s) exist: remove them before downgrading below 1_1_0"
        )
    op.execute(sa.text("DELETE FROM notification WHERE pathway_id IS NULL"))
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("pathway_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False)
    # An enum value cannot be dropped in PostgreSQL without rebuilding the type; staff rows of the role must
    # go first. Left in place: an unused value is harmless.
    pass
