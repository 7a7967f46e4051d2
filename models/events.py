"""What happened on a pathway: one typed event per kind, the timeline and the record's source.

The workflow's rules decide events; the activity that records them writes each to the database, where the
record (`models.record`) is folded from them and reports and the FHIR export read their coded facts.
An event carries everything the record needs about what happened, so the database never re-derives a rule.

Where an event records what a staff action said, it extends that action's model (`GoalSet(EventBase,
SetGoal)`) and adds only what the rules gave it (ids, the stage, who ordered it): a field is declared once.

Free text (marked with `free_text`) is stored encrypted, apart from the coded facts; `coded_facts` and
`free_texts` split an event into the two. `summary` is a short English line for operators' logs and the
Web UI; the staff web app words events in the reader's language from the coded facts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from models.actions import (
    AddInvestigation,
    AnswerReferral,
    CompleteAssessment,
    CompleteInvestigation,
    ConfirmSustainment,
    GiveSummary,
    MeetingParticipant,
    RecordConsent,
    RecordFeedback,
    RecordFollowUp,
    RecordOutcome,
    RecordWorkAbility,
    RequestTeamReview,
    ScoreGoal,
    SetGoal,
    TeamReviewDecisionFacts,
    WithdrawConsent,
)
from models.measures import WorkAbilityOccasion
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContactChannel,
    ContractModel,
    DeadlineKind,
    Language,
    LongTermSolution,
    ReferralSource,
    ReferringOrganisation,
    ServiceKind,
    ServicePeriod,
    ServiceStatus,
    Stage,
    TeamReviewCause,
    TransitionCause,
    TransitionDecision,
    TriageRoute,
    free_text,
    free_text_fields,
)

SYSTEM_ACTOR = "system"


class EventKind(StrEnum):
    REFERRAL_RECEIVED = "referral_received"
    TRIAGED = "triaged"
    CASE_MANAGER_ASSIGNED = "case_manager_assigned"
    CASE_MANAGER_CHANGED = "case_manager_changed"
    GOAL_SET = "goal_set"
    GOAL_UPDATED = "goal_updated"
    GOAL_ATTAINMENT_SCORED = "goal_attainment_scored"
    WORK_ABILITY_RECORDED = "work_ability_recorded"
    INVESTIGATION_ADDED = "investigation_added"
    INVESTIGATION_COMPLETED = "investigation_completed"
    ASSESSMENT_COMPLETED = "assessment_completed"
    REASSESSMENT_STARTED = "reassessment_started"
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
    OUTCOME_SET_ASIDE = "outcome_set_aside"
    SUSTAINMENT_CONFIRMED = "sustainment_confirmed"
    SOLUTION_DID_NOT_HOLD = "solution_did_not_hold"
    FEEDBACK_RECORDED = "feedback_recorded"
    SUMMARY_GIVEN = "summary_given"
    CLOSED = "closed"
    DEADLINE_NOTICED = "deadline_noticed"
    HANDOVER_PROPOSED = "handover_proposed"
    HANDOVER_DECLINED = "handover_declined"
    HANDOVER_WITHDRAWN = "handover_withdrawn"
    TRANSITION_OPENED = "transition_opened"
    TRANSITION_DECIDED = "transition_decided"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    REFERRAL_SENT = "referral_sent"
    REFERRAL_ANSWERED = "referral_answered"
    REFERRAL_WITHDRAWN = "referral_withdrawn"
    NETWORK_MEETING_SCHEDULED = "network_meeting_scheduled"
    NETWORK_MEETING_HELD = "network_meeting_held"


class EventBase(ContractModel):
    sequence: int = Field(description="1, 2, 3 ... over the pathway's whole life (continue-as-new included).")
    at: datetime
    actor: str = Field(description="Staff id, or 'system' for what the pathway did by itself.")
    stage: Stage = Field(description="The stage after this event.")


class ReferralReceived(EventBase):
    kind: Literal[EventKind.REFERRAL_RECEIVED] = EventKind.REFERRAL_RECEIVED
    client_reference: str
    team: str
    referral_source: ReferralSource
    referring_organisation: ReferringOrganisation | None = None
    client_language: Language
    remote_services_needed: bool
    referred_at: datetime
    registered_by: str
    demo: bool = False
    reason: str = free_text()


class Triaged(EventBase):
    kind: Literal[EventKind.TRIAGED] = EventKind.TRIAGED
    route: TriageRoute
    assessment_level: AssessmentLevel | None = None
    note: str | None = free_text(default=None)
    redirect_note: str | None = free_text(default=None)


class CaseManagerAssigned(EventBase):
    kind: Literal[EventKind.CASE_MANAGER_ASSIGNED] = EventKind.CASE_MANAGER_ASSIGNED
    case_manager: str
    reason: str = free_text()


class CaseManagerChanged(EventBase):
    """The new case manager took over (accepted the hand-over; `actor` is who accepted it)."""

    kind: Literal[EventKind.CASE_MANAGER_CHANGED] = EventKind.CASE_MANAGER_CHANGED
    previous_case_manager: str
    case_manager: str
    proposed_by: str | None = Field(default=None, description="Who proposed the hand-over.")
    proposed_at: datetime | None = None
    client_informed_via: ContactChannel | None = Field(default=None, description="How the client was told.")
    reason: str = free_text(default="")
    handover_note: str | None = free_text(default=None)


class HandoverFacts(ContractModel):
    """A hand-over between two case managers: what its proposal and its end (declined, withdrawn) both say."""

    case_manager: str = Field(description="Who stays responsible until the hand-over completes.")
    proposed_case_manager: str
    reason: str = free_text()


class HandoverProposed(EventBase, HandoverFacts):
    """A change of case manager proposed: pending until the new one accepts; the current one stays responsible."""

    kind: Literal[EventKind.HANDOVER_PROPOSED] = EventKind.HANDOVER_PROPOSED


class HandoverEnded(EventBase, HandoverFacts):
    """A proposed hand-over that did not happen: declined by the incoming case manager, or withdrawn."""

    kind: Literal[EventKind.HANDOVER_DECLINED, EventKind.HANDOVER_WITHDRAWN]


class GoalSet(EventBase, SetGoal):
    """A client's goal added (goal_set) or changed (goal_updated): the action's fields, the goal's id given."""

    kind: Literal[EventKind.GOAL_SET, EventKind.GOAL_UPDATED] = EventKind.GOAL_SET
    goal_id: str


