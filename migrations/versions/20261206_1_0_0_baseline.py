"""The release 1.0.0 schema, whole: the one baseline every later revision builds on.

The pre-1.0 revisions (0001-0006) were squashed into this one; nothing before 1.0 ran in production, and a
database made by a pre-1.0 build is refused at start (`core.db.PreReleaseDatabaseError`).

Revision ID: 1_0_0
Revises:
Create Date: 2026-12-06 21:13:04.486319+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "1_0_0"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_pathway_id"), ["pathway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("referral_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("language", sa.Enum("FI", "SV", "EN", name="language"), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("channel", sa.Enum("INBOX", "EMAIL", "WEBHOOK", name="notificationchannel"), nullable=False),
        sa.Column("status", sa.Enum("PENDING", "DELIVERED", "FAILED", name="deliverystatus"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_pathway_id"), ["pathway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_status"), ["status"], unique=False)

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

    op.create_table(
        "pathway",
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("client_reference", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("case_manager", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("route", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("team_review_pending", sa.Boolean(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("next_deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_deadline_kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closure_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("registered_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("record", sa.Text(), nullable=True),
        sa.Column("recorded_sequence", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pathway_id"),
        sa.UniqueConstraint("client_reference", "ordinal", name="uq_pathway_client_ordinal"),
    )
    with op.batch_alter_table("pathway", schema=None) as batch_op:
        batch_op.create_index("ix_pathway_caseload", ["case_manager", "team", "closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_client_reference"), ["client_reference"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_next_deadline_at"), ["next_deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_stage"), ["stage"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_team"), ["team"], unique=False)
        batch_op.create_index(
            "uq_pathway_open_per_client",
            ["client_reference"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )

    op.create_table(
        "pathway_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("texts", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pathway_id", "sequence", name="uq_pathway_event_sequence"),
    )
    with op.batch_alter_table("pathway_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pathway_event_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_event_pathway_id"), ["pathway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pathway_event_team"), ["team"], unique=False)

    op.create_table(
        "sign_in_request",
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("code_verifier", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("return_to", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    op.create_table(
        "staff",
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sa.Enum("PROFESSIONAL", "COORDINATOR", "ADMIN", "SERVICE", name="staffrole"), nullable=False),
        sa.Column("language", sa.Enum("FI", "SV", "EN", name="language"), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("oidc_subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("service_actions", sa.JSON(), nullable=True),
        sa.Column("service_purpose", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_oidc_subject"), ["oidc_subject"], unique=True)

    op.create_table(
        "team",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("webhook_secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "teamreviewitem",
        sa.Column("review_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("pathway_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("review_id"),
    )
    with op.batch_alter_table("teamreviewitem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teamreviewitem_pathway_id"), ["pathway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_teamreviewitem_team"), ["team"], unique=False)

    op.create_table(
        "apitoken",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.UniqueConstraint("token_id"),
    )
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apitoken_staff_id"), ["staff_id"], unique=False)

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
        sa.Column("language", sa.Enum("FI", "SV", "EN", name="language"), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("partner_id", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("webhook_secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.team_id"],
        ),
        sa.PrimaryKeyConstraint("team_id", "partner_id"),
    )
    op.create_table(
        "staff_session",
        sa.Column("session_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("method", sa.Enum("OIDC", "DEVELOPMENT", name="signinmethod"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id_token_hint", sa.Text(), nullable=True),
        sa.Column("role", sa.Enum("PROFESSIONAL", "COORDINATOR", "ADMIN", "SERVICE", name="staffrole"), nullable=True),
        sa.Column("teams", sa.JSON(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "staffteam",
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.staff_id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.team_id"],
        ),
        sa.PrimaryKeyConstraint("staff_id", "team_id"),
    )


def downgrade() -> None:
    op.drop_table("staffteam")
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_staff_id"))

    op.drop_table("staff_session")
    op.drop_table("partner")
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apitoken_staff_id"))

    op.drop_table("apitoken")
    with op.batch_alter_table("teamreviewitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teamreviewitem_team"))
        batch_op.drop_index(batch_op.f("ix_teamreviewitem_pathway_id"))

    op.drop_table("teamreviewitem")
    op.drop_table("team")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_oidc_subject"))

    op.drop_table("staff")
    op.drop_table("sign_in_request")
    with op.batch_alter_table("pathway_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pathway_event_team"))
        batch_op.drop_index(batch_op.f("ix_pathway_event_pathway_id"))
        batch_op.drop_index(batch_op.f("ix_pathway_event_kind"))

    op.drop_table("pathway_event")
    with op.batch_alter_table("pathway", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pathway_open_per_client",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_pathway_team"))
        batch_op.drop_index(batch_op.f("ix_pathway_stage"))
        batch_op.drop_index(batch_op.f("ix_pathway_next_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_pathway_closed_at"))
        batch_op.drop_index(batch_op.f("ix_pathway_client_reference"))
        batch_op.drop_index("ix_pathway_caseload")

    op.drop_table("pathway")
    with op.batch_alter_table("partner_referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_referral_team"))
        batch_op.drop_index(batch_op.f("ix_partner_referral_pathway_id"))
        batch_op.drop_index(batch_op.f("ix_partner_referral_partner_id"))

    op.drop_table("partner_referral")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status"))
        batch_op.drop_index(batch_op.f("ix_notification_recipient"))
        batch_op.drop_index(batch_op.f("ix_notification_pathway_id"))

    op.drop_table("notification")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_staff_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_pathway_id"))

    op.drop_table("audit_log")
    # PostgreSQL keeps the enum types the tables used; an empty database has none.
    if op.get_bind().dialect.name == "postgresql":
        for name in (
            "language",
            "notificationchannel",
            "deliverystatus",
            "referralstatus",
            "staffrole",
            "partnerkind",
            "partnerchannel",
            "signinmethod",
        ):
            op.execute(sa.text(f"DROP TYPE IF EXISTS {name}"))
