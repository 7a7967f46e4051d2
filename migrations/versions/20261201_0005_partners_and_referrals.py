"""Partner organisations and referrals out: the team's register of partners (Kela, employment services,
TYP, providers) with their channel, each referral as the provider may see it, and the referral a partner's
notification is about.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:50:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The staff table's language type exists already (PostgreSQL keeps enums as types of their own).
LANGUAGE = sa.Enum("FI", "SV", "EN", name="language").with_variant(
    postgresql.ENUM("FI", "SV", "EN", name="language", create_type=False), "postgresql"
)


def upgrade() -> None:
    op.create_table(
        "partner",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "KELA",
                "EMPLOYMENT_SERVICES",
                "MULTI_SECTOR_JOINT_SERVICE",
                "SERVICE_PROVIDER",
                "HEALTH_SERVICES",
                "SOCIAL_SERVICES",
                "EDUCATION",
                "OTHER",
                name="partnerkind",
            ),
            nullable=False,
        ),
        sa.Column("channel", sa.Enum("EMAIL", "WEBHOOK", name="partnerchannel"), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("language", LANGUAGE, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("webhook_secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.team_id"]),
        sa.PrimaryKeyConstraint("team_id", "partner_id"),
    )
    op.create_table(
        "partner_referral",
        sa.Column("referral_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("service_kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("planned_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("SENT", "ACCEPTED", "DECLINED", "STARTED", "ENDED", "WITHDRAWN", name="referralstatus"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("referral_id"),
    )
    with op.batch_alter_table("partner_referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_referral_partner_id"), ["partner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_partner_referral_pathway_id"), ["pathway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_partner_referral_team"), ["team"], unique=False)
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("referral_id")
    with op.batch_alter_table("partner_referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_referral_team"))
        batch_op.drop_index(batch_op.f("ix_partner_referral_pathway_id"))
        batch_op.drop_index(batch_op.f("ix_partner_referral_partner_id"))
    op.drop_table("partner_referral")
    op.drop_table("partner")
    bind = op.get_bind()
    for name in ("referralstatus", "partnerchannel", "partnerkind"):
        sa.Enum(name=name).drop(bind, checkfirst=True)
