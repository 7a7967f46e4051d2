"""The data protection officer's role (log monitoring across teams; no client data).

Revision ID: 1_1_0
Revises: 1_0_0
Create Date: 2026-12-07 01:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "1_1_0"
down_revision: str | None = "1_0_0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL keeps the role as a native enum; SQLite keeps the name as text without a check.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE staffrole ADD VALUE IF NOT EXISTS 'DATA_PROTECTION_OFFICER'")


def downgrade() -> None:
    # An enum value cannot be dropped in PostgreSQL without rebuilding the type; staff rows of the role must
    # go first. Left in place: an unused value is harmless.
    pass
