"""The contract of the pathway workflow before version 5 (type `PathwayWorkflow`), frozen.

Pathways started before the record moved into the database run on `workflows.legacy.pathway_v4` until
they move their record (`move_record_to_database`) and continue as the current `Pathway` workflow. Their
histories hold payloads of exactly these shapes, so nothing here may change: not a field, not a default.
The current contract is in `models/`.

Originally: the pathway contract: what the API sends to the workflow and what the workflow answers.

Everything here crosses the Temporal boundary through the pydantic data converter, so it must stay
plain data (no database objects, no clocks, no I/O). Adding a field with a default is safe for running
pathways; renaming or removing one breaks replay of saved histories.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# --------------------------------------------------------------------------------------------------
# Vocabulary (English glossary of DOMAIN.md)
# --------------------------------------------------------------------------------------------------


class Stage(StrEnum):
    AWAITING_TRIAGE = "awaiting_triage"
    ASSESSMENT = "assessment"
    PLANNING = "planning"
    IN_SERVICES = "in_services"
    SUSTAINMENT = "sustainment"
    CLOSED = "closed"


OPEN_STAGES = frozenset(stage for stage in Stage if stage is not Stage.CLOSED)


class ReferralSource(StrEnum):
    SELF_REFERRAL = "self_referral"
    PROFESSIONAL_REFERRAL = "professional_referral"


class ReferringOrganisation(StrEnum):
    EMPLOYMENT_SERVICES = "employment_services"
    MULTI_SECTOR_JOINT_SERVICE = "multi_sector_joint_service"
    KELA = "kela"
    HEALTH_STATION = "health_station"
    SOCIAL_SERVICES = "social_services"
    MUNICIPAL_EMPLOYMENT_PILOT = "municipal_employment_pilot"
    OTHER = "other"


class Language(StrEnum):
    FI = "fi"
    SV = "sv"
    EN = "en"


class TriageRoute(StrEnum):
    HEALTH_CHECK = "health_check"
    EXTENDED_ASSESSMENT = "extended_assessment"
    NO_NEED = "no_need"


class AssessmentLevel(StrEnum):
    BASIC = "basic"
    SPECIALIST = "specialist"


class ServiceKind(StrEnum):
    VOCATIONAL_REHABILITATION = "vocational_rehabilitation"
    EMPLOYMENT_SERVICES = "employment_services"
    REHABILITATIVE_WORK_ACTIVITY = "rehabilitative_work_activity"
    MENTAL_HEALTH_SERVICES = "mental_health_services"
    SUBSTANCE_ABUSE_SERVICES = "substance_abuse_services"
    SOCIAL_WORK = "social_work"
    HEALTH_SERVICES = "health_services"
    MULTI_SECTOR_JOINT_SERVICE = "multi_sector_joint_service"
    STUDY_GUIDANCE = "study_guidance"
    OTHER = "other"


class ServiceStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


ENDED_SERVICE_STATUSES = frozenset({ServiceStatus.COMPLETED, ServiceStatus.INTERRUPTED, ServiceStatus.CANCELLED})


class ServiceStatusChange(StrEnum):
    """What staff can report about a planned service."""

    STARTED = "started"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


class ContactChannel(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    REMOTE = "remote"


class InvestigationStatus(StrEnum):
    ORDERED = "ordered"
    COMPLETED = "completed"


class TeamReviewCause(StrEnum):
    REQUESTED_BY_STAFF = "requested_by_staff"
    TRIAGE_OVERDUE = "triage_overdue"
    ASSESSMENT_OVERDUE = "assessment_overdue"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP = "service_gap"
    SUSTAINMENT_UNCONFIRMED = "sustainment_unconfirmed"
    SOLUTION_DID_NOT_HOLD = "solution_did_not_hold"


class TeamReviewDecision(StrEnum):
    CONTINUE = "continue"
    REASSESS = "reassess"
    CHANGE_CASE_MANAGER = "change_case_manager"
    REVISE_PLAN = "revise_plan"
    CLOSE = "close"


class LongTermSolution(StrEnum):
    STUDIES = "studies"
    EMPLOYMENT = "employment"
    DISABILITY_PENSION = "disability_pension"
    OTHER = "other"


class ClosureReason(StrEnum):
    COMPLETED = "completed"
    CLIENT_DECLINED = "client_declined"
    MOVED_AWAY = "moved_away"
    NO_NEED = "no_need"
    OTHER = "other"


class DeadlineKind(StrEnum):
    TRIAGE_DUE = "triage_due"
    ASSESSMENT_DUE = "assessment_due"
    FOLLOW_UP_REMINDER = "follow_up_reminder"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP_NOTICE = "service_gap_notice"
    SERVICE_GAP_ESCALATION = "service_gap_escalation"
    SUSTAINMENT_CHECK = "sustainment_check"
    SUSTAINMENT_UNCONFIRMED = "sustainment_unconfirmed"


class EventKind(StrEnum):
    """What a timeline line records (read model, reports, FHIR export)."""

    REFERRAL_RECEIVED = "referral_received"
    TRIAGED = "triaged"
    CASE_MANAGER_ASSIGNED = "case_manager_assigned"
    CASE_MANAGER_CHANGED = "case_manager_changed"
    GOAL_SET = "goal_set"
    GOAL_UPDATED = "goal_updated"
    INVESTIGATION_ADDED = "investigation_added"
    INVESTIGATION_COMPLETED = "investigation_completed"
    ASSESSMENT_COMPLETED = "assessment_completed"
    PLAN_SET = "plan_set"
    PLAN_REVISED = "plan_revised"
    SERVICE_STARTED = "service_started"
    SERVICE_COMPLETED = "service_completed"
    SERVICE_INTERRUPTED = "service_interrupted"
    SERVICE_CANCELLED = "service_cancelled"
    FOLLOW_UP_RECORDED = "follow_up_recorded"
    FOLLOW_UP_REMINDER_SENT = "follow_up_reminder_sent"
    SERVICE_GAP_NOTICED = "service_gap_noticed"
    SUSTAINMENT_CHECK_REQUESTED = "sustainment_check_requested"
    TEAM_REVIEW_OPENED = "team_review_opened"
    TEAM_REVIEW_DECIDED = "team_review_decided"
    OUTCOME_RECORDED = "outcome_recorded"
    SUSTAINMENT_CONFIRMED = "sustainment_confirmed"
    SOLUTION_DID_NOT_HOLD = "solution_did_not_hold"
    FEEDBACK_RECORDED = "feedback_recorded"
    CLOSED = "closed"


class NotificationKind(StrEnum):
    NEW_REFERRAL = "new_referral"
    ASSIGNED_CASE_MANAGER = "assigned_case_manager"
    HANDOVER_FROM = "handover_from"
    HANDOVER_TO = "handover_to"
    FOLLOW_UP_DUE_SOON = "follow_up_due_soon"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP = "service_gap"
    ESCALATED_TO_TEAM_REVIEW = "escalated_to_team_review"
    TEAM_REVIEW_DECIDED = "team_review_decided"
    SUSTAINMENT_CHECK_DUE = "sustainment_check_due"


# --------------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------------

# A Finnish personal identity code (henkilötunnus): DDMMYY, century sign, individual number, check char.
# Pseudonymous references must never contain one. The date and the check character are verified, so a
# random reference that merely has the same shape (e.g. hex digits) is not mistaken for one.
_PERSONAL_IDENTITY_CODE = re.compile(r"(?i)(\d{2})(\d{2})(\d{2})[-+A-FU-Y](\d{3})([0-9A-Y])")
_IDENTITY_CODE_CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_CLIENT_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")
STAFF_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_STAFF_ID = re.compile(STAFF_ID_PATTERN)
WORKFLOW_ID_PREFIX = "pathway-"

StaffId = Annotated[
    str,
    Field(
        pattern=_STAFF_ID.pattern,
        description="Staff member's id (lower-case letters, digits, '.', '_' or '-'). Never a client identifier.",
        examples=["nurse.virtanen"],
    ),
]
TeamId = Annotated[
    str,
    Field(pattern=_STAFF_ID.pattern, description="Work-ability team id.", examples=["eura-worktime"]),
]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
NoteText = Annotated[str, Field(min_length=1, max_length=4000)]


def looks_like_personal_identity_code(value: str) -> bool:
    """True when `value` contains a valid Finnish personal identity code (date and check character)."""
    for start in range(len(value)):
        match = _PERSONAL_IDENTITY_CODE.match(value, start)
        if match is None:
            continue
        day, month, _year, individual, check = match.groups()
        if not (1 <= int(day) <= 31 and 1 <= int(month) <= 12):
            continue
        expected = _IDENTITY_CODE_CHECK_CHARS[int(day + month + _year + individual) % 31]
        if check.upper() == expected:
            return True
    return False


def validate_client_reference(value: str) -> str:
    """A pseudonymous client reference: 4-64 letters, digits, '-' or '_', never an identity code."""
    if looks_like_personal_identity_code(value):
        raise ValueError(
            "client_reference looks like a Finnish personal identity code; "
            "use the pseudonymous client reference of the client register instead"
        )
    if not _CLIENT_REFERENCE.match(value):
        raise ValueError(
            "client_reference must be 4-64 characters of letters, digits, '-' or '_', starting with a letter or digit"
        )
    return value


def pathway_id_for(client_reference: str) -> str:
    """The workflow id of a client's pathway. At most one open pathway per client follows from it."""
    return WORKFLOW_ID_PREFIX + validate_client_reference(client_reference)


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, use_enum_values=False)


