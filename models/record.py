"""The client record of one pathway, as the database keeps it and staff read it.

Folded from the pathway's events by `apply_event`, one event at a time, in sequence order: the activity
that records events folds them into the stored record, and a read of a running pathway folds the events
the database has not got yet onto it. The fold only files what the events say; every rule (what a plan
revision cancels, what a closure settles) was applied by the workflow's rules, which emitted an event for it.

The unbounded parts (every follow-up contact, every feedback) live in the event table; the record keeps
the latest few of each and their counts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.actions import MeetingParticipant
from models.events import (
    AssessmentCompleted,
    CaseManagerAssigned,
    CaseManagerChanged,
    Closed,
    ConsentRecorded,
    ConsentWithdrawn,
    DeadlineNoticed,
    EventKind,
    FeedbackRecorded,
    FollowUpRecorded,
    FollowUpReminderSent,
    GoalAttainmentScored,
    GoalSet,
    HandoverEnded,
    HandoverProposed,
    InvestigationAdded,
    InvestigationCompleted,
    NetworkMeetingHeld,
    NetworkMeetingScheduled,
    OutcomeRecorded,
    OutcomeSetAside,
    PathwayEvent,
    PlanSet,
    ReassessmentStarted,
    ReferralAnswered,
    ReferralReceived,
    ReferralSent,
    ReferralWithdrawn,
    ServiceGapNoticed,
    ServiceStatusChanged,
    SummaryGiven,
    SustainmentCheckRequested,
    SustainmentConfirmed,
    TeamReviewDecided,
    TeamReviewOpened,
    TransitionDecided,
    TransitionOpened,
    Triaged,
    WorkAbilityRecorded,
)
from models.measures import (
    GasOccasion,
    WorkAbilityBand,
    WorkAbilityChange,
    WorkAbilityOccasion,
    at_or_above_expected,
    gas_t_score,
    work_ability_band,
    work_ability_change,
)
from models.pathway import (
    CLIENT_ACTOR_PREFIX,
    ContactChannel,
    ContractModel,
    InvestigationStatus,
    Language,
    ReferralAnswer,
    ReferralSource,
    ReferralStatus,
    ReferringOrganisation,
    ServiceKind,
    ServiceStatus,
    Stage,
    SummaryChannel,
    TeamReviewDecision,
    TransitionDecision,
    TriageRoute,
)
from models.process import (
    HandoverProposal,
    PendingReview,
    ProcessAssessment,
    ProcessClosure,
    ProcessConsent,
    ProcessGoal,
    ProcessInvestigation,
    ProcessOutcome,
    ProcessPlan,
    ProcessReferral,
    ProcessService,
    ScheduledMeeting,
    TransitionFacts,
)

# The record keeps this many of the latest follow-ups and feedback; the rest are read page by page.
RECENT_ITEMS = 20


class Referral(ContractModel):
    referral_source: ReferralSource
    referring_organisation: ReferringOrganisation | None = None
    client_language: Language
    remote_services_needed: bool
    referred_at: datetime
    registered_by: str
    reason: str


class CaseManagerPeriod(ContractModel):
    staff_id: str
    assumed_at: datetime
    renounced_at: datetime | None = None
    reason: str
    assigned_by: str = Field(description="Who named them (triage) or proposed the hand-over.")
    handover_note: str | None = None
    client_informed_via: ContactChannel | None = None


class HandoverRecord(HandoverProposal):
    """A hand-over proposed: pending until the incoming case manager accepts it, or declined or withdrawn."""

    from_case_manager: str
    to_case_manager: str
    reason: str
    outcome: str | None = Field(default=None, description="accepted, declined or withdrawn; None while pending.")
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None


class TransitionRecord(TransitionFacts):
    active_services_left: int
    decision: TransitionDecision | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None
    replacement_service_id: str | None = None
    review_id: str | None = None
    without_gap: bool | None = None


class ConsentRecord(ProcessConsent):
    recorded_at: datetime
    recorded_by: str
    note: str | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdrawal_note: str | None = None


class ReferralAnswerRecord(ContractModel):
    answer: ReferralAnswer
    at: datetime
    by_partner: bool
    recorded_by: str
    reason: str | None = None


class ReferralRecord(ProcessReferral):
    service_kind: ServiceKind
    sent_by: str
    times_sent: int = 1
    message: str
    answers: list[ReferralAnswerRecord] = []
    withdrawn_at: datetime | None = None
    withdrawn_because: str | None = None


class NetworkMeetingRecord(ContractModel):
    meeting_id: str
    held_at: datetime
    participants: list[MeetingParticipant]
    remote: bool = False
    decisions: str
    revised_plan: bool = False
    recorded_by: str


class ScheduledMeetingRecord(ScheduledMeeting):
    participants: list[MeetingParticipant]
    remote: bool = False
    agenda: str | None = None
    scheduled_by: str


class AssessmentRecord(ProcessAssessment):
    completed_by: str | None = None
    summary: str | None = None
    recommendation: str | None = None
    triage_note: str | None = None


class GoalScoreRecord(ContractModel):
    level: int
    occasion: GasOccasion
    scored_at: datetime
    scored_by: str
    note: str | None = None


class GoalRecord(ProcessGoal):
    text: str
    set_at: datetime
    set_by: str
    updated_at: datetime
    gas_much_less: str | None = None
    gas_less: str | None = None
    gas_expected: str | None = None
    gas_more: str | None = None
    gas_much_more: str | None = None
    scores: list[GoalScoreRecord] = Field(default=[], description="The GAS attainment scored, oldest first.")

    def gas_levels(self) -> list[tuple[int, str]]:
        """A GAS goal's five described levels, -2 to +2 (empty for a plain goal)."""
        texts = (self.gas_much_less, self.gas_less, self.gas_expected, self.gas_more, self.gas_much_more)
        return [(level, text) for level, text in zip(range(-2, 3), texts, strict=True) if text is not None]

    @property
    def attained_level(self) -> int | None:
        """The goal's attainment as it stands: the closing score if there is one, else the latest review's."""
        closing = [score for score in self.scores if score.occasion is GasOccasion.CLOSING]
        latest = closing[-1] if closing else (self.scores[-1] if self.scores else None)
        return latest.level if latest else None


