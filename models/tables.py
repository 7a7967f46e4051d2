"""What the database keeps: the client records of the pathways, staff, teams, tokens, the notification
outbox and inbox, team-review items and the audit log.

The database keeps the record; Temporal keeps the process. A pathway's record (`pathway` row and its
`pathway_event` rows) is written by the activity that records what the workflow decided, and stays
readable for as long as the record's retention says, whatever happens to the workflow execution.

Client free text is never in a plain column: the record document, each event's free text and a team
review's reason are sealed by `core.crypto` (AES-GCM with the payload codec's key ring when encryption is
configured). Never send a `table=True` object through Temporal: activities map to and from `models.effects`.
Schema changes go through Alembic migrations (`migrations/`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.pathway import Language, PartnerChannel, PartnerKind, ReferralStatus


def utc_now() -> datetime:
    return datetime.now(UTC)


def insert_values(model: type[SQLModel], **given: Any) -> dict[str, Any]:
    """A new row's column values for a Core insert: the given ones and the model's defaults (a Core insert
    applies none of them). For a hot path where the ORM's unit of work costs more than the write itself."""
    values = dict(given)
    for name, field in model.model_fields.items():
        if name in values:
            continue
        if field.default_factory is not None:
            values[name] = field.default_factory()  # type: ignore[call-arg]
        elif field.default is not None and field.default is not PydanticUndefined:
            values[name] = field.default
    return values


def _timestamp(**kwargs: object) -> Any:
    # Timezone-aware on PostgreSQL; SQLite stores the ISO text.
    return Field(default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False, **kwargs))  # type: ignore[arg-type]


def _optional_timestamp(**kwargs: object) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True, **kwargs))  # type: ignore[arg-type]


class StaffRole(StrEnum):
    PROFESSIONAL = "professional"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    # A script or an integration, not a person: its own teams, the actions it may use and the purpose its reads
    # are audited with. Made from the command line only; it never signs in, and its tokens are made there too.
    SERVICE = "service"
    # The data protection officer (GDPR Art. 37-39): reads the audit log across teams (log monitoring), never
    # client data. The member's name is what the database keeps: short, so the column keeps its width.
    DPO = "data_protection_officer"


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
    created_at: datetime = _timestamp()
    # The team's general contact, on every client's plan summary beside the case manager's own.
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=320)


class StaffBase(SQLModel):
    staff_id: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(max_length=200)
    role: StaffRole
    language: Language = Language.FI
    email: str | None = Field(default=None, max_length=320)
    active: bool = True
    # How a client reaches the member (their own "About me"; an administrator can correct it).
    work_phone: str | None = Field(default=None, max_length=40)
    contact_hours: str | None = Field(default=None, max_length=200)


class Staff(StaffBase, table=True):
    created_at: datetime = _timestamp()
    # The identity provider's subject (`sub`), bound at the first OpenID Connect sign-in.
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True, index=True)
    # A service account's: the actions it may use (audit action names) and the purpose of its reads.
    service_actions: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    service_purpose: str | None = Field(default=None, max_length=300)


class StaffTeam(SQLModel, table=True):
    """Membership: a professional or coordinator acts on the pathways of their own teams."""

    staff_id: str = Field(foreign_key="staff.staff_id", primary_key=True, max_length=64)
    team_id: str = Field(foreign_key="team.team_id", primary_key=True, max_length=64)