class GoalAttainmentScored(EventBase, ScoreGoal):
    """A GAS goal's attainment scored with the client (at a review, or the closing score)."""

    kind: Literal[EventKind.GOAL_ATTAINMENT_SCORED] = EventKind.GOAL_ATTAINMENT_SCORED


class WorkAbilityRecorded(EventBase, RecordWorkAbility):
    """The client's own Work Ability Score, or their choice not to answer; `actor` is who asked."""

    kind: Literal[EventKind.WORK_ABILITY_RECORDED] = EventKind.WORK_ABILITY_RECORDED
    occasion: WorkAbilityOccasion
    asked_at: datetime


class InvestigationAdded(EventBase, AddInvestigation):
    kind: Literal[EventKind.INVESTIGATION_ADDED] = EventKind.INVESTIGATION_ADDED
    investigation_id: str


class InvestigationCompleted(EventBase, CompleteInvestigation):
    kind: Literal[EventKind.INVESTIGATION_COMPLETED] = EventKind.INVESTIGATION_COMPLETED
    ordered_by: str = Field(description="Who ordered the investigation (its requester).")


class AssessmentCompleted(EventBase, CompleteAssessment):
    kind: Literal[EventKind.ASSESSMENT_COMPLETED] = EventKind.ASSESSMENT_COMPLETED
    route: TriageRoute
    assessment_level: AssessmentLevel | None = None