# --------------------------------------------------------------------------------------------------
# Policy: the durations of one pathway
# --------------------------------------------------------------------------------------------------


class PathwayPolicy(ContractModel):
    """Deadlines of one pathway. Defaults follow the teams' practice; short values run demos and tests."""

    triage_due_after: timedelta = Field(default=timedelta(days=14), gt=timedelta(0))
    assessment_due_after: timedelta = Field(default=timedelta(days=90), gt=timedelta(0))
    follow_up_interval: timedelta = Field(default=timedelta(days=30), gt=timedelta(0))
    follow_up_reminder_before: timedelta = Field(default=timedelta(days=3), ge=timedelta(0))
    follow_up_grace: timedelta = Field(default=timedelta(days=7), ge=timedelta(0))
    service_gap_allowed: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    service_gap_escalate_after: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    sustainment_period: timedelta = Field(default=timedelta(days=180), gt=timedelta(0))
    sustainment_confirm_grace: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    # Continue-as-new well before Temporal's suggested limit: a pathway runs for years.
    continue_as_new_after_events: int = Field(default=2000, ge=50, le=40000)


# --------------------------------------------------------------------------------------------------
# Staff actions (one input model per update)
# --------------------------------------------------------------------------------------------------


class ActionInput(ContractModel):
    """Every staff action names who did it; the API fills it from the authenticated user."""

    actor: StaffId


