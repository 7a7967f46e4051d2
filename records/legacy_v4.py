"""Records of version-4 pathways, whose state was their record: written to the database when they move.

A version-4 pathway's timeline rows are already in `pathway_event` (schema version 4, string details, no
free text). Its state holds the rest: notes, goal texts, results, reasons. `move_v4_state` files all of it
in one transaction: the missing timeline rows, each follow-up's note and each feedback's comment on their
rows (matched in order: the old workflow appended both together), and the record document folded from
the state by `record_from_v4`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from core.crypto import RecordSealer
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContactChannel,
    InvestigationStatus,
    Language,
    LongTermSolution,
    ReferralSource,
    ReferringOrganisation,
    ServiceKind,
    ServiceStatus,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageRoute,
)
from models.record import (
    RECENT_ITEMS,
    AssessmentRecord,
    CaseManagerPeriod,
    ClosureRecord,
    FeedbackRecord,
    FollowUpRecord,
    GoalRecord,
    InvestigationRecord,
    OutcomeRecord,
    PathwayRecord,
    PlanRecord,
    Referral,
    ServiceRecord,
    TeamReviewRecord,
)
from models.tables import PathwayEventRow, PathwayRow, ProcessVersion, TeamReviewItem, utc_now
from records.store import event_place, insert_ignoring_conflict, lock_pathway, record_place, review_place
from workflows.legacy import contract_v4 as v4
from workflows.legacy.upgrade import ordered_by_v4, status_of

UNKNOWN_ACTOR = "unknown"


def _actor_of(state: v4.PathwayState, kind: v4.EventKind, short_id: str | None = None) -> str:
    """The actor of the latest event of `kind` (whose summary names `short_id`, if given)."""
    for event in reversed(state.events):
        if event.kind is kind and (short_id is None or short_id in event.summary):
            return event.actor
    return UNKNOWN_ACTOR


def _sequences_of(state: v4.PathwayState, kind: v4.EventKind) -> list[int]:
    return [event.sequence for event in state.events if event.kind is kind]


def record_from_v4(state: v4.PathwayState) -> PathwayRecord:
    """The record document of a version-4 state (which held everything the record needs)."""
    intake = state.intake
    follow_up_sequences = _sequences_of(state, v4.EventKind.FOLLOW_UP_RECORDED)
    feedback_sequences = _sequences_of(state, v4.EventKind.FEEDBACK_RECORDED)
    follow_ups = [
        FollowUpRecord(
            sequence=follow_up_sequences[index] if index < len(follow_up_sequences) else 0,
            contacted_at=item.contacted_at,
            channel=ContactChannel(item.channel.value),
            note=item.note,
            recorded_by=item.recorded_by,
        )
        for index, item in enumerate(state.follow_ups)
    ]
    feedback = [
        FeedbackRecord(
            sequence=feedback_sequences[index] if index < len(feedback_sequences) else 0,
            rating=item.rating,
            comment=item.comment,
            recorded_at=item.recorded_at,
            recorded_by=item.recorded_by,
        )
        for index, item in enumerate(state.feedback)
    ]
    assessment = state.assessment
    periods = [
        CaseManagerPeriod(
            staff_id=period.staff_id,
            assumed_at=period.assumed_at,
            renounced_at=period.renounced_at,
            reason=period.reason,
            assigned_by=UNKNOWN_ACTOR,
        )
        for period in state.case_manager_history
    ]

    def outcome_of(outcome: v4.Outcome) -> OutcomeRecord:
        return OutcomeRecord(
            solution=LongTermSolution(outcome.solution.value),
            description=outcome.description,
            recorded_at=outcome.recorded_at,
            recorded_by=_actor_of(state, v4.EventKind.OUTCOME_RECORDED),
            sustainment_until=outcome.sustainment_until,
            confirmed_at=outcome.confirmed_at,
            held=outcome.held,
        )

    last_event = state.events[-1] if state.events else None
    return PathwayRecord(
        pathway_id=state.pathway_id,
        client_reference=intake.client_reference,
        team=intake.team,
        demo=intake.demo,
        referral=Referral(
            referral_source=ReferralSource(intake.referral_source.value),
            referring_organisation=ReferringOrganisation(intake.referring_organisation.value)
            if intake.referring_organisation
            else None,
            client_language=Language(intake.client_language.value),
            remote_services_needed=intake.remote_services_needed,
            referred_at=state.referred_at,
            registered_by=intake.registered_by,
            reason=intake.reason,
        ),
        stage=Stage(state.stage.value),
        case_manager=state.case_manager,
        case_manager_history=periods,
        assessments=[
            AssessmentRecord(
                route=TriageRoute(assessment.route.value),
                level=AssessmentLevel(assessment.level.value) if assessment.level else None,
                started_at=assessment.started_at,
                completed_at=assessment.completed_at,
                completed_by=_actor_of(state, v4.EventKind.ASSESSMENT_COMPLETED) if assessment.completed_at else None,
                summary=assessment.summary,
                recommendation=assessment.recommendation,
            )
        ]
        if assessment
        else [],
        goals=[
            GoalRecord(
                goal_id=goal.goal_id,
                text=goal.text,
                target_date=goal.target_date,
                achieved=goal.achieved,
                set_at=goal.set_at,
                set_by=_actor_of(state, v4.EventKind.GOAL_SET, goal.goal_id[:8]),
                updated_at=goal.updated_at,
            )
            for goal in state.goals
        ],
        investigations=[
            InvestigationRecord(
                investigation_id=item.investigation_id,
                description=item.description,
                provider=item.provider,
                due_at=item.due_at,
                status=InvestigationStatus(item.status.value),
                ordered_at=item.ordered_at,
                ordered_by=ordered_by_v4(state, item.investigation_id),
                completed_at=item.completed_at,
                completed_by=_actor_of(state, v4.EventKind.INVESTIGATION_COMPLETED, item.investigation_id[:8])
                if item.completed_at
                else None,
                result_summary=item.result_summary,
            )
            for item in state.investigations
        ],
        plan=PlanRecord(
            version=state.plan.version,
            set_at=state.plan.set_at,
            set_by=_actor_of(state, v4.EventKind.PLAN_REVISED if state.plan.version > 1 else v4.EventKind.PLAN_SET),
            follow_up_interval=state.plan.follow_up_interval,
            note=state.plan.note,
        )
        if state.plan
        else None,
        services=[
            ServiceRecord(
                service_id=service.service_id,
                kind=ServiceKind(service.kind.value),
                provider=service.provider,
                planned_start=service.planned_start,
                planned_end=service.planned_end,
                remote=service.remote,
                status=ServiceStatus(service.status.value),
                started_at=service.started_at,
                ended_at=service.ended_at,
                planned_in_version=0,
            )
            for service in state.services
        ],
        follow_ups=follow_ups[-RECENT_ITEMS:],
        follow_up_count=len(follow_ups),
        next_follow_up_due=state.next_follow_up_due,
        last_contact_at=max((item.contacted_at for item in state.follow_ups), default=None),
        reminders_sent=len(_sequences_of(state, v4.EventKind.FOLLOW_UP_REMINDER_SENT)),
        service_gaps_noticed=len(_sequences_of(state, v4.EventKind.SERVICE_GAP_NOTICED)),
        team_reviews=[
            TeamReviewRecord(
                review_id=review.review_id,
                cause=TeamReviewCause(review.cause.value),
                reason=review.reason,
                opened_by=review.opened_by,
                opened_at=review.opened_at,
                decided_at=review.decided_at,
                decided_by=review.decided_by,
                decision=TeamReviewDecision(review.decision.value) if review.decision else None,
                decision_note=review.decision_note,
            )
            for review in state.team_reviews
        ],
        outcome=outcome_of(state.outcome) if state.outcome else None,
        past_outcomes=[outcome_of(outcome) for outcome in state.past_outcomes],
        feedback=feedback[-RECENT_ITEMS:],
        feedback_count=len(feedback),
        closure=ClosureRecord(
            reason=ClosureReason(state.closure.reason.value),
            note=state.closure.note,
            closed_at=state.closure.closed_at,
            closed_by=state.closure.closed_by,
        )
        if state.closure
        else None,
        opened_at=state.referred_at,
        updated_at=last_event.at if last_event else state.referred_at,
        recorded_sequence=state.last_event_sequence,
    )


def v4_event_values(
    pathway_id: str, team: str, event: v4.PathwayEvent, case_manager: str | None, route: str | None
) -> dict[str, object]:
    return {
        "pathway_id": pathway_id,
        "sequence": event.sequence,
        "team": team,
        "at": event.at,
        "actor": event.actor,
        "kind": event.kind.value,
        "summary": event.summary[:500],
        "stage": event.stage.value,
        "details": dict(event.details),
        "texts": None,
        "schema_version": 4,
        "case_manager": case_manager,
        "route": route,
    }


def move_v4_state(session: Session, sealer: RecordSealer, state: v4.PathwayState) -> PathwayRow:
    """File a version-4 pathway's whole record; afterwards it continues as the current workflow."""
    pathway_id = state.pathway_id
    team = state.intake.team
    route = state.assessment.route.value if state.assessment else None
    row = lock_pathway(session, pathway_id)
    if row is None:
        row = PathwayRow(
            pathway_id=pathway_id,
            client_reference=state.intake.client_reference,
            ordinal=1,
            team=team,
            demo=state.intake.demo,
            stage=state.stage.value,
            opened_at=state.referred_at,
            registered_by=state.intake.registered_by,
            process_version=ProcessVersion.V4,
        )
        session.add(row)
        session.flush()
    for event in state.events:
        insert_ignoring_conflict(
            session,
            PathwayEventRow.__table__,  # type: ignore[attr-defined]
            v4_event_values(pathway_id, team, event, state.case_manager, route),
            ["pathway_id", "sequence"],
        )
    rows = {
        event_row.sequence: event_row
        for event_row in session.scalars(select(PathwayEventRow).where(col(PathwayEventRow.pathway_id) == pathway_id))
    }
    for sequence, item in zip(_sequences_of(state, v4.EventKind.FOLLOW_UP_RECORDED), state.follow_ups, strict=False):
        event_row = rows.get(sequence)
        if event_row is not None and event_row.schema_version < 5:
            event_row.texts = sealer.seal({"note": item.note}, place=event_place(pathway_id, sequence))
            event_row.details = {**event_row.details, "contacted_at": item.contacted_at.isoformat()}
            session.add(event_row)
    for sequence, feedback in zip(_sequences_of(state, v4.EventKind.FEEDBACK_RECORDED), state.feedback, strict=False):
        event_row = rows.get(sequence)
        if event_row is not None and event_row.schema_version < 5 and feedback.comment:
            event_row.texts = sealer.seal({"comment": feedback.comment}, place=event_place(pathway_id, sequence))
            session.add(event_row)
    for review in state.team_reviews:
        insert_ignoring_conflict(
            session,
            TeamReviewItem.__table__,  # type: ignore[attr-defined]
            {
                "review_id": review.review_id,
                "pathway_id": pathway_id,
                "team": team,
                "cause": review.cause.value,
                "reason": sealer.seal(review.reason, place=review_place(review.review_id)),
                "opened_by": review.opened_by,
                "opened_at": review.opened_at,
                "decided_at": review.decided_at,
                "decided_by": review.decided_by,
                "decision": review.decision.value if review.decision else None,
            },
            ["review_id"],
        )
        review_row = session.get(TeamReviewItem, review.review_id)
        if review_row is not None:
            # A version-4 escalation stored its reason in the clear: seal it now.
            review_row.reason = sealer.seal(review.reason, place=review_place(review.review_id))
            session.add(review_row)
    record = record_from_v4(state)
    row.record = sealer.seal(record.model_dump(mode="json"), place=record_place(pathway_id))
    row.recorded_sequence = record.recorded_sequence
    row.stage = record.stage.value
    row.case_manager = record.case_manager
    row.route = route
    if record.closure is not None:
        row.closed_at = record.closure.closed_at
        row.closure_reason = record.closure.reason.value
    else:
        from workflows.legacy.upgrade import process_from_v4

        status = status_of(process_from_v4(state, now=utc_now()))
        row.team_review_pending = status.team_review_pending
        row.overdue = status.overdue
        row.next_deadline_at = status.next_deadline.due_at if status.next_deadline else None
        row.next_deadline_kind = status.next_deadline.kind.value if status.next_deadline else None
    row.process_version = ProcessVersion.CURRENT
    row.updated_at = utc_now()
    session.add(row)
    return row