class ReassessmentStarted(EventBase):
    kind: Literal[EventKind.REASSESSMENT_STARTED] = EventKind.REASSESSMENT_STARTED
    route: TriageRoute
    assessment_level: AssessmentLevel | None = None


class PlannedServiceFacts(ServicePeriod):
    """A service of the plan as the plan set it (its status changes are events of their own)."""

    service_id: str
    status: ServiceStatus
    new: bool = Field(description="Added by this plan (false: kept from the previous one).")


class PlanSet(EventBase):
    kind: Literal[EventKind.PLAN_SET, EventKind.PLAN_REVISED] = EventKind.PLAN_SET
    version: int
    follow_up_interval: timedelta
    next_follow_up_due: datetime
    services: list[PlannedServiceFacts]
    note: str | None = free_text(default=None)


class ServiceStatusChanged(EventBase):
    kind: Literal[
        EventKind.SERVICE_STARTED,
        EventKind.SERVICE_COMPLETED,
        EventKind.SERVICE_INTERRUPTED,
        EventKind.SERVICE_CANCELLED,
    ]
    service_id: str
    service_kind: ServiceKind
    status: ServiceStatus = Field(description="The service's status after the change.")
    because: Literal["staff", "left_out_of_plan", "pathway_closed", "provider", "declined_by_provider"] = "staff"
    note: str | None = free_text(default=None)


class DeadlineNoticed(EventBase):
    """A dated commitment came due (or passed unmet) and the case manager or the coordinators were told."""

    kind: Literal[EventKind.DEADLINE_NOTICED] = EventKind.DEADLINE_NOTICED
    deadline: DeadlineKind
    due_at: datetime
    item_id: str | None = Field(default=None, description="The service, investigation, goal ... it concerns.")
    notified: Literal["case_manager", "coordinators", "incoming_case_manager"] = "case_manager"


class TransitionOpened(EventBase):
    """One of the plan's services stopped short: the case manager decides what follows, by a deadline."""

    kind: Literal[EventKind.TRANSITION_OPENED] = EventKind.TRANSITION_OPENED
    transition_id: str
    service_id: str
    service_kind: ServiceKind
    cause: TransitionCause
    active_services_left: int = Field(description="Services still active when it opened.")


class TransitionDecided(EventBase):
    kind: Literal[EventKind.TRANSITION_DECIDED] = EventKind.TRANSITION_DECIDED
    transition_id: str
    service_id: str
    decision: TransitionDecision
    replacement_service_id: str | None = None
    review_id: str | None = None
    opened_at: datetime
    without_gap: bool = Field(description="The client had an active service throughout the transition.")
    note: str = free_text()


class ConsentRecorded(EventBase, RecordConsent):
    kind: Literal[EventKind.CONSENT_RECORDED] = EventKind.CONSENT_RECORDED
    consent_id: str


class ConsentWithdrawn(EventBase, WithdrawConsent):
    kind: Literal[EventKind.CONSENT_WITHDRAWN] = EventKind.CONSENT_WITHDRAWN
    partner_id: str


class ReferralSent(EventBase):
    """A planned service referred to its provider: the outbox sends the provider its signed link or webhook."""

    kind: Literal[EventKind.REFERRAL_SENT] = EventKind.REFERRAL_SENT
    referral_id: str
    service_id: str
    service_kind: ServiceKind
    partner_id: str
    consent_id: str
    consent_expires_at: datetime | None = None
    planned_start: datetime
    planned_end: datetime | None = None
    remote: bool = False
    answer_due: datetime
    resent: bool = Field(default=False, description="Sent again (e.g. the provider's link expired).")
    message: str = free_text()


