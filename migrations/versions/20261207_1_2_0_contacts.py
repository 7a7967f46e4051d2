"""The client's own copy and voice (issue 37): how to reach a case manager (their work phone and when to call)
and the team's general contact, printed on the client's plan summary; the client's feedback links.

Revision ID: 1_2_0
Revises: 1_1_0
Create Date: 2026-12-07 04:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "1_2_0"
down_revision: str | None = "1_1_0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("contact_hours", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True))
    # The language enum exists since 1_0_0 (PostgreSQL keeps it as a type): reuse it, do not create it again.
    language = sa.Enum("FI", "SV", "EN", name="language", create_type=False)
    if op.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        language = postgresql.ENUM("FI", "SV", "EN", name="language", create_type=False)
    op.create_table(
        "client_feedback_link",
        sa.Column("link_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("language", language, nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("link_id"),
    )
    op.create_index("ix_client_feedback_link_pathway_id", "client_feedback_link", ["pathway_id"])


def downgrade() -> None:
    op.drop_index("ix_client_feedback_link_pathway_id", table_name="client_feedback_link")
    op.drop_table("client_feedback_link")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_phone")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("contact_hours")
        batch_op.drop_column("work_phone")
