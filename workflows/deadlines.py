"""What is due next on a pathway: the one place that derives deadlines from the process state.

Pure functions of the state, so the workflow never keeps a pile of independent sleeps: after every
change it asks for the earliest deadline that has not fired yet and waits for it (or for the next
change). A deadline's key names its anchor (the item and the date it hangs on, e.g. a service's planned
start), so a re-planned commitment is a new deadline, and a fired one never fires twice.

Every dated commitment a pathway holds has its deadline here: triage, the assessment and its
investigations, the client's goals, the plan's services (start and end), follow-up contacts, service
gaps (in services and in sustainment), open service transitions, a pending hand-over, referrals waiting
for the provider's answer, the next network meeting, pending team reviews and the sustainment check.
What firing one does (remind, escalate) is `workflows.rules.fire_deadline`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from models.pathway import SERVICE_STAGES, DeadlineKind, InvestigationStatus, ReferralStatus, ServiceStatus, Stage
from models.process import Deadline, ProcessState, ProcessStatus

# Deadlines that mean something is late (the rest remind ahead of a date or ask for a review).
OVERDUE_KINDS = frozenset(
    {
        DeadlineKind.TRIAGE_DUE,
        DeadlineKind.ASSESSMENT_DUE,
        DeadlineKind.FOLLOW_UP_OVERDUE,
        DeadlineKind.SERVICE_GAP_ESCALATION,
        DeadlineKind.SUSTAINMENT_UNCONFIRMED,
        DeadlineKind.SERVICE_START_MISSED,
        DeadlineKind.SERVICE_START_ESCALATION,
        DeadlineKind.SERVICE_END_PASSED,
        DeadlineKind.INVESTIGATION_OVERDUE,
        DeadlineKind.INVESTIGATION_ESCALATION,
        DeadlineKind.TEAM_REVIEW_STALLED,
        DeadlineKind.TRANSITION_REMINDER,
        DeadlineKind.TRANSITION_ESCALATION,
        DeadlineKind.HANDOVER_REMINDER,
        DeadlineKind.HANDOVER_ESCALATION,
        DeadlineKind.REFERRAL_ANSWER_REMINDER,
        DeadlineKind.REFERRAL_ANSWER_ESCALATION,
        DeadlineKind.NETWORK_MEETING_OVERDUE,
        DeadlineKind.GOAL_REVIEW_ESCALATION,
    }
)


def _deadline(kind: DeadlineKind, due_at: datetime, anchor: datetime, item: str | None = None) -> Deadline:
    anchored = f"{item}@{anchor.isoformat()}" if item else anchor.isoformat()
    return Deadline(kind=kind, due_at=due_at, key=f"{kind.value}@{anchored}", item_id=item)


def service_gap_started_at(state: ProcessState) -> datetime | None:
    """When the client was left without an active service after one ended, if they are now.

    In services any such stretch is a gap. In sustainment the client may rightly need no service (the
    solution is in place), so only a stretch while the plan still has a service waiting to start counts:
    one service ended and the next has not begun, which is where clients get lost.
    """
    if any(service.status is ServiceStatus.ACTIVE for service in state.services):
        return None
    if state.stage is Stage.SUSTAINMENT and not any(s.status is ServiceStatus.PLANNED for s in state.services):
        return None
    return state.last_service_ended_at


def _stage_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    if state.stage is Stage.AWAITING_TRIAGE:
        yield _deadline(DeadlineKind.TRIAGE_DUE, state.referred_at + policy.triage_due_after, state.referred_at)
    if state.stage is Stage.ASSESSMENT and state.assessment is not None:
        started = state.assessment.started_at
        yield _deadline(DeadlineKind.ASSESSMENT_DUE, started + policy.assessment_due_after, started)
    if state.stage is Stage.SUSTAINMENT and state.outcome is not None:
        until = state.outcome.sustainment_until
        yield _deadline(DeadlineKind.SUSTAINMENT_CHECK, until, until)
        yield _deadline(DeadlineKind.SUSTAINMENT_UNCONFIRMED, until + policy.sustainment_confirm_grace, until)


def _follow_up_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    due = state.next_follow_up_due
    if state.stage in (Stage.IN_SERVICES, Stage.SUSTAINMENT) and due is not None:
        if policy.follow_up_reminder_before:
            yield _deadline(DeadlineKind.FOLLOW_UP_REMINDER, due - policy.follow_up_reminder_before, due)
        yield _deadline(DeadlineKind.FOLLOW_UP_OVERDUE, due + policy.follow_up_grace, due)


def _service_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    if state.stage not in SERVICE_STAGES:
        return
    for service in state.services:
        if service.status is ServiceStatus.PLANNED:
            missed_at = service.planned_start + policy.commitment_grace
            anchor = service.planned_start
            yield _deadline(DeadlineKind.SERVICE_START_MISSED, missed_at, anchor, service.service_id)
            yield _deadline(
                DeadlineKind.SERVICE_START_ESCALATION,
                missed_at + policy.commitment_escalate_after,
                anchor,
                service.service_id,
            )
        elif service.status is ServiceStatus.ACTIVE and service.planned_end is not None:
            end = service.planned_end
            yield _deadline(DeadlineKind.SERVICE_END_PASSED, end + policy.commitment_grace, end, service.service_id)
    if state.stage in (Stage.IN_SERVICES, Stage.SUSTAINMENT):
        gap_started = service_gap_started_at(state)
        if gap_started is not None:
            notice_at = gap_started + policy.service_gap_allowed
            yield _deadline(DeadlineKind.SERVICE_GAP_NOTICE, notice_at, gap_started)
            yield _deadline(
                DeadlineKind.SERVICE_GAP_ESCALATION, notice_at + policy.service_gap_escalate_after, gap_started
            )


def _assessment_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    if state.stage is not Stage.ASSESSMENT:
        return
    for investigation in state.investigations:
        if investigation.due_at is None or investigation.status is not InvestigationStatus.ORDERED:
            continue
        late_at = investigation.due_at + policy.commitment_grace
        item = investigation.investigation_id
        yield _deadline(DeadlineKind.INVESTIGATION_OVERDUE, late_at, investigation.due_at, item)
        yield _deadline(
            DeadlineKind.INVESTIGATION_ESCALATION,
            late_at + policy.commitment_escalate_after,
            investigation.due_at,
            item,
        )


def _goal_deadlines(state: ProcessState) -> Iterator[Deadline]:
    if state.case_manager is None:
        return
    policy = state.policy
    for goal in state.goals:
        if goal.target_date is not None and not goal.achieved:
            yield _deadline(DeadlineKind.GOAL_REVIEW, goal.target_date, goal.target_date, goal.goal_id)
            if goal.is_gas:
                # A GAS goal's review is a dated commitment: left unscored, it goes to the team.
                escalate_at = goal.target_date + policy.commitment_grace + policy.commitment_escalate_after
                yield _deadline(DeadlineKind.GOAL_REVIEW_ESCALATION, escalate_at, goal.target_date, goal.goal_id)


def _team_review_deadlines(state: ProcessState) -> Iterator[Deadline]:
    for review in state.pending_reviews:
        yield _deadline(
            DeadlineKind.TEAM_REVIEW_STALLED,
            review.opened_at + state.policy.team_review_allowed,
            review.opened_at,
            review.review_id,
        )


def _transition_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    for transition in state.transitions:
        remind_at = transition.opened_at + policy.transition_decide_within
        item, anchor = transition.transition_id, transition.opened_at
        yield _deadline(DeadlineKind.TRANSITION_REMINDER, remind_at, anchor, item)
        yield _deadline(DeadlineKind.TRANSITION_ESCALATION, remind_at + policy.commitment_escalate_after, anchor, item)


def _handover_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    handover = state.handover
    if handover is None:
        return
    remind_at = handover.proposed_at + policy.handover_accept_within
    yield _deadline(DeadlineKind.HANDOVER_REMINDER, remind_at, handover.proposed_at, handover.to)
    yield _deadline(
        DeadlineKind.HANDOVER_ESCALATION, remind_at + policy.handover_escalate_after, handover.proposed_at, handover.to
    )


def _referral_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    for referral in state.referrals:
        if referral.status is not ReferralStatus.SENT:
            continue
        item, due = referral.referral_id, referral.answer_due
        yield _deadline(DeadlineKind.REFERRAL_ANSWER_REMINDER, due, due, item)
        yield _deadline(DeadlineKind.REFERRAL_ANSWER_ESCALATION, due + policy.commitment_escalate_after, due, item)


def _meeting_deadlines(state: ProcessState) -> Iterator[Deadline]:
    policy = state.policy
    meeting = state.next_meeting
    if meeting is None:
        return
    if policy.network_meeting_reminder_before:
        yield _deadline(
            DeadlineKind.NETWORK_MEETING_REMINDER,
            meeting.at - policy.network_meeting_reminder_before,
            meeting.at,
            meeting.meeting_id,
        )
    yield _deadline(
        DeadlineKind.NETWORK_MEETING_OVERDUE, meeting.at + policy.network_meeting_grace, meeting.at, meeting.meeting_id
    )


_SOURCES = (
    _stage_deadlines,
    _follow_up_deadlines,
    _service_deadlines,
    _assessment_deadlines,
    _goal_deadlines,
    _team_review_deadlines,
    _transition_deadlines,
    _handover_deadlines,
    _referral_deadlines,
    _meeting_deadlines,
)


def all_deadlines(state: ProcessState) -> list[Deadline]:
    """Every deadline the current state implies, fired or not."""
    if state.stage is Stage.CLOSED:
        return []
    return [deadline for source in _SOURCES for deadline in source(state)]


def pending_deadlines(state: ProcessState, implied: list[Deadline] | None = None) -> list[Deadline]:
    """The deadlines not fired yet, earliest first; `implied` is `all_deadlines(state)` when the caller has it."""
    fired = set(state.fired_deadline_keys)
    return sorted(
        (deadline for deadline in (all_deadlines(state) if implied is None else implied) if deadline.key not in fired),
        # Ties in the key's order, so two deadlines due at once always fire in the same order.
        key=lambda deadline: (deadline.due_at, deadline.key),
    )


def next_deadline(state: ProcessState) -> Deadline | None:
    """The earliest deadline that has not fired yet."""
    pending = pending_deadlines(state)
    return pending[0] if pending else None


def due_now(state: ProcessState, now: datetime) -> list[Deadline]:
    """Every deadline due by `now` that has not fired, earliest first (fired together after an outage)."""
    return [deadline for deadline in pending_deadlines(state) if deadline.due_at <= now]


def is_overdue(state: ProcessState, implied: list[Deadline] | None = None) -> bool:
    """Something late has fired and is still outstanding (its anchor has not moved on)."""
    fired = set(state.fired_deadline_keys)
    return any(
        deadline.kind in OVERDUE_KINDS and deadline.key in fired
        for deadline in (all_deadlines(state) if implied is None else implied)
    )


def still_relevant_fired_keys(state: ProcessState) -> list[str]:
    """Fired keys whose deadlines the state still implies; the rest can be forgotten (keeps the state bounded)."""
    current = {deadline.key for deadline in all_deadlines(state)}
    return [key for key in state.fired_deadline_keys if key in current]


def status_of(state: ProcessState) -> ProcessStatus:
    """What the search attributes, the record's status columns and an action's answer say about the pathway."""
    # The deadlines the state implies, worked out once for both questions (a status is read several times in
    # each workflow task).
    implied = all_deadlines(state)
    pending = pending_deadlines(state, implied)
    return ProcessStatus(
        stage=state.stage,
        case_manager=state.case_manager,
        route=state.assessment.route if state.assessment else None,
        team_review_pending=state.team_review_pending,
        overdue=is_overdue(state, implied),
        next_deadline=pending[0] if pending else None,
        handover_to=state.handover.to if state.handover else None,
    )