class ReferralAnswered(EventBase, AnswerReferral):
    kind: Literal[EventKind.REFERRAL_ANSWERED] = EventKind.REFERRAL_ANSWERED
    service_id: str
    partner_id: str
    by_partner: bool = Field(description="Sent by the provider itself (its link or webhook), not recorded by staff.")


class ReferralWithdrawn(EventBase):
    """Nothing more is shared with the provider (the client withdrew the consent, or it expired)."""

    kind: Literal[EventKind.REFERRAL_WITHDRAWN] = EventKind.REFERRAL_WITHDRAWN
    referral_id: str
    service_id: str
    partner_id: str
    because: Literal["consent_withdrawn", "service_ended", "pathway_closed"]


class NetworkMeetingScheduled(EventBase):
    kind: Literal[EventKind.NETWORK_MEETING_SCHEDULED] = EventKind.NETWORK_MEETING_SCHEDULED
    meeting_id: str
    meeting_at: datetime
    participants: list[MeetingParticipant]
    remote: bool = False
    agenda: str | None = free_text(default=None)


class NetworkMeetingHeld(EventBase):
    kind: Literal[EventKind.NETWORK_MEETING_HELD] = EventKind.NETWORK_MEETING_HELD
    meeting_id: str
    held_at: datetime
    participants: list[MeetingParticipant]
    remote: bool = False
    revised_plan: bool = Field(default=False, description="The meeting revised the plan (a plan event follows).")
    next_meeting_id: str | None = None
    next_meeting_at: datetime | None = None
    decisions: str = free_text()


class FollowUpRecorded(EventBase, RecordFollowUp):
    kind: Literal[EventKind.FOLLOW_UP_RECORDED] = EventKind.FOLLOW_UP_RECORDED
    contacted_at: datetime
    next_follow_up_due: datetime | None = None

    @staticmethod
    def last_contact(previous: datetime | None, contacted_at: datetime) -> datetime:
        """The client's last contact once this one is recorded (a contact recorded late may be older): the
        process and the record both derive it here."""
        return max(previous or contacted_at, contacted_at)


class FollowUpReminderSent(EventBase):
    kind: Literal[EventKind.FOLLOW_UP_REMINDER_SENT] = EventKind.FOLLOW_UP_REMINDER_SENT
    due_at: datetime
    case_manager: str


class ServiceGapNoticed(EventBase):
    kind: Literal[EventKind.SERVICE_GAP_NOTICED] = EventKind.SERVICE_GAP_NOTICED
    gap_started_at: datetime


class SustainmentCheckRequested(EventBase):
    kind: Literal[EventKind.SUSTAINMENT_CHECK_REQUESTED] = EventKind.SUSTAINMENT_CHECK_REQUESTED
    sustainment_until: datetime


class TeamReviewOpened(EventBase, RequestTeamReview):
    kind: Literal[EventKind.TEAM_REVIEW_OPENED] = EventKind.TEAM_REVIEW_OPENED
    review_id: str
    cause: TeamReviewCause


class TeamReviewDecided(EventBase, TeamReviewDecisionFacts):
    """A team review decided: by the team (the action's facts), or by the pathway itself (resolved by a new
    triage, ended by the closing), which is why it shares the facts and not the action's checks."""

    kind: Literal[EventKind.TEAM_REVIEW_DECIDED] = EventKind.TEAM_REVIEW_DECIDED
    review_id: str
    cause: TeamReviewCause


class OutcomeRecorded(EventBase, RecordOutcome):
    kind: Literal[EventKind.OUTCOME_RECORDED] = EventKind.OUTCOME_RECORDED
    sustainment_until: datetime


class OutcomeSetAside(EventBase):
    """The solution in sustainment is no longer the pathway's: it did not hold, or the team changed course."""

    kind: Literal[EventKind.OUTCOME_SET_ASIDE] = EventKind.OUTCOME_SET_ASIDE
    solution: LongTermSolution