class IntakeInput(ContractModel):
    """The referral that starts a pathway."""

    client_reference: str = Field(description="Pseudonymous client reference; never an identity code.")
    team: TeamId
    referral_source: ReferralSource
    referring_organisation: ReferringOrganisation | None = Field(
        default=None, description="Required for a professional referral, absent for a self-referral."
    )
    client_language: Language = Language.FI
    remote_services_needed: bool = False
    reason: NoteText = Field(description="Why the client is referred (free text, no identity codes).")
    registered_by: StaffId
    referred_at: datetime | None = Field(default=None, description="When the referral arrived; defaults to now.")
    demo: bool = Field(default=False, description="Demo data, not a real client (shown as such in the UI).")

    @field_validator("client_reference")
    @classmethod
    def _pseudonymous(cls, value: str) -> str:
        return validate_client_reference(value)

    @model_validator(mode="after")
    def _referral_source_consistent(self) -> IntakeInput:
        if self.referral_source is ReferralSource.PROFESSIONAL_REFERRAL and self.referring_organisation is None:
            raise ValueError("a professional referral needs referring_organisation")
        if self.referral_source is ReferralSource.SELF_REFERRAL and self.referring_organisation is not None:
            raise ValueError("a self-referral has no referring_organisation")
        return self


class TriageInput(ActionInput):
    route: TriageRoute
    assessment_level: AssessmentLevel | None = Field(
        default=None, description="Required for an extended assessment: basic or specialist level."
    )
    case_manager: StaffId | None = Field(default=None, description="Required unless the route is no_need.")
    redirect_note: NoteText | None = Field(
        default=None, description="Required for no_need: where the client was redirected."
    )
    note: NoteText | None = None

    @model_validator(mode="after")
    def _route_consistent(self) -> TriageInput:
        if self.route is TriageRoute.EXTENDED_ASSESSMENT and self.assessment_level is None:
            raise ValueError("an extended assessment needs assessment_level (basic or specialist)")
        if self.route is not TriageRoute.EXTENDED_ASSESSMENT and self.assessment_level is not None:
            raise ValueError("assessment_level applies only to the extended_assessment route")
        if self.route is TriageRoute.NO_NEED:
            if self.redirect_note is None:
                raise ValueError("the no_need route needs redirect_note: where the client was redirected")
            if self.case_manager is not None:
                raise ValueError("the no_need route closes the pathway and names no case manager")
        elif self.case_manager is None:
            raise ValueError("triage must name the case_manager unless the route is no_need")
        return self


