"""Responses of the HTTP API, and the bodies of staff and team administration.

The bodies of intake and staff actions are the models of `models.actions` themselves: the API fills the
acting staff member from the sign-in, so nobody can act in someone else's name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from models.pathway import (
    PATHWAY_ID_PATTERN,
    ContactChannel,
    DeadlineKind,
    Language,
    PartnerChannel,
    PartnerId,
    PartnerKind,
    StaffId,
    Stage,
    TeamId,
    TeamReviewCause,
    TriageRoute,
)
from models.process import ActionAnswer, Deadline, RecordDelay
from models.record import ClientCopyState, PathwayMeasures, PathwayRecord
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
    FAILED = "failed"


class OfferedAction(BaseModel):
    """An action the signed-in member may take on the pathway now (the rules still have the last word)."""

    name: str = Field(description="The action's name, as in the audit log")
    method: str = "POST"
    path: str = Field(description="Its route; {names} in it are the ids of the item it acts on")
    summary: str


class PathwayRead(PathwayRecord):
    """The pathway's record from the database, with its live process while it runs."""

    team_review_pending: bool = False
    overdue: bool = False
    next_deadline: Deadline | None = Field(default=None, description="The earliest deadline that has not fired.")
    overdue_deadlines: list[DeadlineKind] = Field(default=[], description="What is late now, and why it is overdue.")
    process: ProcessStateName = Field(
        description="running: live fields are current; closed: the pathway ended; unavailable: the process could "
        "not be asked, so the live fields are the last recorded ones; failed: the pathway's process ended without "
        "closing it (its coordinators recover it: docs/operations.md)."
    )
    live_unavailable_reason: str | None = Field(
        default=None, description="Why the live part (next deadline, what is decided but not yet written) is missing."
    )
    record_delay: RecordDelay | None = Field(
        default=None, description="The record has not been written since then: the database is away; nothing is lost."
    )
    available_actions: list[OfferedAction] = Field(
        default=[], description="What the signed-in member may do on the pathway now, from the actions' declarations."
    )
    client_copy: ClientCopyState | None = Field(
        default=None,
        description="Whether the client's copy of the plan still holds: not_given, plan_changed, "
        "case_manager_changed (a hand-over accepted since) or current; none before there is a plan.",
    )
    measures: PathwayMeasures = Field(
        default_factory=PathwayMeasures,
        description="Work ability as measured: the Work Ability Score's first and latest answers and their change, "
        "the GAS goals scored and their T-score.",
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


class Timeline(Page[TimelineEntry]):
    """A page of the timeline; on its last page, what is decided but still being written (recorded false)."""

    process: ProcessStateName | None = Field(default=None, description="As in GET /pathways/{id}; on the last page.")
    live_unavailable_reason: str | None = Field(
        default=None, description="Why what is decided but not yet written could not be shown (last page)."
    )


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
    contact_phone: str | None = None
    contact_email: str | None = None


class PartnerCreate(Body):
    partner_id: PartnerId
    name: str = Field(min_length=1, max_length=200, description="The organisation's name as the team knows it.")
    kind: PartnerKind
    channel: PartnerChannel = Field(description="email: a signed link by e-mail; webhook: signed calls to its system.")
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook_url: str | None = Field(default=None, max_length=2000)
    language: Language = Field(default=Language.FI, description="The language of the partner's messages and page.")


class PartnerUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    channel: PartnerChannel | None = None
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook_url: str | None = Field(default=None, max_length=2000)
    language: Language | None = None
    active: bool | None = Field(default=None, description="false: no further referrals to it (its history stays).")
    rotate_webhook_secret: bool = Field(default=False, description="Make a new webhook secret (shown once).")

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> PartnerUpdate:
        # Absent keeps a field; null would empty one the partner cannot be without (found by fuzzing: a 500).
        nulled = sorted(
            name
            for name in ("name", "channel", "language", "active")
            if name in self.model_fields_set and getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null: leave a field out to keep it as it is")
        return self


class PartnerPublic(BaseModel):
    team_id: str
    partner_id: str
    name: str
    kind: PartnerKind
    channel: PartnerChannel
    email: str | None
    webhook_url: str | None
    language: Language
    active: bool


class PartnerSaved(PartnerPublic):
    webhook_secret: str | None = Field(
        default=None,
        description="A webhook partner's new secret, shown only this once: it signs what we send the partner and "
        "what the partner calls back with.",
    )


class HandoverAssignment(Body):
    pathway_id: str = Field(pattern=PATHWAY_ID_PATTERN)
    to_case_manager: StaffId


class HandoverRequest(Body):
    """Hand a case manager's open pathways to others in one request: all of them to one colleague, a chosen set
    of them, or each to its own new case manager. Each pathway's hand-over is pending until accepted."""

    from_case_manager: StaffId
    reason: str = Field(min_length=1, max_length=500, description="Why (e.g. long absence); shown to the new ones.")
    to_case_manager: StaffId | None = Field(default=None, description="Everyone's new case manager.")
    pathway_ids: list[str] | None = Field(
        default=None, max_length=500, description="Only these of the case manager's pathways (default: all open ones)."
    )
    assignments: list[HandoverAssignment] | None = Field(
        default=None, max_length=500, description="Each pathway to its own new case manager."
    )

    @model_validator(mode="after")
    def _one_way_of_naming(self) -> HandoverRequest:
        if (self.to_case_manager is None) == (self.assignments is None):
            raise ValueError("give either to_case_manager (with optional pathway_ids) or assignments")
        if self.assignments is not None and self.pathway_ids is not None:
            raise ValueError("pathway_ids goes with to_case_manager; assignments name their pathways themselves")
        named = [a.pathway_id for a in self.assignments or []] or list(self.pathway_ids or [])
        if len(named) != len(set(named)):
            raise ValueError("the same pathway appears twice")
        return self


class HandoverOutcome(StrEnum):
    PROPOSED = "proposed"
    REFUSED = "refused"
    FAILED = "failed"


class HandoverResult(BaseModel):
    pathway_id: str
    to_case_manager: str | None
    outcome: HandoverOutcome
    detail: str | None = Field(default=None, description="Why it was refused or failed.")
    answer: ActionAnswer | None = None


class HandoverResults(BaseModel):
    proposed: int
    refused: int
    failed: int
    results: list[HandoverResult] = Field(description="One per pathway, in the order named (or oldest first).")


SignInSubject = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="The identity provider's subject (`sub`) as the refusal of an unlinked sign-in shows it.",
    ),
]


