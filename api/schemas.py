"""Responses of the HTTP API, and the bodies of staff and team administration.

The bodies of intake and staff actions are the models of `models.actions` themselves: the API fills the
acting staff member from the sign-in, so nobody can act in someone else's name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.pathway import (
    ContactChannel,
    DeadlineKind,
    Language,
    StaffId,
    Stage,
    TeamId,
    TeamReviewCause,
    TriageRoute,
)
from models.process import Deadline
from models.record import PathwayRecord
from models.tables import StaffRole

T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors -------------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    detail: str = Field(description="What was wrong, in words staff can act on.")


# -- pathways -------------------------------------------------------------------------------------------
# Action bodies are the fields models of `models.actions`, declared once (see `workflows.actions`).


class PathwayReceipt(BaseModel):
    """The answer to an intake: the pathway is started and durable; its record follows at `Location`.

    Intake does not wait for the worker to run the pathway's first step, so a burst of referrals is
    bounded by Temporal, not by the worker."""

    pathway_id: str
    client_reference: str
    ordinal: int = Field(description="The client's 1st, 2nd ... pathway.")
    team: str
    stage: Stage = Field(description="Always awaiting_triage: a new pathway waits for the team's triage.")
    registered_by: str
    registered_at: datetime = Field(description="When the API started the pathway (UTC).")
    demo: bool


class ProcessStateName(StrEnum):
    RUNNING = "running"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"


class PathwayRead(PathwayRecord):
    """The pathway's record from the database, with its live process while it runs."""

    team_review_pending: bool = False
    overdue: bool = False
    next_deadline: Deadline | None = Field(default=None, description="The earliest deadline that has not fired.")
    overdue_deadlines: list[DeadlineKind] = Field(default=[], description="What is late now, and why it is overdue.")
    process: ProcessStateName = Field(
        description="running: live fields are current; closed: the pathway ended; unavailable: Temporal could "
        "not be asked, so the live fields are the last recorded ones."
    )


class PathwayListItem(BaseModel):
    """One pathway in a listing (no client data beyond the pseudonymous reference)."""

    pathway_id: str
    client_reference: str
    stage: Stage
    team: str
    case_manager: str | None
    route: TriageRoute | None
    team_review_pending: bool
    overdue: bool
    next_deadline_at: datetime | None
    next_deadline_kind: DeadlineKind | None
    opened_at: datetime = Field(description="When the referral arrived.")
    closed_at: datetime | None
    demo: bool = Field(description="Demo data (make run's seeding or a demo intake), not a real client.")

    @field_validator("next_deadline_at", "opened_at", "closed_at")
    @classmethod
    def _times_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = Field(
        default=None, description="Pass as page_token to get the next page; absent on the last page."
    )


class TimelineEntry(BaseModel):
    """One line of the timeline: what happened, when, who did it (coded facts only: notes are in the record)."""

    sequence: int
    at: datetime
    actor: str
    kind: str
    stage: Stage
    summary: str
    details: dict[str, Any] = Field(description="The event's coded facts (route, cause, decision, rating ...).")
    recorded: bool = Field(description="In the database already (false: decided, being written right now).")


class FollowUpEntry(BaseModel):
    sequence: int
    contacted_at: datetime
    channel: ContactChannel
    note: str
    recorded_by: str


class PendingTeamReview(BaseModel):
    pathway_id: str
    team: str
    review_id: str
    cause: TeamReviewCause
    reason: str
    opened_by: str
    opened_at: datetime
    case_manager: str | None
    stage: Stage

    @field_validator("opened_at")
    @classmethod
    def _opened_utc(cls, value: datetime) -> datetime | None:
        return _utc(value)


# -- staff and teams -------------------------------------------------------------------------------------


class TeamCreate(Body):
    team_id: TeamId
    name: str = Field(min_length=1, max_length=200)


class TeamPublic(BaseModel):
    team_id: str
    name: str


class StaffCreate(Body):
    staff_id: StaffId
    display_name: str = Field(min_length=1, max_length=200)
    role: StaffRole
    teams: list[TeamId] = Field(default=[], max_length=20)
    language: Language = Language.FI
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class StaffPublic(BaseModel):
    staff_id: str
    display_name: str
    role: StaffRole
    teams: list[str]
    language: Language
    active: bool


class StaffCreated(StaffPublic):
    token: str = Field(description="The bearer token of the new staff member. Shown only this once.")


class TokenRequest(Body):
    revoke_existing: bool = Field(
        default=False, description="Revoke the member's other tokens: how a lost or leaked token is replaced."
    )


class TokenIssued(BaseModel):
    staff_id: str
    token: str = Field(description="The new bearer token. Shown only this once; only its hash is kept.")
    tokens_revoked: int = Field(description="How many of the member's other tokens were revoked with it.")
    expires_at: datetime = Field(description="When the token stops working (PATHWAYS_API_TOKEN_DAYS after issue).")


class SignedInStaffMember(BaseModel):
    """Who the request is signed in as, with the role and teams the access path uses."""

    staff_id: str
    display_name: str
    role: StaffRole
    teams: list[str]


class StaffDeactivated(BaseModel):
    staff_id: str
    active: bool
    tokens_revoked: int = Field(
        description="Tokens revoked now (0 when repeated). Running API processes refuse them within the token "
        "cache time."
    )
    open_pathways_as_case_manager: int | None = Field(
        description="Open pathways that still name the member as case manager: each needs a new one "
        "(GET /pathways?case_manager=ID lists them; POST /pathways/{id}/case-manager hands one over). Until "
        "then their reminders go to the team's coordinators. null when Temporal could not be asked."
    )


# -- audit and notifications ---------------------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they are UTC, and RFC 3339 (the schema's date-time) needs the offset.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class AuditEntryPublic(BaseModel):
    at: datetime
    staff_id: str
    pathway_id: str | None
    action: str
    purpose: str | None = None
    outcome: str

    @field_validator("at")
    @classmethod
    def _at_utc(cls, value: datetime) -> datetime | None:
        return _utc(value)


class NotificationPublic(BaseModel):
    id: int
    kind: str
    pathway_id: str
    team: str
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @field_validator("created_at", "read_at")
    @classmethod
    def _times_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class Readiness(BaseModel):
    temporal: str
    database: str