class ApiToken(SQLModel, table=True):
    """Bearer tokens are shown once when issued; only their SHA-256 hash is kept. A person makes their own
    (`/me/tokens`); a service account's and the first administrator's come from the command line."""

    token_hash: str = Field(primary_key=True, max_length=64)
    # The token's public name, by which its owner lists and revokes it (never enough to use it).
    token_id: str = Field(default_factory=lambda: secrets.token_hex(6), unique=True, max_length=32)
    staff_id: str = Field(foreign_key="staff.staff_id", index=True, max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = _optional_timestamp()
    # Tokens are for scripts and service accounts; people sign in with the identity provider. None: never.
    expires_at: datetime | None = _optional_timestamp()


class SignInMethod(StrEnum):
    OIDC = "oidc"
    DEVELOPMENT = "development"


class SignInRequest(SQLModel, table=True):
    """A browser's sign-in on its way through the identity provider: the state it must come back with, the
    nonce its ID token must carry and the PKCE verifier. Used once, within minutes; any API replica can
    finish it."""

    __tablename__ = "sign_in_request"

    state_hash: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(max_length=200)
    code_verifier: str = Field(max_length=200)
    return_to: str = Field(default="/", max_length=2000)
    created_at: datetime = _timestamp()
    expires_at: datetime = _timestamp()


class StaffSession(SQLModel, table=True):
    """A browser's signed-in session (the cookie holds a random id, the table its hash), for the web app
    and the Temporal Web UI's codec requests."""

    __tablename__ = "staff_session"

    session_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(foreign_key="staff.staff_id", index=True, max_length=64)
    method: SignInMethod
    created_at: datetime = _timestamp()
    expires_at: datetime = _timestamp()
    ended_at: datetime | None = _optional_timestamp()
    # For the identity provider's sign-out (RP-initiated logout); sealed by nothing: it is a signed token
    # with the staff member's identifiers, no client data.
    id_token_hint: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # What the identity provider said at sign-in, where the deployment takes role and teams from its claims
    # (None: from the staff table), so a browser has the same access as a bearer token from the same sign-in.
    role: StaffRole | None = None
    teams: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # A session unused for PATHWAYS_SESSION_IDLE_MINUTES ends (touched at most once a minute).
    last_seen_at: datetime | None = _optional_timestamp()


# -- the client records ---------------------------------------------------------------------------------


class PathwayRow(SQLModel, table=True):
    """One pathway's record: coded columns for listings and authorization, the sealed record document.

    Written by the API at intake (so a new referral lists at once and the client's one open pathway is
    held), then by the activity that records events. At most one open pathway per client: a partial unique
    index on the client reference where `closed_at` is null.
    """

    __tablename__ = "pathway"
    __table_args__ = (
        Index(
            "uq_pathway_open_per_client",
            "client_reference",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        UniqueConstraint("client_reference", "ordinal", name="uq_pathway_client_ordinal"),
        # A caseload: one staff member's open pathways of their teams. Composite, because SQLite plans without
        # statistics and read a one-team caseload through the team's index otherwise (23 ms against 0.3 ms).
        Index("ix_pathway_caseload", "case_manager", "team", "closed_at"),
    )

    pathway_id: str = Field(primary_key=True, max_length=100)
    client_reference: str = Field(index=True, max_length=64)
    ordinal: int = Field(description="The client's 1st, 2nd ... pathway.")
    team: str = Field(index=True, max_length=64)
    demo: bool = False
    stage: str = Field(index=True, max_length=32)
    case_manager: str | None = Field(default=None, max_length=64)
    route: str | None = Field(default=None, max_length=32)
    team_review_pending: bool = False
    overdue: bool = False
    next_deadline_at: datetime | None = _optional_timestamp(index=True)
    next_deadline_kind: str | None = Field(default=None, max_length=64)
    opened_at: datetime = _timestamp()
    closed_at: datetime | None = _optional_timestamp(index=True)
    closure_reason: str | None = Field(default=None, max_length=32)
    registered_by: str = Field(max_length=64)
    # The sealed `models.record.PathwayRecord` JSON; null until the first event is recorded.
    record: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_sequence: int = 0
    updated_at: datetime = _timestamp()


class PathwayEventRow(SQLModel, table=True):
    """The timeline: one row per pathway event, unique on (pathway, sequence), so a retry writes nothing twice.

    `details` holds the event's coded facts (JSON, no free text) for reports and the FHIR export; `texts` its
    sealed free text.
    """

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
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    texts: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TeamReviewItem(SQLModel, table=True):
    """A pending or decided team review: the coordinators' queue, oldest first."""

    review_id: str = Field(primary_key=True, max_length=64)
    pathway_id: str = Field(index=True, max_length=100)
    team: str = Field(index=True, max_length=64)
    cause: str = Field(max_length=64)
    # Sealed free text.
    reason: str = Field(sa_column=Column(Text, nullable=False))
    opened_by: str = Field(max_length=64)
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_at: datetime | None = _optional_timestamp()
    decided_by: str | None = Field(default=None, max_length=64)
    decision: str | None = Field(default=None, max_length=64)


# -- partner organisations and referrals out --------------------------------------------------------------


class PartnerBase(SQLModel):
    name: str = Field(max_length=200)
    kind: PartnerKind
    channel: PartnerChannel
    email: str | None = Field(default=None, max_length=320, description="For the e-mail channel.")
    webhook_url: str | None = Field(default=None, max_length=2000, description="For the webhook channel.")
    language: Language = Language.FI
    active: bool = True


class Partner(PartnerBase, table=True):
    """An organisation outside the team (Kela, employment services, TYP, a provider) in the team's register.

    It has no staff accounts: it reads a referral and answers through a signed, expiring link, or its system
    receives a signed webhook and calls back signed with the same secret."""

    team_id: str = Field(foreign_key="team.team_id", primary_key=True, max_length=64)
    partner_id: str = Field(primary_key=True, max_length=48)
    webhook_secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = _timestamp()


class PartnerReferral(SQLModel, table=True):
    """A referral to a partner as the provider may see it: what it names (coded), the sealed message shared
    under the client's consent, and whether sharing still holds (status, consent expiry). Written by the
    activity that records the pathway's events; read by the provider's link page and webhook."""

    __tablename__ = "partner_referral"

    referral_id: str = Field(primary_key=True, max_length=64)
    pathway_id: str = Field(index=True, max_length=100)
    team: str = Field(index=True, max_length=64)
    partner_id: str = Field(index=True, max_length=48)
    service_id: str = Field(max_length=64)
    service_kind: str = Field(max_length=64)
    planned_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    planned_end: datetime | None = _optional_timestamp()
    remote: bool = False
    # Sealed free text (place `referral:<referral id>`): what the case manager wrote for the provider.
    message: str = Field(sa_column=Column(Text, nullable=False))
    status: ReferralStatus = ReferralStatus.SENT
    sent_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    answer_due: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    consent_expires_at: datetime | None = _optional_timestamp()
    answered_at: datetime | None = _optional_timestamp()
    withdrawn_at: datetime | None = _optional_timestamp()


# -- notifications -------------------------------------------------------------------------------------


class Notification(SQLModel, table=True):
    """Outbox and in-app inbox in one: a row per recipient, decision and channel.

    Written in the same transaction as the events of the decision that caused it, so a notice exists only
    for a decision in the workflow's history. The inbox row is delivered when written; e-mail and webhook
    rows are delivered by whoever claims them first (`claimed_until`): the recording worker at once, the
    outbox sweep later if that attempt fails or the worker dies.
    """

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=400)
    recipient: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=64)
    # None for a team's notice (its partner register changed), which is about no pathway.
    pathway_id: str | None = Field(default=None, index=True, max_length=100)
    team: str = Field(max_length=64)
    # A notice to a partner names its referral (the webhook carries what the consent lets it share).
    referral_id: str | None = Field(default=None, max_length=64)
    language: Language
    subject: str = Field(max_length=300)
    body: str = Field(max_length=4000)
    channel: NotificationChannel
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    due_at: datetime | None = _optional_timestamp()
    created_at: datetime = _timestamp()
    next_attempt_at: datetime | None = _optional_timestamp()
    claimed_until: datetime | None = _optional_timestamp()
    delivered_at: datetime | None = _optional_timestamp()
    read_at: datetime | None = _optional_timestamp()


# -- the audit log -------------------------------------------------------------------------------------


class AuditLogEntry(SQLModel, table=True):
    """Every read and action on a pathway: who, when, which pathway, what and why (the client's right to know)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp()
    staff_id: str = Field(index=True, max_length=64)
    pathway_id: str | None = Field(default=None, index=True, max_length=100)
    action: str = Field(max_length=100)
    purpose: str | None = Field(default=None, max_length=300)
    outcome: str = Field(default="ok", max_length=32)


class ClientFeedbackLink(SQLModel, table=True):
    """A client's feedback link (issue 37): signed, valid until `expires_at`, used once, withdrawable by the
    team. Names the pathway only here, never in the link itself."""

    __tablename__ = "client_feedback_link"

    link_id: str = Field(primary_key=True, max_length=16)
    pathway_id: str = Field(index=True, max_length=100)
    team: str = Field(max_length=64)
    # The client's language: the page the link opens speaks it.
    language: Language
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = _optional_timestamp()
    withdrawn_at: datetime | None = _optional_timestamp()
    withdrawn_by: str | None = Field(default=None, max_length=64)