class AssignCaseManagerInput(ActionInput):
    case_manager: StaffId
    reason: ShortText


class SetGoalInput(ActionInput):
    goal_id: str | None = Field(default=None, description="Given to update an existing goal; absent adds one.")
    text: NoteText = Field(description="The client's own goal, in the client's own words.")
    target_date: datetime | None = None
    achieved: bool = False


class AddInvestigationInput(ActionInput):
    description: ShortText
    provider: ShortText | None = None
    due_at: datetime | None = None


class CompleteInvestigationInput(ActionInput):
    investigation_id: str
    result_summary: NoteText


class CompleteAssessmentInput(ActionInput):
    summary: NoteText
    recommendation: NoteText


class PlannedServiceInput(ContractModel):
    service_id: str | None = Field(default=None, description="Given to keep a service of the current plan.")
    kind: ServiceKind
    provider: ShortText
    planned_start: datetime
    planned_end: datetime | None = None
    remote: bool = False

    @model_validator(mode="after")
    def _period_in_order(self) -> PlannedServiceInput:
        if self.planned_end is not None and self.planned_end <= self.planned_start:
            raise ValueError("planned_end must be after planned_start")
        return self


class SetPlanInput(ActionInput):
    services: list[PlannedServiceInput] = Field(min_length=1, max_length=30)
    follow_up_interval: timedelta | None = Field(
        default=None, gt=timedelta(0), description="How often the case manager contacts the client."
    )
    note: NoteText | None = None

    @model_validator(mode="after")
    def _unique_service_ids(self) -> SetPlanInput:
        kept = [service.service_id for service in self.services if service.service_id]
        if len(kept) != len(set(kept)):
            raise ValueError("the same service_id appears twice in the plan")
        return self


class UpdateServiceInput(ActionInput):
    service_id: str
    change: ServiceStatusChange
    note: NoteText | None = None


class RecordFollowUpInput(ActionInput):
    contacted_at: datetime | None = Field(default=None, description="When the contact happened; defaults to now.")
    channel: ContactChannel
    note: NoteText


class RequestTeamReviewInput(ActionInput):
    reason: NoteText


class DecideTeamReviewInput(ActionInput):
    decision: TeamReviewDecision
    note: NoteText
    new_case_manager: StaffId | None = Field(default=None, description="Required for change_case_manager.")
    closure_reason: ClosureReason | None = Field(default=None, description="Required for close.")

    @model_validator(mode="after")
    def _decision_consistent(self) -> DecideTeamReviewInput:
        if (self.decision is TeamReviewDecision.CHANGE_CASE_MANAGER) != (self.new_case_manager is not None):
            raise ValueError("new_case_manager is given exactly when the decision is change_case_manager")
        if (self.decision is TeamReviewDecision.CLOSE) != (self.closure_reason is not None):
            raise ValueError("closure_reason is given exactly when the decision is close")
        return self