class WorkAbilityRecord(ContractModel):
    """One answer of the client to the Work Ability Score question (a score, or declined)."""

    sequence: int
    occasion: WorkAbilityOccasion
    asked_at: datetime
    asked_by: str
    score: int | None = None
    declined: bool = False

    @property
    def band(self) -> WorkAbilityBand | None:
        return work_ability_band(self.score) if self.score is not None else None


class PathwayMeasures(ContractModel):
    """The pathway's work ability as measured, derived from the record in one place for the API, the pages,
    the reports and the FHIR export."""

    work_ability_first: WorkAbilityRecord | None = Field(default=None, description="The first scored answer.")
    work_ability_latest: WorkAbilityRecord | None = Field(default=None, description="The latest scored answer.")
    work_ability_change: WorkAbilityChange | None = Field(
        default=None, description="From the first scored answer to the latest (improved: by 2 points or more)."
    )
    work_ability_declined: int = Field(default=0, description="Answers where the client did not want to answer.")
    gas_goals: int = 0
    gas_goals_scored: int = 0
    gas_goals_at_or_above_expected: int = 0
    gas_t_score: float | None = Field(default=None, description="Over the scored GAS goals (Kiresuk and Sherman).")


# The scores a GAS goal keeps (the latest; a closing score is never among the dropped in practice: it comes last).
MAX_GOAL_SCORES = 40
# The Work Ability Score answers a record keeps: the first always (the baseline), then the latest.
MAX_WORK_ABILITY_ANSWERS = 40


class InvestigationRecord(ProcessInvestigation):
    description: str
    provider: str | None = None
    ordered_at: datetime
    completed_at: datetime | None = None
    completed_by: str | None = None
    result_summary: str | None = None


class PlanRecord(ProcessPlan):
    set_by: str
    note: str | None = None


class ServiceRecord(ProcessService):
    planned_in_version: int
    last_note: str | None = None


class FollowUpRecord(ContractModel):
    sequence: int
    contacted_at: datetime
    channel: ContactChannel
    note: str
    recorded_by: str


class TeamReviewRecord(PendingReview):
    reason: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision: TeamReviewDecision | None = None
    decision_note: str | None = None


class OutcomeRecord(ProcessOutcome):
    description: str
    started_at: datetime | None = None
    recorded_by: str
    confirmed_at: datetime | None = None
    held: bool | None = None
    confirmation_note: str | None = None


