"""The process: what the pathway workflow carries, bounded whatever the pathway's age.

Only what the validators, the deadlines, the search attributes and the status need: stage, case manager,
open items and their dates, pending team reviews, the last contact, the policy and bounded
de-duplication keys. Everything the record needs (notes, goal texts, results, the timeline) is in the
events, which leave the state once the activity that records them has written them to the database.
Continue-as-new carries this whole object; `bench` measures it on a 20-year pathway.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from models.actions import Intake
from models.events import PathwayEvent
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ConsentTerms,
    ContractModel,
    DeadlineKind,
    GoalTerms,
    InvestigationStatus,
    Language,
    LongTermSolution,
    NotificationKind,
    PathwayPolicy,
    ReferralStatus,
    ServiceKind,
    ServicePeriod,
    ServiceStatus,
    Stage,
    TeamReviewCause,
    TransitionCause,
    TriageRoute,
)

# Bounds of what the process keeps (the record keeps everything).
MAX_OPEN_GOALS = 20
MAX_GOALS_KEPT = 40
MAX_INVESTIGATIONS = 50
MAX_RECENT_ACTION_KEYS = 64
MAX_CONSENTS = 20
# Events not yet in the database: beyond this many (the database has been unreachable for long) a staff
# action is refused until the record catches up, so the state stays bounded.
MAX_UNRECORDED_EVENTS = 500


class Deadline(ContractModel):
    kind: DeadlineKind
    due_at: datetime
    key: str = Field(description="Unique per deadline occurrence; a fired deadline never fires again.")
    item_id: str | None = Field(
        default=None,
        description="The service, investigation, goal, review, transition, referral or meeting it hangs on.",
    )


class ProcessAssessment(ContractModel):
    route: TriageRoute
    level: AssessmentLevel | None = None
    started_at: datetime
    completed_at: datetime | None = None


class ProcessGoal(GoalTerms):
    goal_id: str


class ProcessInvestigation(ContractModel):
    investigation_id: str
    ordered_by: str
    due_at: datetime | None = None
    status: InvestigationStatus = InvestigationStatus.ORDERED


class ProcessService(ServicePeriod):
    service_id: str
    status: ServiceStatus = ServiceStatus.PLANNED
    started_at: datetime | None = None
    ended_at: datetime | None = None


class ProcessPlan(ContractModel):
    version: int
    set_at: datetime
    follow_up_interval: timedelta


class TransitionFacts(ContractModel):
    """A service that stopped short while the client's plan goes on: the case manager decides what follows."""

    transition_id: str
    service_id: str
    service_kind: ServiceKind
    cause: TransitionCause
    opened_at: datetime


class OpenTransition(TransitionFacts):
    gap_seen: bool = Field(default=False, description="The client had no active service at some point since.")


class HandoverProposal(ContractModel):
    """Who proposed a hand-over and when: the process keeps it while the hand-over is pending, the record for
    good."""

    proposed_by: str
    proposed_at: datetime


class PendingHandover(HandoverProposal):
    to: str = Field(description="The incoming case manager, responsible once they accept.")


class ProcessConsent(ConsentTerms):
    consent_id: str


class ProcessReferral(ContractModel):
    referral_id: str
    service_id: str
    partner_id: str
    consent_id: str
    sent_at: datetime
    answer_due: datetime
    status: ReferralStatus = ReferralStatus.SENT


class ScheduledMeeting(ContractModel):
    meeting_id: str
    at: datetime


class PendingReview(ContractModel):
    review_id: str
    cause: TeamReviewCause
    opened_at: datetime
    opened_by: str


class ProcessOutcome(ContractModel):
    solution: LongTermSolution
    recorded_at: datetime
    sustainment_until: datetime


class ProcessClosure(ContractModel):
    reason: ClosureReason
    closed_at: datetime


class Recipient(StrEnum):
    CASE_MANAGER = "case_manager"
    STAFF = "staff"
    COORDINATORS = "coordinators"
    PARTNER = "partner"  # a partner organisation (recipient: its partner id), reached by its own channel


class Notice(ContractModel):
    """A notification the rules decided. It leaves the system only after the decision is in the history:
    the activity that records the decision's events writes it to the outbox in the same transaction."""

    key: str = Field(description="From the logical action: the same decision always has the same key.")
    kind: NotificationKind
    to: Recipient
    recipient: str | None = Field(
        default=None, description="Staff id for case_manager and staff notices, partner id for partner ones."
    )
    due_at: datetime | None = None
    review_id: str | None = Field(default=None, description="The team review an escalation opened.")
    referral_id: str | None = Field(default=None, description="The referral a partner's notice is about.")