class RecordOutcomeInput(ActionInput):
    solution: LongTermSolution
    description: NoteText
    started_at: datetime | None = None


class ConfirmSustainmentInput(ActionInput):
    held: bool
    note: NoteText


class CloseInput(ActionInput):
    reason: ClosureReason
    note: NoteText


class RecordFeedbackInput(ActionInput):
    rating: int = Field(ge=1, le=5, description="The client's rating of the support, 1 (poor) to 5 (excellent).")
    comment: str | None = Field(default=None, max_length=4000)


# --------------------------------------------------------------------------------------------------
# State (what queries answer and continue-as-new carries)
# --------------------------------------------------------------------------------------------------


class CaseManagerPeriod(ContractModel):
    staff_id: str
    assumed_at: datetime
    renounced_at: datetime | None = None
    reason: str


class Goal(ContractModel):
    goal_id: str
    text: str
    target_date: datetime | None = None
    achieved: bool = False
    set_at: datetime
    updated_at: datetime


class Investigation(ContractModel):
    investigation_id: str
    description: str
    provider: str | None = None
    due_at: datetime | None = None
    status: InvestigationStatus = InvestigationStatus.ORDERED
    ordered_at: datetime
    completed_at: datetime | None = None
    result_summary: str | None = None


class Assessment(ContractModel):
    route: TriageRoute
    level: AssessmentLevel | None = None
    started_at: datetime
    completed_at: datetime | None = None
    summary: str | None = None
    recommendation: str | None = None


class PlannedService(ContractModel):
    service_id: str
    kind: ServiceKind
    provider: str
    planned_start: datetime
    planned_end: datetime | None = None
    remote: bool = False
    status: ServiceStatus = ServiceStatus.PLANNED
    started_at: datetime | None = None
    ended_at: datetime | None = None


class FollowUpPlan(ContractModel):
    version: int
    set_at: datetime
    follow_up_interval: timedelta
    note: str | None = None


class FollowUp(ContractModel):
    contacted_at: datetime
    channel: ContactChannel
    note: str
    recorded_by: str


class TeamReview(ContractModel):
    review_id: str
    cause: TeamReviewCause
    reason: str
    opened_by: str = Field(description="Staff id, or 'system' for an automatic escalation.")
    opened_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision: TeamReviewDecision | None = None
    decision_note: str | None = None


class Outcome(ContractModel):
    solution: LongTermSolution
    description: str
    recorded_at: datetime
    sustainment_until: datetime
    confirmed_at: datetime | None = None
    held: bool | None = None


class Closure(ContractModel):
    reason: ClosureReason
    note: str
    closed_at: datetime
    closed_by: str


class Feedback(ContractModel):
    rating: int
    comment: str | None = None
    recorded_at: datetime
    recorded_by: str


class PathwayEvent(ContractModel):
    """One line of the pathway's timeline; `sequence` is unique over the pathway's whole life."""

    sequence: int
    at: datetime
    actor: str = Field(description="Staff id, or 'system' for what the pathway did by itself.")
    kind: EventKind
    summary: str = Field(description="Short, structured; never free text from staff or the client.")
    stage: Stage = Field(description="The stage after this event.")
    details: dict[str, str] = Field(
        default={}, description="Coded facts for reports (e.g. referral_source, route, cause, solution, rating)."
    )


class Deadline(ContractModel):
    kind: DeadlineKind
    due_at: datetime
    key: str = Field(description="Unique per deadline occurrence; a fired deadline never fires again.")


