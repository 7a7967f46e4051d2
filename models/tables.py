"""What the database keeps beside the workflows: staff, teams, tokens, notifications, team-review items,
the pathway-event read model and the audit log.

The workflow holds the pathway's truth; these tables serve staff listings, delivery and the audit trail.
Never send a `table=True` object through Temporal: activities map to and from `models.effects`.
Schema changes go through Alembic migrations (`migrations/`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.pathway import Language


def utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp(**kwargs: object) -> object:
    # Timezone-aware on PostgreSQL; SQLite stores the ISO text.
    return Field(default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False, **kwargs))  # type: ignore[arg-type]


class StaffRole(StrEnum):
    PROFESSIONAL = "professional"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class NotificationChannel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


# -- teams and staff ---------------------------------------------------------------------------------


class TeamBase(SQLModel):
    team_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    webhook_url: str | None = Field(default=None, max_length=2000)


class Team(TeamBase, table=True):
    webhook_secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = _timestamp()  # type: ignore[assignment]


class StaffBase(SQLModel):
    staff_id: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(max_length=200)
    role: StaffRole
    language: Language = Language.FI
    email: str | None = Field(default=None, max_length=320)
    active: bool = True


class Staff(StaffBase, table=True):
    created_at: datetime = _timestamp()  # type: ignore[assignment]


class StaffTeam(SQLModel, table=True):
    """Membership: a professional or coordinator acts on the pathways of their own teams."""

    staff_id: str = Field(foreign_key="staff.staff_id", primary_key=True, max_length=64)
    team_id: str = Field(foreign_key="team.team_id", primary_key=True, max_length=64)


class ApiToken(SQLModel, table=True):
    """Bearer tokens are shown once when issued; only their SHA-256 hash is kept."""

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(foreign_key="staff.staff_id", index=True, max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: datetime = _timestamp()  # type: ignore[assignment]
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


# -- effects of the pathways --------------------------------------------------------------------------


class Notification(SQLModel, table=True):
    """Outbox and in-app inbox in one: a row per recipient and pathway event, delivered per channel."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=300)
    recipient: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=64)
    pathway_id: str = Field(index=True, max_length=100)
    team: str = Field(max_length=64)
    language: Language
    subject: str = Field(max_length=300)
    body: str = Field(max_length=4000)
    channel: NotificationChannel
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _timestamp()  # type: ignore[assignment]
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class TeamReviewItem(SQLModel, table=True):
    review_id: str = Field(primary_key=True, max_length=64)
    pathway_id: str = Field(index=True, max_length=100)
    team: str = Field(index=True, max_length=64)
    cause: str = Field(max_length=64)
    reason: str = Field(max_length=4000)
    opened_by: str = Field(max_length=64)
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    decided_by: str | None = Field(default=None, max_length=64)
    decision: str | None = Field(default=None, max_length=64)


class PathwayEventRecord(SQLModel, table=True):
    """The read model: one row per pathway event; a retried activity writes nothing twice."""

    __tablename__ = "pathway_event"
    __table_args__ = (UniqueConstraint("pathway_id", "sequence", name="uq_pathway_event_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    pathway_id: str = Field(index=True, max_length=100)
    sequence: int
    team: str = Field(index=True, max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(max_length=64)
    kind: str = Field(index=True, max_length=64)
    summary: str = Field(max_length=500)
    stage: str = Field(max_length=32)
    details: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The pathway's situation after this event, for caseloads and reports.
    case_manager: str | None = Field(default=None, index=True, max_length=64)
    route: str | None = Field(default=None, max_length=32)


class PathwayDirectoryEntry(SQLModel, table=True):
    """The team a pathway belongs to, so the API authorizes an action without asking Temporal first.

    Written by the API at intake in the same commit as the audit line, or on the first access to a
    pathway started some other way (then taken from the pathway's own search attributes). A pathway's
    team never changes; a client's next pathway, under the same id after closure, overwrites the row.
    """

    __tablename__ = "pathway_directory"

    pathway_id: str = Field(primary_key=True, max_length=100)
    team: str = Field(index=True, max_length=64)
    recorded_at: datetime = _timestamp()  # type: ignore[assignment]


class AuditLogEntry(SQLModel, table=True):
    """Every read and action on a pathway: who, when, which pathway, what (the client's right to know)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp()  # type: ignore[assignment]
    staff_id: str = Field(index=True, max_length=64)
    pathway_id: str | None = Field(default=None, index=True, max_length=100)
    action: str = Field(max_length=100)
    purpose: str | None = Field(default=None, max_length=300)
    outcome: str = Field(default="ok", max_length=32)
