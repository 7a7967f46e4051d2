"""What is due next on a pathway: the one place that derives deadlines from the process state.

Pure functions of the state, so the workflow never keeps a pile of independent sleeps: after every
change it asks for the earliest deadline that has not fired yet and waits for it (or for the next
change). A deadline's key names its anchor (e.g. the follow-up due date), so a re-planned deadline is
a new one, and a fired one never fires twice.
"""

from __future__ import annotations

from datetime import datetime

from models.pathway import DeadlineKind, ServiceStatus, Stage
from models.process import Deadline, ProcessState, ProcessStatus

# Deadlines that mean something is late (the rest are reminders).
OVERDUE_KINDS = frozenset(
    {
        DeadlineKind.TRIAGE_DUE,
        DeadlineKind.ASSESSMENT_DUE,
        DeadlineKind.FOLLOW_UP_OVERDUE,
        DeadlineKind.SERVICE_GAP_ESCALATION,
        DeadlineKind.SUSTAINMENT_UNCONFIRMED,
    }
)


def _deadline(kind: DeadlineKind, due_at: datetime, anchor: datetime) -> Deadline:
    return Deadline(kind=kind, due_at=due_at, key=f"{kind.value}@{anchor.isoformat()}")


def service_gap_started_at(state: ProcessState) -> datetime | None:
    """When the client was left without any active service after one ended, if they are now."""
    if any(service.status is ServiceStatus.ACTIVE for service in state.services):
        return None
    return state.last_service_ended_at


def all_deadlines(state: ProcessState) -> list[Deadline]:
    """Every deadline the current state implies, fired or not."""
    policy = state.policy
    deadlines: list[Deadline] = []
    if state.stage is Stage.CLOSED:
        return deadlines

    if state.stage is Stage.AWAITING_TRIAGE:
        deadlines.append(
            _deadline(DeadlineKind.TRIAGE_DUE, state.referred_at + policy.triage_due_after, state.referred_at)
        )

    if state.stage is Stage.ASSESSMENT and state.assessment is not None:
        started = state.assessment.started_at
        deadlines.append(_deadline(DeadlineKind.ASSESSMENT_DUE, started + policy.assessment_due_after, started))

    if state.stage in (Stage.IN_SERVICES, Stage.SUSTAINMENT) and state.next_follow_up_due is not None:
        due = state.next_follow_up_due
        if policy.follow_up_reminder_before:
            deadlines.append(_deadline(DeadlineKind.FOLLOW_UP_REMINDER, due - policy.follow_up_reminder_before, due))
        deadlines.append(_deadline(DeadlineKind.FOLLOW_UP_OVERDUE, due + policy.follow_up_grace, due))

    if state.stage is Stage.IN_SERVICES:
        gap_started = service_gap_started_at(state)
        if gap_started is not None:
            notice_at = gap_started + policy.service_gap_allowed
            deadlines.append(_deadline(DeadlineKind.SERVICE_GAP_NOTICE, notice_at, gap_started))
            deadlines.append(
                _deadline(
                    DeadlineKind.SERVICE_GAP_ESCALATION,
                    notice_at + policy.service_gap_escalate_after,
                    gap_started,
                )
            )

    if state.stage is Stage.SUSTAINMENT and state.outcome is not None:
        until = state.outcome.sustainment_until
        deadlines.append(_deadline(DeadlineKind.SUSTAINMENT_CHECK, until, until))
        deadlines.append(
            _deadline(DeadlineKind.SUSTAINMENT_UNCONFIRMED, until + policy.sustainment_confirm_grace, until)
        )
    return deadlines


def pending_deadlines(state: ProcessState) -> list[Deadline]:
    fired = set(state.fired_deadline_keys)
    return sorted(
        (deadline for deadline in all_deadlines(state) if deadline.key not in fired),
        key=lambda deadline: deadline.due_at,
    )


def next_deadline(state: ProcessState) -> Deadline | None:
    """The earliest deadline that has not fired yet."""
    pending = pending_deadlines(state)
    return pending[0] if pending else None


def is_overdue(state: ProcessState) -> bool:
    """Something late has fired and is still outstanding (its anchor has not moved on)."""
    fired = set(state.fired_deadline_keys)
    return any(deadline.kind in OVERDUE_KINDS and deadline.key in fired for deadline in all_deadlines(state))


def still_relevant_fired_keys(state: ProcessState) -> list[str]:
    """Fired keys whose deadlines the state still implies; the rest can be forgotten (keeps the state bounded)."""
    current = {deadline.key for deadline in all_deadlines(state)}
    return [key for key in state.fired_deadline_keys if key in current]


def status_of(state: ProcessState) -> ProcessStatus:
    """What the search attributes, the record's status columns and an action's answer say about the pathway."""
    return ProcessStatus(
        stage=state.stage,
        case_manager=state.case_manager,
        route=state.assessment.route if state.assessment else None,
        team_review_pending=state.team_review_pending,
        overdue=is_overdue(state),
        next_deadline=next_deadline(state),
    )