class PathwayView(ContractModel):
    """The pathway as staff see it after an action: everything but the timeline and the workflow's own
    bookkeeping. Updates answer this, so an action's answer (stored in the history with the update) stays
    the same size however long the pathway runs; the timeline has its own query and route."""

    # An update answered before the view existed stored the whole state as its result; a retry with the same
    # update id gets that first result back, so the view reads it and leaves the rest.
    model_config = ConfigDict(extra="ignore")

    pathway_id: str
    intake: IntakeInput
    policy: PathwayPolicy
    stage: Stage = Stage.AWAITING_TRIAGE
    referred_at: datetime
    case_manager: str | None = None
    case_manager_history: list[CaseManagerPeriod] = []
    assessment: Assessment | None = None
    goals: list[Goal] = []
    investigations: list[Investigation] = []
    plan: FollowUpPlan | None = None
    services: list[PlannedService] = []
    follow_ups: list[FollowUp] = []
    next_follow_up_due: datetime | None = None
    team_reviews: list[TeamReview] = []
    outcome: Outcome | None = None
    past_outcomes: list[Outcome] = Field(default=[], description="Solutions that did not hold.")
    closure: Closure | None = None
    feedback: list[Feedback] = []
    next_deadline: Deadline | None = None
    last_event_sequence: int = Field(default=0, description="The sequence of the latest event on the timeline.")
    runs: int = Field(default=1, description="How many workflow runs (continue-as-new) this pathway has had.")

    @property
    def team_review_pending(self) -> bool:
        return any(review.decided_at is None for review in self.team_reviews)

    def pending_team_reviews(self) -> list[TeamReview]:
        return [review for review in self.team_reviews if review.decided_at is None]


class PathwayState(PathwayView):
    """The workflow's whole state: the view plus the timeline and what the deadlines and the read model
    have already done. Carried whole through continue-as-new."""

    model_config = ConfigDict(extra="forbid")

    events: list[PathwayEvent] = []
    fired_deadline_keys: list[str] = []
    recorded_event_sequence: int = Field(default=0, description="Events up to here are in the read model.")

    def view(self) -> PathwayView:
        # No copy: the view shares the state's objects and is serialised at once as the update's answer.
        return PathwayView.model_construct(**{name: getattr(self, name) for name in PathwayView.model_fields})


class PathwayStartInput(ContractModel):
    """The workflow's single input: a new intake, or the carried state after continue-as-new."""

    intake: IntakeInput
    policy: PathwayPolicy = PathwayPolicy()
    carried_state: PathwayState | None = None


# --------------------------------------------------------------------------------------------------
# Activities (names as the histories schedule them; `activities.legacy_v4` implements them) and their inputs
# (formerly models/effects.py)
# --------------------------------------------------------------------------------------------------

NOTIFY_CASE_MANAGER = "notify_case_manager"
NOTIFY_TEAM = "notify_team"
ESCALATE_TO_TEAM_REVIEW = "escalate_to_team_review"
RECORD_PATHWAY_EVENTS = "record_pathway_events"
MOVE_V4_RECORD = "move_v4_record"


class EffectInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pathway_id: str
    team: str
    idempotency_key: str = Field(description="Unique per pathway event and recipient.")


class NotifyCaseManagerInput(EffectInput):
    recipient: str = Field(description="Staff id of the case manager (current, or the previous one on handover).")
    kind: NotificationKind
    due_at: datetime | None = None


class NotifyTeamInput(EffectInput):
    """A notice to the team's coordinators (e.g. a new referral waiting for triage)."""

    kind: NotificationKind
    client_language: Language
    due_at: datetime | None = None


class EscalateToTeamReviewInput(EffectInput):
    review_id: str
    cause: TeamReviewCause
    reason: str = Field(description="Kept with the review item for the team; never put into a notification.")
    opened_by: str
    opened_at: datetime
    case_manager: str | None = None


class EscalationResult(BaseModel):
    review_id: str
    created: bool = Field(description="False when the review item already existed (a retry).")
    notified: int = Field(description="How many team members were notified by this call.")


class RecordPathwayEventsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pathway_id: str
    team: str
    stage: Stage
    case_manager: str | None
    route: TriageRoute | None
    events: list[PathwayEvent] = Field(min_length=1)


class NotificationResult(BaseModel):
    delivered: bool = Field(description="False when this idempotency key had already been delivered.")