class FeedbackRecord(ContractModel):
    sequence: int
    rating: int
    knows_whom_to_contact: bool | None = None
    comment: str | None = None
    recorded_at: datetime
    recorded_by: str = Field(description="Staff id, or client:<link id> for the client's own answer.")

    @property
    def by_client(self) -> bool:
        return self.recorded_by.startswith(CLIENT_ACTOR_PREFIX)


class SummaryGivenRecord(ContractModel):
    """The client's copy of the plan, as last given."""

    given_at: datetime
    given_by: str
    channel: SummaryChannel
    plan_version: int | None = None
    case_manager: str | None = None


class ClientCopyState(StrEnum):
    """Whether the client's own copy of the plan still says what holds."""

    CURRENT = "current"
    NOT_GIVEN = "not_given"  # a plan exists, and the client has no copy yet
    PLAN_CHANGED = "plan_changed"
    CASE_MANAGER_CHANGED = "case_manager_changed"


class ClosureRecord(ProcessClosure):
    note: str
    closed_by: str


class PathwayRecord(ContractModel):
    """Everything recorded about one pathway (its live process adds the next deadline while it runs)."""

    pathway_id: str
    client_reference: str
    team: str
    demo: bool = False
    referral: Referral
    stage: Stage = Stage.AWAITING_TRIAGE
    case_manager: str | None = None
    case_manager_history: list[CaseManagerPeriod] = []
    assessments: list[AssessmentRecord] = Field(default=[], description="The first, then any reassessments.")
    goals: list[GoalRecord] = []
    work_ability: list[WorkAbilityRecord] = Field(
        default=[],
        description=f"The Work Ability Score answers: the first, then the latest {MAX_WORK_ABILITY_ANSWERS - 1}.",
    )
    investigations: list[InvestigationRecord] = []
    plan: PlanRecord | None = None
    services: list[ServiceRecord] = []
    follow_ups: list[FollowUpRecord] = Field(default=[], description=f"The latest {RECENT_ITEMS}, newest last.")
    follow_up_count: int = 0
    next_follow_up_due: datetime | None = None
    last_contact_at: datetime | None = None
    reminders_sent: int = 0
    service_gaps_noticed: int = 0
    team_reviews: list[TeamReviewRecord] = []
    handover: HandoverRecord | None = Field(default=None, description="The pending hand-over, if any.")
    handovers: list[HandoverRecord] = Field(default=[], description=f"The latest {RECENT_ITEMS} that ended.")
    transitions: list[TransitionRecord] = []
    consents: list[ConsentRecord] = []
    referrals: list[ReferralRecord] = []
    network_meetings: list[NetworkMeetingRecord] = Field(default=[], description=f"The latest {RECENT_ITEMS}.")
    network_meeting_count: int = 0
    next_network_meeting: ScheduledMeetingRecord | None = None
    deadline_notices: int = Field(default=0, description="Dated commitments that came due and someone was told.")
    outcome: OutcomeRecord | None = None
    past_outcomes: list[OutcomeRecord] = Field(default=[], description="Solutions that did not hold or were set aside.")
    feedback: list[FeedbackRecord] = Field(default=[], description=f"The latest {RECENT_ITEMS}, newest last.")
    feedback_count: int = 0
    summary_given: SummaryGivenRecord | None = Field(default=None, description="The client's copy, as last given.")
    closure: ClosureRecord | None = None
    opened_at: datetime
    updated_at: datetime
    recorded_sequence: int = Field(default=0, description="The last event folded into this record.")

    @property
    def assessment(self) -> AssessmentRecord | None:
        return self.assessments[-1] if self.assessments else None

    def gas_goals(self) -> list[GoalRecord]:
        return [goal for goal in self.goals if goal.is_gas]

    def gas_t_score(self) -> float | None:
        """The pathway's GAS T-score over its scored GAS goals (None before any is scored)."""
        levels = self._gas_levels_attained()
        return round(gas_t_score(levels), 1) if levels else None

    def _gas_levels_attained(self) -> list[int]:
        return [level for goal in self.gas_goals() if (level := goal.attained_level) is not None]

    def work_ability_scores(self) -> list[WorkAbilityRecord]:
        """The answers that gave a score (declined ones are on record but have no value), in the order they were
        asked (an answer may be recorded later than it was given)."""
        scored = [answer for answer in self.work_ability if answer.score is not None]
        return sorted(scored, key=lambda answer: (answer.asked_at, answer.sequence))

    def measured(self) -> PathwayMeasures:
        scored = self.work_ability_scores()
        first, latest = (scored[0], scored[-1]) if scored else (None, None)
        levels = self._gas_levels_attained()
        return PathwayMeasures(
            work_ability_first=first,
            work_ability_latest=latest,
            work_ability_change=(
                work_ability_change(first.score, latest.score)  # type: ignore[arg-type]
                if first is not None and latest is not None and len(scored) > 1
                else None
            ),
            work_ability_declined=sum(1 for answer in self.work_ability if answer.declined),
            gas_goals=len(self.gas_goals()),
            gas_goals_scored=len(levels),
            gas_goals_at_or_above_expected=sum(1 for level in levels if at_or_above_expected(level)),
            gas_t_score=self.gas_t_score(),
        )

    def client_copy_state(self) -> ClientCopyState | None:
        """Whether the client's copy of the plan is out of date (None: there is no plan to give yet, or the
        pathway is closed): a plan revised or a hand-over accepted after it was given makes it so."""
        if self.plan is None or self.closure is not None:
            return None
        given = self.summary_given
        if given is None or given.plan_version is None:  # none given, or one given before there was a plan
            return ClientCopyState.NOT_GIVEN
        if given.case_manager != self.case_manager:
            return ClientCopyState.CASE_MANAGER_CHANGED
        if given.plan_version != self.plan.version or self._copy_content_changed_since(given.given_at):
            return ClientCopyState.PLAN_CHANGED
        return ClientCopyState.CURRENT

    def _copy_content_changed_since(self, moment: datetime) -> bool:
        """What the summary prints changed after it was given: a goal set or changed, a service started,
        ended, interrupted or cancelled."""
        goals = any(goal.updated_at > moment for goal in self.goals)
        services = any(
            (service.started_at is not None and service.started_at > moment)
            or (service.ended_at is not None and service.ended_at > moment)
            for service in self.services
        )
        return goals or services

    def pending_team_reviews(self) -> list[TeamReviewRecord]:
        return [review for review in self.team_reviews if review.decided_at is None]

    def open_transitions(self) -> list[TransitionRecord]:
        return [transition for transition in self.transitions if transition.decided_at is None]

    def referral_out(self, referral_id: str) -> ReferralRecord | None:
        return next((referral for referral in self.referrals if referral.referral_id == referral_id), None)