class SustainmentConfirmed(EventBase, ConfirmSustainment):
    kind: Literal[EventKind.SUSTAINMENT_CONFIRMED, EventKind.SOLUTION_DID_NOT_HOLD] = EventKind.SUSTAINMENT_CONFIRMED
    solution: LongTermSolution


class FeedbackRecorded(EventBase, RecordFeedback):
    kind: Literal[EventKind.FEEDBACK_RECORDED] = EventKind.FEEDBACK_RECORDED


class SummaryGiven(EventBase, GiveSummary):
    """The client got their own copy of the plan: of this plan version, naming this case manager."""

    kind: Literal[EventKind.SUMMARY_GIVEN] = EventKind.SUMMARY_GIVEN
    plan_version: int | None = None
    case_manager: str | None = None


class Closed(EventBase):
    kind: Literal[EventKind.CLOSED] = EventKind.CLOSED
    closure_reason: ClosureReason
    solution: LongTermSolution | None = Field(default=None, description="The solution in place at closure.")
    note: str = free_text()


PathwayEvent = Annotated[
    ReferralReceived
    | Triaged
    | CaseManagerAssigned
    | CaseManagerChanged
    | GoalSet
    | GoalAttainmentScored
    | WorkAbilityRecorded
    | InvestigationAdded
    | InvestigationCompleted
    | AssessmentCompleted
    | ReassessmentStarted
    | PlanSet
    | ServiceStatusChanged
    | FollowUpRecorded
    | FollowUpReminderSent
    | ServiceGapNoticed
    | SustainmentCheckRequested
    | TeamReviewOpened
    | TeamReviewDecided
    | OutcomeRecorded
    | OutcomeSetAside
    | SustainmentConfirmed
    | FeedbackRecorded
    | SummaryGiven
    | Closed
    | DeadlineNoticed
    | HandoverProposed
    | HandoverEnded
    | TransitionOpened
    | TransitionDecided
    | ConsentRecorded
    | ConsentWithdrawn
    | ReferralSent
    | ReferralAnswered
    | ReferralWithdrawn
    | NetworkMeetingScheduled
    | NetworkMeetingHeld,
    Field(discriminator="kind"),
]
PATHWAY_EVENT: TypeAdapter[PathwayEvent] = TypeAdapter(PathwayEvent)
_BASE_FIELDS = frozenset(EventBase.model_fields)


def coded_facts(event: BaseModel) -> dict[str, Any]:
    """The event's coded facts (no base fields, no free text), as JSON-ready values."""
    return event.model_dump(mode="json", exclude=set(_BASE_FIELDS | free_text_fields(type(event))))


def free_texts(event: BaseModel) -> dict[str, str]:
    """The event's free text by field name (empty fields left out)."""
    return {name: value for name in free_text_fields(type(event)) if (value := getattr(event, name))}


def event_from_parts(
    *, sequence: int, at: datetime, actor: str, stage: str, kind: str, facts: dict[str, Any], texts: dict[str, str]
) -> PathwayEvent:
    """An event rebuilt from what the database keeps of it (coded facts and decrypted free text)."""
    return PATHWAY_EVENT.validate_python(
        {"sequence": sequence, "at": at, "actor": actor, "stage": stage, "kind": kind, **facts, **texts}
    )


