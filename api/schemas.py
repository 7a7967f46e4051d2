"""Request bodies and responses of the HTTP API.

Action bodies mirror the workflow's input models (`models.pathway`) without `actor`: the API fills the
actor from the bearer token, so nobody can act in someone else's name. `tests/api/test_schemas.py`
keeps the two in step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContactChannel,
    DeadlineKind,
    Language,
    LongTermSolution,
    NoteText,
    PathwayPolicy,
    PlannedServiceInput,
    ReferralSource,
    ReferringOrganisation,
    ServiceStatusChange,
    ShortText,
    StaffId,
    Stage,
    TeamId,
    TeamReviewCause,
    TeamReviewDecision,
    TriageRoute,
    validate_client_reference,
)
from models.tables import StaffRole

T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors -------------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    detail: str = Field(description="What was wrong, in words staff can act on.")


# -- pathways -------------------------------------------------------------------------------------------


class IntakeBody(Body):
    """A referral; `registered_by` is the signed-in staff member."""

    client_reference: str = Field(
        description="Pseudonymous client reference; never a personal identity code.", examples=["client-4f2a9c"]
    )
    team: TeamId
    referral_source: ReferralSource
    referring_organisation: ReferringOrganisation | None = Field(
        default=None, description="Required for a professional referral, absent for a self-referral."
    )
    client_language: Language = Language.FI
    remote_services_needed: bool = False
    reason: NoteText = Field(description="Why the client is referred (free text, no identity codes).")
    referred_at: datetime | None = Field(default=None, description="When the referral arrived; defaults to now.")
    demo: bool = Field(default=False, description="Demo data, not a real client.")
    policy: PathwayPolicy | None = Field(
        default=None,
        description="Deadlines of this pathway; only for demo pathways (real ones follow the team's defaults).",
    )

    @field_validator("client_reference")
    @classmethod
    def _pseudonymous(cls, value: str) -> str:
        return validate_client_reference(value)


class TriageBody(Body):
    route: TriageRoute
    assessment_level: AssessmentLevel | None = Field(
        default=None, description="Required for an extended assessment: basic or specialist level."
    )
    case_manager: StaffId | None = Field(
        default=None, description="Required unless the route is no_need; a member of the pathway's team."
    )
    redirect_note: NoteText | None = Field(
        default=None, description="Required for no_need: where the client was redirected."
    )
    note: NoteText | None = None


class AssignCaseManagerBody(Body):
    case_manager: StaffId = Field(description="The new case manager, a member of the pathway's team.")
    reason: ShortText


class SetGoalBody(Body):
    goal_id: str | None = Field(default=None, description="Given to update an existing goal; absent adds one.")
    text: NoteText = Field(description="The client's own goal, in the client's own words.")
    target_date: datetime | None = None
    achieved: bool = False


class AddInvestigationBody(Body):
    description: ShortText
    provider: ShortText | None = None
    due_at: datetime | None = None


class CompleteInvestigationBody(Body):
    result_summary: NoteText


class CompleteAssessmentBody(Body):
    summary: NoteText
    recommendation: NoteText


class SetPlanBody(Body):
    services: list[PlannedServiceInput] = Field(min_length=1, max_length=30)
    follow_up_interval: timedelta | None = Field(
        default=None, gt=timedelta(0), description="How often the case manager contacts the client."
    )
    note: NoteText | None = None


class UpdateServiceBody(Body):
    change: ServiceStatusChange
    note: NoteText | None = None


class RecordFollowUpBody(Body):
    contacted_at: datetime | None = Field(default=None, description="When the contact happened; defaults to now.")
    channel: ContactChannel
    note: NoteText


class RequestTeamReviewBody(Body):
    reason: NoteText


class DecideTeamReviewBody(Body):
    decision: TeamReviewDecision
    note: NoteText
    new_case_manager: StaffId | None = Field(default=None, description="Required for change_case_manager.")
    closure_reason: ClosureReason | None = Field(default=None, description="Required for close.")


class RecordOutcomeBody(Body):
    solution: LongTermSolution
    description: NoteText
    started_at: datetime | None = None


class ConfirmSustainmentBody(Body):
    held: bool
    note: NoteText


class CloseBody(Body):
    reason: ClosureReason
    note: NoteText


class RecordFeedbackBody(Body):
    rating: int = Field(ge=1, le=5, description="The client's rating of the support, 1 (poor) to 5 (excellent).")
    comment: str | None = Field(default=None, max_length=4000)


class PathwayReceipt(BaseModel):
    """The answer to an intake: the pathway is started and durable; its state follows at `Location`.

    Intake does not wait for the worker to run the pathway's first step, so a burst of referrals is
    bounded by Temporal, not by the worker."""

    pathway_id: str
    team: str
    stage: Stage = Field(description="Always awaiting_triage: a new pathway waits for the team's triage.")
    registered_by: str
    registered_at: datetime = Field(description="When the API started the pathway (UTC).")
    demo: bool


class PathwayListItem(BaseModel):
    """One pathway in a listing, from Temporal visibility (no client data beyond the pseudonymous id)."""

    pathway_id: str
    stage: Stage | None
    team: str | None
    case_manager: str | None
    route: TriageRoute | None
    team_review_pending: bool
    overdue: bool
    next_deadline_at: datetime | None
    next_deadline_kind: DeadlineKind | None
    started_at: datetime
    demo: bool = Field(description="Demo data (make run's seeding or a demo intake), not a real client.")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = Field(
        default=None, description="Pass as page_token to get the next page; absent on the last page."
    )


class PendingTeamReview(BaseModel):
    pathway_id: str
    team: str
    review_id: str
    cause: TeamReviewCause
    opened_by: str
    opened_at: datetime
    case_manager: str | None
    stage: Stage


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