class RecordOutOfOrder(ValueError):
    """An event that does not follow the record's last one; the record is never folded with a gap."""


def new_record(event: ReferralReceived) -> PathwayRecord:
    return PathwayRecord(
        pathway_id="",  # set by `apply_events`, which knows the pathway
        client_reference=event.client_reference,
        team=event.team,
        demo=event.demo,
        referral=Referral(
            referral_source=event.referral_source,
            referring_organisation=event.referring_organisation,
            client_language=event.client_language,
            remote_services_needed=event.remote_services_needed,
            referred_at=event.referred_at,
            registered_by=event.registered_by,
            reason=event.reason,
        ),
        opened_at=event.at,
        updated_at=event.at,
        recorded_sequence=event.sequence,
    )


def apply_events(pathway_id: str, record: PathwayRecord | None, events: list[PathwayEvent]) -> PathwayRecord | None:
    """The record after `events`; events already folded in are skipped, a gap raises `RecordOutOfOrder`."""
    for event in sorted(events, key=lambda e: e.sequence):
        if record is not None and event.sequence <= record.recorded_sequence:
            continue
        if record is None:
            if not isinstance(event, ReferralReceived):
                raise RecordOutOfOrder(f"{pathway_id}: event {event.sequence} ({event.kind}) before the referral")
            record = new_record(event)
            record.pathway_id = pathway_id
            continue
        if event.sequence != record.recorded_sequence + 1:
            raise RecordOutOfOrder(
                f"{pathway_id}: event {event.sequence} does not follow the recorded {record.recorded_sequence}"
            )
        _apply(record, event)
        record.stage = event.stage
        record.recorded_sequence = event.sequence
        record.updated_at = event.at
    return record


def _keep_recent(items: list, item: object) -> None:  # type: ignore[type-arg]
    items.append(item)
    del items[:-RECENT_ITEMS]