class ProcessStatus(ContractModel):
    """What listings, search attributes and the record's status columns show; recorded when it changes."""

    stage: Stage
    case_manager: str | None = None
    route: TriageRoute | None = None
    team_review_pending: bool = False
    overdue: bool = False
    next_deadline: Deadline | None = None
    handover_to: str | None = Field(default=None, description="The proposed case manager of a pending hand-over.")


class RecordDelay(ContractModel):
    """The record activity has not got its batch through: the workflow keeps its decisions and tries again."""

    since: datetime = Field(description="When the first attempt that did not get through was scheduled.")
    attempts: int = Field(ge=1, description="Rounds of the record activity that ended without writing.")
    reason: str = Field(description="What the last round ended with (an error type, never client data).")


class ProcessState(ContractModel):
    pathway_id: str
    client_reference: str
    team: str
    client_language: Language
    demo: bool = False
    policy: PathwayPolicy
    referred_at: datetime

    stage: Stage = Stage.AWAITING_TRIAGE
    case_manager: str | None = None
    assessment: ProcessAssessment | None = None
    goals: list[ProcessGoal] = []
    investigations: list[ProcessInvestigation] = []
    plan: ProcessPlan | None = None
    services: list[ProcessService] = Field(default=[], description="The current plan's services.")
    last_service_ended_at: datetime | None = None
    next_follow_up_due: datetime | None = None
    last_contact_at: datetime | None = None
    pending_reviews: list[PendingReview] = []
    outcome: ProcessOutcome | None = None
    closure: ProcessClosure | None = None
    remote_services_needed: bool = False
    transitions: list[OpenTransition] = Field(default=[], description="Service transitions still to decide.")
    handover: PendingHandover | None = None
    consents: list[ProcessConsent] = Field(default=[], description="Consents in force (withdrawn ones leave).")
    referrals: list[ProcessReferral] = Field(default=[], description="Referrals of the current plan's services.")
    next_meeting: ScheduledMeeting | None = None

    fired_deadline_keys: list[str] = []
    recent_action_keys: list[str] = Field(
        default=[], description="Update ids of the latest actions: a retry after continue-as-new applies once."
    )
    last_event_sequence: int = 0
    recorded_event_sequence: int = Field(default=0, description="Events up to here are in the database.")
    unrecorded_events: list[PathwayEvent] = []
    pending_notices: list[Notice] = []
    recorded_status: ProcessStatus | None = None
    record_delay: RecordDelay | None = Field(
        default=None, description="The record activity has not got through since then (the database is away)."
    )
    runs: int = Field(default=1, description="Workflow runs (continue-as-new) so far.")

    @property
    def team_review_pending(self) -> bool:
        return bool(self.pending_reviews)

    @property
    def is_closed(self) -> bool:
        return self.stage is Stage.CLOSED


class WarningCode(StrEnum):
    PLAN_GAP = "plan_gap"  # the plan leaves the client without a service for longer than allowed
    REMOTE_SERVICE_NEEDED = "remote_service_needed"  # the client needs remote services; this one is not


class ActionWarning(ContractModel):
    """What an action allowed but staff should know (the web app words it in the reader's language)."""

    code: WarningCode
    message: str = Field(description="In English, for API users.")
    starts: datetime | None = None
    ends: datetime | None = Field(default=None, description="Absent: the gap has no end in the plan.")
    service_id: str | None = None


class ActionAnswer(ContractModel):
    """What a staff action answers: small and the same size whatever the pathway's age (it is stored in the
    history with the update). The record itself is read from GET /pathways/{id}."""

    pathway_id: str
    stage: Stage
    case_manager: str | None
    handover_to: str | None = Field(default=None, description="A hand-over pending to this staff member.")
    team_review_pending: bool
    overdue: bool
    next_deadline: Deadline | None
    last_event_sequence: int
    created_ids: list[str] = Field(default=[], description="Ids this action gave out (goal, investigation, services).")
    warnings: list[ActionWarning] = Field(default=[], description="What the action allowed but staff should know.")
    repeated: bool = Field(default=False, description="The same action (Idempotency-Key) had already been applied.")


class PathwayStart(ContractModel):
    """The workflow's single input: a new pathway's referral, or the carried process after continue-as-new."""

    intake: Intake | None = None
    registered_by: str | None = Field(default=None, description="Who registered the referral (the first run).")
    policy: PathwayPolicy = PathwayPolicy()
    carried: ProcessState | None = None


class PathwayClosing(ContractModel):
    """What a closed pathway's workflow returns: where its record is."""

    pathway_id: str
    closure_reason: ClosureReason | None
    closed_at: datetime | None
    last_event_sequence: int
    runs: int
