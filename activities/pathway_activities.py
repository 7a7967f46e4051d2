"""The pathway's side effects: notifications, escalations and the read model.

Activities get their dependencies through `__init__` so the worker decides where effects land.
Each is idempotent: the key derived from the pathway and its event makes a retry a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.store import UNKNOWN_RECIPIENT, EffectStore, NotificationRecord, TeamReviewItem
from models.effects import (
    EscalateToTeamReviewInput,
    EscalationResult,
    NotificationResult,
    NotifyCaseManagerInput,
    NotifyTeamInput,
    RecordPathwayEventsInput,
)
from models.pathway import NotificationKind

# Raised by a local attempt that starts while the worker shuts down; the workflow then hands the effect to
# a normal activity, which another worker runs.
WORKER_SHUTTING_DOWN = "WorkerShuttingDown"


def _hand_back_if_shutting_down() -> None:
    """Refuse a new local attempt on a worker that is shutting down.

    Temporal's core cancels the local activities still running when the graceful time is over, then retries
    them on the same worker, and the retry is never cancelled: one hanging SMTP server would keep the
    worker from exiting. Failing the attempt at once ends the local retries.
    """
    if activity.info().is_local and activity.is_worker_shutdown():
        raise ApplicationError("the worker is shutting down", type=WORKER_SHUTTING_DOWN, non_retryable=True)


class PathwayActivities:
    def __init__(self, store: EffectStore) -> None:
        self._store = store

    @activity.defn
    async def notify_case_manager(self, notification: NotifyCaseManagerInput) -> NotificationResult:
        _hand_back_if_shutting_down()
        if await self._store.is_deactivated(notification.recipient):
            if notification.kind is NotificationKind.HANDOVER_FROM:
                # The pathway has just been handed over from the member who left: nobody needs telling.
                return NotificationResult(delivered=False)
            return await self._hand_to_coordinators(notification)
        delivered = await self._store.add_notification(
            NotificationRecord(
                idempotency_key=notification.idempotency_key,
                pathway_id=notification.pathway_id,
                team=notification.team,
                recipient=notification.recipient,
                kind=notification.kind,
                due_at=notification.due_at,
            )
        )
        # Pathway id and kind only: no client data in logs.
        activity.logger.info(
            "Case manager notification %s for %s: %s",
            notification.kind.value,
            notification.pathway_id,
            "delivered" if delivered else "already delivered",
        )
        return NotificationResult(delivered=delivered)

    async def _hand_to_coordinators(self, notification: NotifyCaseManagerInput) -> NotificationResult:
        """A reminder for a case manager who has left goes to the team's coordinators, who name a new one.

        Otherwise a deactivated member's inbox would collect the pathway's reminders unread, and the pathway
        would stall until a deadline escalated it.
        """
        delivered, coordinators = await self._notify_coordinators(
            key_prefix=f"{notification.idempotency_key}:handover",
            pathway_id=notification.pathway_id,
            team=notification.team,
            kind=notification.kind,
            due_at=notification.due_at,
            case_manager_deactivated=True,
        )
        activity.logger.warning(
            "Case manager of %s is deactivated: notification %s handed to %d coordinator(s) of %s",
            notification.pathway_id,
            notification.kind.value,
            coordinators,
            notification.team,
        )
        return NotificationResult(delivered=delivered)

    async def _notify_coordinators(
        self,
        *,
        key_prefix: str,
        pathway_id: str,
        team: str,
        kind: NotificationKind,
        due_at: datetime | None,
        case_manager_deactivated: bool = False,
    ) -> tuple[bool, int]:
        """One notification to each active coordinator of the team, keyed `<key_prefix>:<coordinator>`:
        whether any was new, and how many coordinators there are."""
        coordinators = await self._store.team_coordinators(team)
        delivered = False
        for coordinator in coordinators:
            delivered |= await self._store.add_notification(
                NotificationRecord(
                    idempotency_key=f"{key_prefix}:{coordinator}",
                    pathway_id=pathway_id,
                    team=team,
                    recipient=coordinator,
                    kind=kind,
                    due_at=due_at,
                    case_manager_deactivated=case_manager_deactivated,
                )
            )
        return delivered, len(coordinators)

    @activity.defn
    async def notify_team(self, notification: NotifyTeamInput) -> NotificationResult:
        _hand_back_if_shutting_down()
        delivered, _ = await self._notify_coordinators(
            key_prefix=notification.idempotency_key,
            pathway_id=notification.pathway_id,
            team=notification.team,
            kind=notification.kind,
            due_at=notification.due_at,
        )
        return NotificationResult(delivered=delivered)

    @activity.defn
    async def escalate_to_team_review(self, escalation: EscalateToTeamReviewInput) -> EscalationResult:
        _hand_back_if_shutting_down()
        created = await self._store.open_team_review(
            TeamReviewItem(
                review_id=escalation.review_id,
                pathway_id=escalation.pathway_id,
                team=escalation.team,
                cause=escalation.cause,
                reason=escalation.reason,
                opened_by=escalation.opened_by,
                opened_at=escalation.opened_at,
            )
        )
        recipients = set(await self._store.team_coordinators(escalation.team))
        # A case manager who has left is not told; the coordinators are, whatever the cause.
        if escalation.case_manager and not await self._store.is_deactivated(escalation.case_manager):
            recipients.add(escalation.case_manager)
        notified = 0
        unknown: list[ApplicationError] = []
        for recipient in sorted(recipients):
            try:
                notified += await self._store.add_notification(
                    NotificationRecord(
                        idempotency_key=f"{escalation.idempotency_key}:{recipient}",
                        pathway_id=escalation.pathway_id,
                        team=escalation.team,
                        recipient=recipient,
                        kind=NotificationKind.ESCALATED_TO_TEAM_REVIEW,
                    )
                )
            except ApplicationError as err:
                # One unknown recipient must not keep the others from hearing of the escalation.
                if err.type != UNKNOWN_RECIPIENT:
                    raise
                unknown.append(err)
        if unknown:
            raise unknown[0]
        activity.logger.info(
            "Escalated %s to team review (%s): %d notified",
            escalation.pathway_id,
            escalation.cause.value,
            notified,
        )
        return EscalationResult(review_id=escalation.review_id, created=created, notified=notified)

    @activity.defn
    async def record_pathway_events(self, record: RecordPathwayEventsInput) -> int:
        return await self._store.record_events(
            record.pathway_id, record.team, record.events, case_manager=record.case_manager, route=record.route
        )

    def all(self) -> list[Callable[..., Any]]:
        """Every activity of this class, for the worker's registration."""
        return [
            self.notify_case_manager,
            self.notify_team,
            self.escalate_to_team_review,
            self.record_pathway_events,
        ]