def _drop_oldest_but_the_baseline(answers: list[WorkAbilityRecord]) -> None:
    """Drop the oldest answer that is neither the first answer nor the first scored one (the baseline the
    reports and the pages compare with)."""
    asked = sorted(answers, key=lambda answer: (answer.asked_at, answer.sequence))
    first_scored = next((answer for answer in asked if answer.score is not None), None)
    keep = {asked[0].sequence, first_scored.sequence if first_scored else asked[0].sequence}
    oldest = next(answer for answer in asked if answer.sequence not in keep)
    answers.remove(oldest)


def _renounce_current(record: PathwayRecord, at: datetime) -> None:
    for period in record.case_manager_history:
        if period.renounced_at is None:
            period.renounced_at = at


def _apply(record: PathwayRecord, event: PathwayEvent) -> None:
    match event:
        case Triaged():
            if event.assessment_level is not None or event.route is not TriageRoute.NO_NEED:
                record.assessments.append(
                    AssessmentRecord(
                        route=event.route, level=event.assessment_level, started_at=event.at, triage_note=event.note
                    )
                )
        case CaseManagerAssigned():
            record.case_manager = event.case_manager
            record.case_manager_history.append(
                CaseManagerPeriod(
                    staff_id=event.case_manager, assumed_at=event.at, reason=event.reason, assigned_by=event.actor
                )
            )
        case CaseManagerChanged():
            _renounce_current(record, event.at)
            record.case_manager = event.case_manager
            handover = record.handover
            if handover is not None:
                handover.outcome, handover.ended_at, handover.ended_by = "accepted", event.at, event.actor
                _keep_recent(record.handovers, handover)
                record.handover = None
            record.case_manager_history.append(
                CaseManagerPeriod(
                    staff_id=event.case_manager,
                    assumed_at=event.at,
                    reason=event.reason or (handover.reason if handover else ""),
                    assigned_by=event.proposed_by or event.actor,
                    handover_note=event.handover_note,
                    client_informed_via=event.client_informed_via,
                )
            )
        case HandoverProposed():
            record.handover = HandoverRecord(
                from_case_manager=event.case_manager,
                to_case_manager=event.proposed_case_manager,
                proposed_by=event.actor,
                proposed_at=event.at,
                reason=event.reason,
            )
        case HandoverEnded():
            if record.handover is not None:
                ended = record.handover
                ended.outcome = "declined" if event.kind is EventKind.HANDOVER_DECLINED else "withdrawn"
                ended.ended_at, ended.ended_by, ended.end_reason = event.at, event.actor, event.reason
                _keep_recent(record.handovers, ended)
                record.handover = None
        case DeadlineNoticed():
            record.deadline_notices += 1
        case TransitionOpened():
            record.transitions.append(
                TransitionRecord(
                    transition_id=event.transition_id,
                    service_id=event.service_id,
                    service_kind=event.service_kind,
                    cause=event.cause,
                    opened_at=event.at,
                    active_services_left=event.active_services_left,
                )
            )
        case TransitionDecided():
            for transition in record.transitions:
                if transition.transition_id == event.transition_id:
                    transition.decision, transition.decided_at, transition.decided_by = (
                        event.decision,
                        event.at,
                        event.actor,
                    )
                    transition.note = event.note
                    transition.replacement_service_id = event.replacement_service_id
                    transition.review_id = event.review_id
                    transition.without_gap = event.without_gap
        case ConsentRecorded():
            record.consents.append(
                ConsentRecord(
                    consent_id=event.consent_id,
                    partner_id=event.partner_id,
                    scopes=event.scopes,
                    given_at=event.given_at,
                    expires_at=event.expires_at,
                    recorded_at=event.at,
                    recorded_by=event.actor,
                    note=event.note,
                )
            )
        case ConsentWithdrawn():
            for consent in record.consents:
                if consent.consent_id == event.consent_id:
                    consent.withdrawn_at, consent.withdrawn_by, consent.withdrawal_note = (
                        event.at,
                        event.actor,
                        event.note,
                    )
        case ReferralSent():
            sent = record.referral_out(event.referral_id)
            if sent is None:
                record.referrals.append(
                    ReferralRecord(
                        referral_id=event.referral_id,
                        service_id=event.service_id,
                        service_kind=event.service_kind,
                        partner_id=event.partner_id,
                        consent_id=event.consent_id,
                        sent_at=event.at,
                        sent_by=event.actor,
                        answer_due=event.answer_due,
                        message=event.message,
                    )
                )
            else:
                sent.sent_at, sent.sent_by, sent.answer_due = event.at, event.actor, event.answer_due
                sent.message, sent.consent_id = event.message, event.consent_id
                sent.times_sent += 1
        case ReferralAnswered():
            answered = record.referral_out(event.referral_id)
            if answered is not None:
                answered.answers.append(
                    ReferralAnswerRecord(
                        answer=event.answer,
                        at=event.at,
                        by_partner=event.by_partner,
                        recorded_by=event.actor,
                        reason=event.reason,
                    )
                )
                answered.status = ReferralStatus(event.answer.value)
        case ReferralWithdrawn():
            withdrawn = record.referral_out(event.referral_id)
            if withdrawn is not None:
                withdrawn.status = ReferralStatus.WITHDRAWN
                withdrawn.withdrawn_at, withdrawn.withdrawn_because = event.at, event.because
        case NetworkMeetingScheduled():
            record.next_network_meeting = ScheduledMeetingRecord(
                meeting_id=event.meeting_id,
                at=event.meeting_at,
                participants=event.participants,
                remote=event.remote,
                agenda=event.agenda,
                scheduled_by=event.actor,
            )
        case NetworkMeetingHeld():
            _keep_recent(
                record.network_meetings,
                NetworkMeetingRecord(
                    meeting_id=event.meeting_id,
                    held_at=event.held_at,
                    participants=event.participants,
                    remote=event.remote,
                    decisions=event.decisions,
                    revised_plan=event.revised_plan,
                    recorded_by=event.actor,
                ),
            )
            record.network_meeting_count += 1
            # The next meeting (if any) is scheduled by the same action; its participants are to be confirmed.
            record.next_network_meeting = (
                ScheduledMeetingRecord(
                    meeting_id=event.next_meeting_id or f"{event.meeting_id}:next",
                    at=event.next_meeting_at,
                    participants=event.participants,
                    remote=event.remote,
                    scheduled_by=event.actor,
                )
                if event.next_meeting_at is not None
                else None
            )
        case GoalSet() if event.kind is EventKind.GOAL_SET:
            record.goals.append(
                GoalRecord(
                    goal_id=event.goal_id,
                    text=event.text,
                    target_date=event.target_date,
                    achieved=event.achieved,
                    gas_baseline=event.gas_baseline,
                    set_at=event.at,
                    set_by=event.actor,
                    updated_at=event.at,
                    **event.gas_level_texts(),
                )
            )
        case GoalSet():
            for goal in record.goals:
                if goal.goal_id == event.goal_id:
                    goal.text, goal.target_date, goal.achieved = event.text, event.target_date, event.achieved
                    goal.gas_baseline = event.gas_baseline
                    for name, text in event.gas_level_texts().items():
                        setattr(goal, name, text)
                    goal.updated_at = event.at
        case GoalAttainmentScored():
            for goal in record.goals:
                if goal.goal_id == event.goal_id:
                    goal.scores.append(
                        GoalScoreRecord(
                            level=event.attainment,
                            occasion=event.occasion,
                            scored_at=event.at,
                            scored_by=event.actor,
                            note=event.note,
                        )
                    )
                    del goal.scores[:-MAX_GOAL_SCORES]
                    goal.target_date = event.next_review_at
                    goal.updated_at = event.at
        case WorkAbilityRecorded():
            record.work_ability.append(
                WorkAbilityRecord(
                    sequence=event.sequence,
                    occasion=event.occasion,
                    asked_at=event.asked_at,
                    asked_by=event.actor,
                    score=event.score,
                    declined=event.declined,
                )
            )
            if len(record.work_ability) > MAX_WORK_ABILITY_ANSWERS:
                _drop_oldest_but_the_baseline(record.work_ability)
        case InvestigationAdded():
            record.investigations.append(
                InvestigationRecord(
                    investigation_id=event.investigation_id,
                    description=event.description,
                    provider=event.provider,
                    due_at=event.due_at,
                    ordered_at=event.at,
                    ordered_by=event.actor,
                )
            )
        case InvestigationCompleted():
            for investigation in record.investigations:
                if investigation.investigation_id == event.investigation_id:
                    investigation.status = InvestigationStatus.COMPLETED
                    investigation.completed_at = event.at
                    investigation.completed_by = event.actor
                    investigation.result_summary = event.result_summary
        case AssessmentCompleted():
            if record.assessment is not None:
                record.assessment.completed_at = event.at
                record.assessment.completed_by = event.actor
                record.assessment.summary = event.summary
                record.assessment.recommendation = event.recommendation
        case ReassessmentStarted():
            record.assessments.append(
                AssessmentRecord(route=event.route, level=event.assessment_level, started_at=event.at)
            )
        case PlanSet():
            record.plan = PlanRecord(
                version=event.version,
                set_at=event.at,
                set_by=event.actor,
                follow_up_interval=event.follow_up_interval,
                note=event.note,
            )
            record.next_follow_up_due = event.next_follow_up_due
            existing = {service.service_id: service for service in record.services}
            for planned in event.services:
                service = existing.get(planned.service_id)
                if service is None:
                    record.services.append(
                        ServiceRecord(
                            service_id=planned.service_id,
                            kind=planned.kind,
                            provider=planned.provider,
                            planned_start=planned.planned_start,
                            planned_end=planned.planned_end,
                            remote=planned.remote,
                            status=planned.status,
                            planned_in_version=event.version,
                        )
                    )
                else:
                    service.kind, service.provider, service.remote = planned.kind, planned.provider, planned.remote
                    service.planned_start, service.planned_end = planned.planned_start, planned.planned_end
        case ServiceStatusChanged():
            for service in record.services:
                if service.service_id == event.service_id:
                    service.status = event.status
                    if event.status is ServiceStatus.ACTIVE:
                        service.started_at = event.at
                    else:
                        service.ended_at = event.at
                    if event.note:
                        service.last_note = event.note
        case FollowUpRecorded():
            _keep_recent(
                record.follow_ups,
                FollowUpRecord(
                    sequence=event.sequence,
                    contacted_at=event.contacted_at,
                    channel=event.channel,
                    note=event.note,
                    recorded_by=event.actor,
                ),
            )
            record.follow_up_count += 1
            record.last_contact_at = FollowUpRecorded.last_contact(record.last_contact_at, event.contacted_at)
            if event.next_follow_up_due is not None:
                record.next_follow_up_due = event.next_follow_up_due
        case FollowUpReminderSent():
            record.reminders_sent += 1
        case ServiceGapNoticed():
            record.service_gaps_noticed += 1
        case SustainmentCheckRequested():
            pass
        case TeamReviewOpened():
            record.team_reviews.append(
                TeamReviewRecord(
                    review_id=event.review_id,
                    cause=event.cause,
                    reason=event.reason,
                    opened_by=event.actor,
                    opened_at=event.at,
                )
            )
        case TeamReviewDecided():
            for review in record.team_reviews:
                if review.review_id == event.review_id:
                    review.decided_at = event.at
                    review.decided_by = event.actor
                    review.decision = event.decision
                    review.decision_note = event.note
        case OutcomeRecorded():
            record.outcome = OutcomeRecord(
                solution=event.solution,
                description=event.description,
                started_at=event.started_at,
                recorded_at=event.at,
                recorded_by=event.actor,
                sustainment_until=event.sustainment_until,
            )
        case SustainmentConfirmed():
            if record.outcome is not None:
                record.outcome.confirmed_at = event.at
                record.outcome.held = event.held
                record.outcome.confirmation_note = event.note
        case OutcomeSetAside():
            if record.outcome is not None:
                record.past_outcomes.append(record.outcome)
                record.outcome = None
        case FeedbackRecorded():
            _keep_recent(
                record.feedback,
                FeedbackRecord(
                    sequence=event.sequence,
                    rating=event.rating,
                    knows_whom_to_contact=event.knows_whom_to_contact,
                    comment=event.comment,
                    recorded_at=event.at,
                    recorded_by=event.actor,
                ),
            )
            record.feedback_count += 1
        case SummaryGiven():
            record.summary_given = SummaryGivenRecord(
                given_at=event.at,
                given_by=event.actor,
                channel=event.channel,
                plan_version=event.plan_version,
                case_manager=event.case_manager,
            )
        case Closed():
            _renounce_current(record, event.at)
            record.next_network_meeting = None
            record.closure = ClosureRecord(
                reason=event.closure_reason, note=event.note, closed_at=event.at, closed_by=event.actor
            )
        case ReferralReceived():
            raise RecordOutOfOrder(f"{record.pathway_id}: a second referral event ({event.sequence})")
