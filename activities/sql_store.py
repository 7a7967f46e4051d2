"""The database-backed effect store: outbox/inbox rows, team-review items, the pathway-event read model,
and delivery of notifications through the recipient's channels.

Database access is synchronous SQLAlchemy. The activities stay `async` (aiosmtplib and httpx are
asyncio libraries) and every database step runs in `asyncio.to_thread`, so a slow query or a lock wait
never blocks the worker's event loop, which also drives workflow tasks and heartbeats.

Idempotency: a notification becomes one row per channel keyed `<idempotency key>:<channel>` (unique);
a retry finds the rows and only delivers those still pending. Events are unique on (pathway, sequence);
team-review items on their review id. Inserts use ON CONFLICT DO NOTHING so concurrent attempts agree.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col
from temporalio.exceptions import ApplicationError

from activities.delivery import Delivery, OutgoingEmail, PermanentDeliveryError, TransientDeliveryError
from activities.notification_texts import render_notification
from activities.store import UNKNOWN_RECIPIENT, NotificationRecord
from activities.store import TeamReviewItem as TeamReviewRequest
from core.db import session_scope
from models.pathway import EventKind, Language, PathwayEvent, TriageRoute
from models.tables import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    PathwayEventRecord,
    Staff,
    StaffRole,
    StaffTeam,
    Team,
    TeamReviewItem,
    utc_now,
)

log = logging.getLogger("pathways.notifications")

_MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class _PendingDelivery:
    """A notification row still to be delivered, with what its channel needs (plain data, no session)."""

    row_id: int
    key: str
    channel: NotificationChannel
    recipient: str
    kind: str
    pathway_id: str
    team: str
    language: Language
    subject: str
    body: str
    due_at: datetime | None
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None


def _insert_ignoring_conflict(session: Session, row: SQLModel, conflict_columns: list[str]) -> bool:
    """Insert a row unless one with the same unique key exists; True if this call inserted it."""
    table: Table = row.__table__  # type: ignore[attr-defined]
    values = {
        column.name: getattr(row, column.name)
        for column in table.columns
        if not (column.primary_key and getattr(row, column.name) is None)
    }
    dialect = session.get_bind().dialect.name
    marker = table.c[conflict_columns[0]]
    if dialect == "postgresql":
        pg_statement = (
            postgresql.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=conflict_columns)
            .returning(marker)
        )
        # RETURNING, not rowcount: drivers do not all report a row count for ON CONFLICT DO NOTHING.
        return session.execute(pg_statement).first() is not None
    if dialect == "sqlite":
        sqlite_statement = (
            sqlite.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=conflict_columns)
            .returning(marker)
        )
        return session.execute(sqlite_statement).first() is not None
    # Other databases: let the unique constraint decide, inside a savepoint so the session survives.
    try:
        with session.begin_nested():
            session.execute(table.insert().values(values))
    except IntegrityError:
        return False
    return True


def _truncate_error(error: BaseException) -> str:
    return str(error)[:_MAX_ERROR_LENGTH]


class SqlEffectStore:
    """`EffectStore` on the SQLModel tables, delivering through `delivery`."""

    def __init__(self, engine: Engine, delivery: Delivery) -> None:
        self.engine = engine
        self._delivery = delivery

    # -- notifications --------------------------------------------------------------------------------

    async def add_notification(self, notification: NotificationRecord) -> bool:
        """Write the recipient's channel rows and deliver the pending ones.

        True when this call wrote or delivered anything; False when every channel had already been handled.
        A transient delivery failure raises after the other channels are done, so Temporal retries only
        what is still pending.
        """
        created, pending = await asyncio.to_thread(self._write_notification_rows, notification)
        delivered = 0
        transient: list[TransientDeliveryError] = []
        for item in pending:
            try:
                await self._deliver(item)
            except PermanentDeliveryError as err:
                await asyncio.to_thread(self._mark_delivery, item.row_id, DeliveryStatus.FAILED, _truncate_error(err))
                log.warning(
                    "Notification %s for %s via %s failed for good: %s", item.kind, item.pathway_id, item.channel, err
                )
            except TransientDeliveryError as err:
                await asyncio.to_thread(self._mark_delivery, item.row_id, DeliveryStatus.PENDING, _truncate_error(err))
                transient.append(err)
            else:
                await asyncio.to_thread(self._mark_delivery, item.row_id, DeliveryStatus.DELIVERED, None)
                delivered += 1
        if transient:
            # A plain (retryable) error: the activity's retry policy brings us back for the pending rows.
            raise transient[0]
        return created or delivered > 0

    def _write_notification_rows(self, notification: NotificationRecord) -> tuple[bool, list[_PendingDelivery]]:
        with session_scope(self.engine) as session:
            staff = session.get(Staff, notification.recipient)
            if staff is None:
                raise ApplicationError(
                    f"notification {notification.kind.value} on {notification.pathway_id}: recipient staff id "
                    f"{notification.recipient!r} is not in the staff table; add the staff member or fix the id",
                    type=UNKNOWN_RECIPIENT,
                    non_retryable=True,
                )
            team = session.get(Team, notification.team)
            language = Language(staff.language)
            text = render_notification(
                notification.kind,
                language,
                pathway_id=notification.pathway_id,
                team=notification.team,
                due_at=notification.due_at,
                case_manager_deactivated=notification.case_manager_deactivated,
            )
            channels = [NotificationChannel.INBOX]
            # No e-mail to someone whose account is deactivated: they may have left the organisation.
            if staff.email and staff.active and self._delivery.email is not None:
                channels.append(NotificationChannel.EMAIL)
            if team is not None and team.webhook_url:
                channels.append(NotificationChannel.WEBHOOK)
            now = utc_now()
            created = False
            keys = []
            for channel in channels:
                key = f"{notification.idempotency_key}:{channel.value}"
                keys.append(key)
                inbox = channel is NotificationChannel.INBOX
                row = Notification(
                    idempotency_key=key,
                    recipient=staff.staff_id,
                    kind=notification.kind.value,
                    pathway_id=notification.pathway_id,
                    team=notification.team,
                    language=language,
                    subject=text.subject,
                    body=text.body,
                    channel=channel,
                    # The inbox is this table: written is delivered.
                    status=DeliveryStatus.DELIVERED if inbox else DeliveryStatus.PENDING,
                    delivered_at=now if inbox else None,
                    created_at=now,
                )
                created |= _insert_ignoring_conflict(session, row, ["idempotency_key"])
            rows = session.scalars(
                select(Notification).where(
                    col(Notification.idempotency_key).in_(keys), col(Notification.status) == DeliveryStatus.PENDING
                )
            ).all()
            pending = [
                _PendingDelivery(
                    row_id=row.id or 0,
                    key=row.idempotency_key,
                    channel=NotificationChannel(row.channel),
                    recipient=row.recipient,
                    kind=row.kind,
                    pathway_id=row.pathway_id,
                    team=row.team,
                    language=Language(row.language),
                    subject=row.subject,
                    body=row.body,
                    due_at=notification.due_at,
                    email=staff.email,
                    webhook_url=team.webhook_url if team else None,
                    webhook_secret=team.webhook_secret if team else None,
                )
                for row in rows
            ]
            return created, pending

    async def _deliver(self, item: _PendingDelivery) -> None:
        if item.channel is NotificationChannel.EMAIL:
            if self._delivery.email is None:
                # SMTP was switched off after the row was written: a retry will not change that.
                raise PermanentDeliveryError("e-mail delivery (SMTP) is disabled")
            if not item.email:
                raise PermanentDeliveryError("the recipient has no e-mail address any more")
            await self._delivery.email.send(
                OutgoingEmail(
                    to=item.email,
                    subject=item.subject,
                    body=item.body,
                    language=item.language.value,
                    delivery_id=item.key,
                )
            )
        elif item.channel is NotificationChannel.WEBHOOK:
            if not item.webhook_url:
                raise PermanentDeliveryError("the team has no webhook URL any more")
            if not item.webhook_secret:
                raise PermanentDeliveryError("the team has a webhook URL but no webhook secret to sign with")
            payload: dict[str, Any] = {
                "id": item.key,
                "kind": item.kind,
                "pathway_id": item.pathway_id,
                "team": item.team,
                "recipient": item.recipient,
                "language": item.language.value,
                "subject": item.subject,
                "body": item.body,
                "due_at": item.due_at.isoformat() if item.due_at else None,
            }
            await self._delivery.webhook.post(item.webhook_url, item.webhook_secret, payload, delivery_id=item.key)

    def _mark_delivery(self, row_id: int, status: DeliveryStatus, error: str | None) -> None:
        with session_scope(self.engine) as session:
            row = session.get(Notification, row_id)
            if row is None:
                return
            row.attempts += 1
            row.status = status
            row.last_error = error
            if status is DeliveryStatus.DELIVERED:
                row.delivered_at = utc_now()
            session.add(row)

    # -- team review ----------------------------------------------------------------------------------

    async def open_team_review(self, item: TeamReviewRequest) -> bool:
        return await asyncio.to_thread(self._open_team_review, item)

    def _open_team_review(self, item: TeamReviewRequest) -> bool:
        with session_scope(self.engine) as session:
            row = TeamReviewItem(
                review_id=item.review_id,
                pathway_id=item.pathway_id,
                team=item.team,
                cause=item.cause.value,
                reason=item.reason,
                opened_by=item.opened_by,
                opened_at=item.opened_at,
            )
            return _insert_ignoring_conflict(session, row, ["review_id"])

    async def team_coordinators(self, team: str) -> list[str]:
        return await asyncio.to_thread(self._team_coordinators, team)

    def _team_coordinators(self, team: str) -> list[str]:
        with session_scope(self.engine) as session:
            statement = (
                select(col(Staff.staff_id))
                .join(StaffTeam, col(StaffTeam.staff_id) == col(Staff.staff_id))
                .where(
                    col(StaffTeam.team_id) == team,
                    col(Staff.role) == StaffRole.COORDINATOR,
                    col(Staff.active).is_(True),
                )
                .order_by(Staff.staff_id)
            )
            return list(session.scalars(statement).all())

    async def is_deactivated(self, staff_id: str) -> bool:
        return await asyncio.to_thread(self._is_deactivated, staff_id)

    def _is_deactivated(self, staff_id: str) -> bool:
        with session_scope(self.engine) as session:
            staff = session.get(Staff, staff_id)
            return staff is not None and not staff.active

    # -- read model -----------------------------------------------------------------------------------

    async def record_events(
        self,
        pathway_id: str,
        team: str,
        events: list[PathwayEvent],
        *,
        case_manager: str | None = None,
        route: TriageRoute | None = None,
    ) -> int:
        return await asyncio.to_thread(self._record_events, pathway_id, team, events, case_manager, route)

    def _record_events(
        self,
        pathway_id: str,
        team: str,
        events: list[PathwayEvent],
        case_manager: str | None,
        route: TriageRoute | None,
    ) -> int:
        new = 0
        with session_scope(self.engine) as session:
            for event in events:
                row = PathwayEventRecord(
                    pathway_id=pathway_id,
                    sequence=event.sequence,
                    team=team,
                    at=event.at,
                    actor=event.actor,
                    kind=event.kind.value,
                    summary=event.summary,
                    # Each event carries the stage after it; case manager and route are the batch's end state.
                    stage=event.stage.value,
                    details=dict(event.details),
                    case_manager=case_manager,
                    route=route.value if route else None,
                )
                if not _insert_ignoring_conflict(session, row, ["pathway_id", "sequence"]):
                    continue
                new += 1
                if event.kind is EventKind.TEAM_REVIEW_DECIDED:
                    self._decide_team_review(session, pathway_id, event)
        return new

    @staticmethod
    def _decide_team_review(session: Session, pathway_id: str, event: PathwayEvent) -> None:
        review_id = event.details.get("review_id")
        decision = event.details.get("decision")
        if not review_id or not decision:
            log.warning("team_review_decided event %d of %s lacks review_id or decision", event.sequence, pathway_id)
            return
        result = session.execute(
            update(TeamReviewItem)
            .where(
                col(TeamReviewItem.review_id) == review_id,
                col(TeamReviewItem.pathway_id) == pathway_id,
                col(TeamReviewItem.decided_at).is_(None),
            )
            .values(decided_at=event.at, decided_by=event.actor, decision=decision)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            log.warning("no open team-review item %s on %s to record its decision", review_id, pathway_id)
