"""The activities of version-4 pathways (`workflows.legacy.pathway_v4`), on the current database.

Their names and inputs are those the saved version-4 histories schedule, so a version-4 pathway still
running keeps working until it moves its record (`move_v4_record`) and continues as the current workflow.
They write through the same outbox and record tables as the current activities. Version-4 pathways ran
these as local activities, inside the workflow task that decided them (the defect the current workflow
fixes); the sooner such a pathway moves, the sooner that ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.outbox import OutboxDispatcher
from core.crypto import RecordSealer
from core.db import session_scope
from models.pathway import NotificationKind
from models.process import Notice, Recipient
from models.tables import PathwayEventRow, PathwayRow, ProcessVersion, TeamReviewItem, utc_now
from records import legacy_v4
from records.outbox import team_coordinators, write_notices
from records.store import insert_ignoring_conflict, lock_pathway, review_place
from workflows.legacy.contract_v4 import (
    ESCALATE_TO_TEAM_REVIEW,
    MOVE_V4_RECORD,
    NOTIFY_CASE_MANAGER,
    NOTIFY_TEAM,
    RECORD_PATHWAY_EVENTS,
    EscalateToTeamReviewInput,
    EscalationResult,
    EventKind,
    NotificationResult,
    NotifyCaseManagerInput,
    NotifyTeamInput,
    PathwayEvent,
    RecordPathwayEventsInput,
)
from workflows.legacy.upgrade import MoveV4Record

# Raised by a local attempt that starts while the worker shuts down; the workflow then hands the effect to
# a normal activity, which another worker runs.
WORKER_SHUTTING_DOWN = "WorkerShuttingDown"


def _hand_back_if_shutting_down() -> None:
    """Refuse a new local attempt on a worker that is shutting down (a hanging SMTP server would otherwise
    keep the worker from exiting: core retries a cancelled local activity on the same worker)."""
    if activity.info().is_local and activity.is_worker_shutdown():
        raise ApplicationError("the worker is shutting down", type=WORKER_SHUTTING_DOWN, non_retryable=True)


class LegacyActivities:
    def __init__(self, engine: Engine, sealer: RecordSealer, outbox: OutboxDispatcher) -> None:
        self._engine = engine
        self._sealer = sealer
        self._outbox = outbox

    def _notify(self, pathway_id: str, team: str, notices: list[Notice]) -> int:
        with session_scope(self._engine) as session:
            written, pending = write_notices(
                session, notices, pathway_id=pathway_id, team=team, email_enabled=self._outbox.email_enabled
            )
        self._outbox.hand_over(pending)
        return written

    @activity.defn(name=NOTIFY_CASE_MANAGER)
    async def notify_case_manager(self, notification: NotifyCaseManagerInput) -> NotificationResult:
        _hand_back_if_shutting_down()
        notice = Notice(
            key=notification.idempotency_key,
            kind=NotificationKind(notification.kind.value),
            to=Recipient.STAFF,
            recipient=notification.recipient,
            due_at=notification.due_at,
        )
        written = await asyncio.to_thread(self._notify, notification.pathway_id, notification.team, [notice])
        return NotificationResult(delivered=written > 0)

    @activity.defn(name=NOTIFY_TEAM)
    async def notify_team(self, notification: NotifyTeamInput) -> NotificationResult:
        _hand_back_if_shutting_down()
        notice = Notice(
            key=notification.idempotency_key,
            kind=NotificationKind(notification.kind.value),
            to=Recipient.COORDINATORS,
            due_at=notification.due_at,
        )
        written = await asyncio.to_thread(self._notify, notification.pathway_id, notification.team, [notice])
        return NotificationResult(delivered=written > 0)

    @activity.defn(name=ESCALATE_TO_TEAM_REVIEW)
    async def escalate_to_team_review(self, escalation: EscalateToTeamReviewInput) -> EscalationResult:
        _hand_back_if_shutting_down()
        return await asyncio.to_thread(self._escalate, escalation)

    def _escalate(self, escalation: EscalateToTeamReviewInput) -> EscalationResult:
        notices = [
            Notice(
                key=escalation.idempotency_key,
                kind=NotificationKind.ESCALATED_TO_TEAM_REVIEW,
                to=Recipient.COORDINATORS,
                review_id=escalation.review_id,
            )
        ]
        if escalation.case_manager:
            notices.append(
                Notice(
                    key=f"{escalation.idempotency_key}:{escalation.case_manager}",
                    kind=NotificationKind.ESCALATED_TO_TEAM_REVIEW,
                    to=Recipient.STAFF,
                    recipient=escalation.case_manager,
                    review_id=escalation.review_id,
                )
            )
        with session_scope(self._engine) as session:
            created = insert_ignoring_conflict(
                session,
                TeamReviewItem.__table__,  # type: ignore[attr-defined]
                {
                    "review_id": escalation.review_id,
                    "pathway_id": escalation.pathway_id,
                    "team": escalation.team,
                    "cause": escalation.cause.value,
                    "reason": self._sealer.seal(escalation.reason, place=review_place(escalation.review_id)),
                    "opened_by": escalation.opened_by,
                    "opened_at": escalation.opened_at,
                },
                ["review_id"],
            )
            written, pending = write_notices(
                session,
                notices,
                pathway_id=escalation.pathway_id,
                team=escalation.team,
                email_enabled=self._outbox.email_enabled,
            )
            coordinators = len(team_coordinators(session, escalation.team))
        self._outbox.hand_over(pending)
        return EscalationResult(
            review_id=escalation.review_id, created=created, notified=min(written, coordinators + 1)
        )

    @activity.defn(name=RECORD_PATHWAY_EVENTS)
    async def record_pathway_events(self, record: RecordPathwayEventsInput) -> int:
        return await asyncio.to_thread(self._record_events, record)

    def _record_events(self, record: RecordPathwayEventsInput) -> int:
        route = record.route.value if record.route else None
        new = 0
        with session_scope(self._engine) as session:
            row = lock_pathway(session, record.pathway_id)
            if row is None:
                referral = next((e for e in record.events if e.kind is EventKind.REFERRAL_RECEIVED), None)
                row = PathwayRow(
                    pathway_id=record.pathway_id,
                    client_reference=record.pathway_id.removeprefix("pathway-"),
                    ordinal=1,
                    team=record.team,
                    stage=record.stage.value,
                    opened_at=referral.at if referral else utc_now(),
                    registered_by=referral.actor if referral else "unknown",
                    process_version=ProcessVersion.V4,
                )
                session.add(row)
                session.flush()
            for event in record.events:
                values = legacy_v4.v4_event_values(record.pathway_id, record.team, event, record.case_manager, route)
                if not insert_ignoring_conflict(session, PathwayEventRow.__table__, values, ["pathway_id", "sequence"]):  # type: ignore[attr-defined]
                    continue
                new += 1
                self._decide_review(session, record.pathway_id, event)
                if event.kind is EventKind.CLOSED:
                    row.closed_at = event.at
                    row.closure_reason = event.details.get("closure_reason") or None
            row.stage = record.stage.value
            row.case_manager = record.case_manager
            row.route = route
            session.add(row)
        return new

    @staticmethod
    def _decide_review(session: Any, pathway_id: str, event: PathwayEvent) -> None:
        if event.kind is not EventKind.TEAM_REVIEW_DECIDED:
            return
        review_id, decision = event.details.get("review_id"), event.details.get("decision")
        if review_id and decision:
            session.execute(
                update(TeamReviewItem)
                .where(
                    col(TeamReviewItem.review_id) == review_id,
                    col(TeamReviewItem.pathway_id) == pathway_id,
                    col(TeamReviewItem.decided_at).is_(None),
                )
                .values(decided_at=event.at, decided_by=event.actor, decision=decision)
            )

    @activity.defn(name=MOVE_V4_RECORD)
    async def move_v4_record(self, move: MoveV4Record) -> int:
        """Write a version-4 pathway's whole record (its state) into the database, before it continues as
        the current workflow; returns the last event filed."""
        return await asyncio.to_thread(self._move, move)

    def _move(self, move: MoveV4Record) -> int:
        with session_scope(self._engine) as session:
            row = legacy_v4.move_v4_state(session, self._sealer, move.state)
            activity.logger.info(
                "Moved the record of %s into the database (%d events)", row.pathway_id, row.recorded_sequence
            )
            return row.recorded_sequence

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.notify_case_manager,
            self.notify_team,
            self.escalate_to_team_review,
            self.record_pathway_events,
            self.move_v4_record,
        ]