def summarize(event: PathwayEvent) -> str:
    """A short English line naming what happened by its coded facts (never free text): for logs, the
    Temporal Web UI and the database's summary column."""
    match event:
        case ReferralReceived():
            organisation = f", {event.referring_organisation.value}" if event.referring_organisation else ""
            return f"Referral ({event.referral_source.value}{organisation}) to team {event.team}"
        case Triaged():
            level = f" ({event.assessment_level.value})" if event.assessment_level else ""
            return f"Triage: {event.route.value}{level}"
        case CaseManagerAssigned():
            return f"Case manager: {event.case_manager}"
        case CaseManagerChanged():
            return f"Case manager: {event.previous_case_manager} -> {event.case_manager}"
        case GoalSet() if event.kind is EventKind.GOAL_SET:
            return f"Client's goal set ({event.goal_id[:8]})"
        case GoalSet():
            return f"Client's goal {'achieved' if event.achieved else 'updated'} ({event.goal_id[:8]})"
        case GoalAttainmentScored():
            return f"GAS goal scored at {event.occasion.value} ({event.goal_id[:8]})"
        case WorkAbilityRecorded():
            # Never the score: a health value does not belong in logs or the summary column.
            return f"Work Ability Score asked at {event.occasion.value}"
        case InvestigationAdded():
            return f"Investigation ordered ({event.investigation_id[:8]})"
        case InvestigationCompleted():
            return f"Investigation completed ({event.investigation_id[:8]})"
        case AssessmentCompleted():
            return "Assessment completed; planning begins"
        case ReassessmentStarted():
            return f"Reassessment started ({event.route.value})"
        case PlanSet():
            return f"Follow-up plan v{event.version}: {len(event.services)} service(s)"
        case ServiceStatusChanged():
            return f"Service {event.service_kind.value} {event.status.value} ({event.service_id[:8]})"
        case FollowUpRecorded():
            return f"Follow-up contact ({event.channel.value})"
        case FollowUpReminderSent():
            return "Follow-up due soon: case manager reminded"
        case ServiceGapNoticed():
            return "Service gap: no active service"
        case SustainmentCheckRequested():
            return "Sustainment period ended: confirm"
        case TeamReviewOpened():
            return f"Team review requested: {event.cause.value}"
        case TeamReviewDecided():
            return f"Team review ({event.cause.value}): {event.decision.value}"
        case OutcomeRecorded():
            return f"Long-term solution: {event.solution.value}"
        case OutcomeSetAside():
            return f"Solution set aside: {event.solution.value}"
        case SustainmentConfirmed():
            return "The long-term solution held" if event.held else "The long-term solution did not hold"
        case FeedbackRecorded():
            return f"Client feedback recorded (rating {event.rating})"
        case SummaryGiven():
            return f"The client's copy of the plan given ({event.channel.value.replace('_', ' ')})"
        case Closed():
            return f"Pathway closed: {event.closure_reason.value}"
        case DeadlineNoticed():
            item = f" ({event.item_id[:8]})" if event.item_id else ""
            return f"Deadline {event.deadline.value}{item}: {event.notified.replace('_', ' ')} told"
        case HandoverProposed():
            return f"Hand-over proposed: {event.case_manager} -> {event.proposed_case_manager}"
        case HandoverEnded():
            what = "declined" if event.kind is EventKind.HANDOVER_DECLINED else "withdrawn"
            return f"Hand-over to {event.proposed_case_manager} {what}; {event.case_manager} stays case manager"
        case TransitionOpened():
            return f"Service {event.service_kind.value} {event.cause.value}: transition to decide"
        case TransitionDecided():
            return f"Transition decided: {event.decision.value}" + (" (no gap)" if event.without_gap else "")
        case ConsentRecorded():
            return f"Consent to share with {event.partner_id}: {', '.join(scope.value for scope in event.scopes)}"
        case ConsentWithdrawn():
            return f"Consent to share with {event.partner_id} withdrawn"
        case ReferralSent():
            return f"Service {event.service_kind.value} referred to {event.partner_id}" + (
                " again" if event.resent else ""
            )
        case ReferralAnswered():
            return f"Referral to {event.partner_id}: {event.answer.value}"
        case ReferralWithdrawn():
            return f"Referral to {event.partner_id} withdrawn ({event.because.replace('_', ' ')})"
        case NetworkMeetingScheduled():
            return f"Network meeting scheduled ({len(event.participants)} participant(s))"
        case NetworkMeetingHeld():
            return f"Network meeting held ({len(event.participants)} participant(s))" + (
                "; plan revised" if event.revised_plan else ""
            )