class StaffCreate(Body):
    staff_id: StaffId
    display_name: str = Field(min_length=1, max_length=200)
    role: StaffRole
    teams: list[TeamId] = Field(default=[], max_length=20)
    language: Language = Language.FI
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    sign_in_subject: SignInSubject | None = Field(
        default=None,
        description="The identity provider's subject (`sub`) the member signs in as, when already known; it can "
        "be linked later (PUT /staff/{id}/identity).",
    )


class StaffPublic(BaseModel):
    staff_id: str
    display_name: str
    role: StaffRole
    teams: list[str]
    language: Language
    active: bool
    sign_in_linked: bool = Field(description="An identity provider's account is linked: the member can sign in.")
    email: str | None = Field(default=None, description="Work e-mail.")
    work_phone: str | None = Field(default=None, description="Work phone, as clients call it.")
    contact_hours: str | None = Field(default=None, description="When to call, in the member's words.")


# A work phone as people write it: digits with spaces, dashes, brackets and a leading +.
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()-]{4,38}$")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"


def _work_phone(value: str) -> str:
    value = value.strip()
    if not PHONE_PATTERN.match(value):
        raise ValueError("a phone number: digits, spaces, dashes and brackets, with + before a country code")
    return value


WorkPhone = Annotated[str, Field(max_length=40, examples=["+358 40 123 4567"]), AfterValidator(_work_phone)]
WorkEmail = Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN, examples=["tyokyky@example.fi"])]


class StaffContact(Body):
    """How clients and colleagues reach a staff member; printed on their clients' plan summaries. Only the
    fields given change (null clears one); the e-mail is also where the member's notifications go."""

    email: WorkEmail | None = None
    work_phone: WorkPhone | None = None
    contact_hours: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["Mon-Fri 9-11; otherwise leave a message"]
    )


class TeamContact(Body):
    """The team's general contact, on its clients' plan summaries beside the case manager's own."""

    contact_phone: WorkPhone | None = None
    contact_email: WorkEmail | None = None


class AboutMe(StaffPublic):
    """The signed-in member, as their colleagues and their clients' summaries see them."""


class StaffIdentity(Body):
    subject: SignInSubject


class StaffIdentityLinked(BaseModel):
    staff_id: str
    sign_in_linked: bool


class TokenRequest(Body):
    label: str = Field(default="", max_length=200, description="What the token is for (your own note).")
    days: int | None = Field(default=None, ge=1, le=3650, description="Lifetime; at most PATHWAYS_API_TOKEN_DAYS.")


class TokenPublic(BaseModel):
    """A bearer token as its owner lists it: never the token itself, which is shown once."""

    token_id: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="The new bearer token. Shown only this once; only its hash is kept.")


class TokensRevoked(BaseModel):
    staff_id: str
    tokens_revoked: int = Field(description="How many of the member's tokens were revoked.")


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


class AuditSignalPublic(BaseModel):
    """A pattern in the audit log worth a look (not a verdict): what was counted, for whom, over when."""

    kind: str = Field(description="refused_attempts, outside_caseload or night_reads (listed in that order).")
    staff_id: str
    count: int
    first_at: datetime
    last_at: datetime
    description: str


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


class AuditLogPage(BaseModel):
    total: int = Field(description="Lines matching the filters in all (this page shows `limit` of them).")
    entries: list[AuditEntryPublic] = Field(description="Newest first.")


class NotificationPublic(BaseModel):
    id: int
    kind: str
    pathway_id: str | None = Field(description="None for a notice about the team (its partner register).")
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
