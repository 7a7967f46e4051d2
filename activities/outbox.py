"""Delivering the notification outbox: the rows `records.outbox` writes with the decisions that caused them.

`OutboxDispatcher` delivers the pending rows by e-mail and webhook: at once, in the worker that recorded
them; within `outbox_poll_seconds` for rows filed elsewhere (a staff action's, filed by the staff API with
its audit line), by polling for due rows; and later, for whatever that missed (a failure, a worker that
died), from the outbox sweep (`workflows.upkeep`). A row is sent only by whoever claims it
(`claimed_until`), so two workers never send the same row at the same time.
E-mail carries a Message-ID derived from the row's key: should a worker die between the SMTP server's 250
and marking the row delivered, the copy sent again has the same id and mail systems drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from activities.delivery import Delivery, OutgoingEmail, PermanentDeliveryError, TransientDeliveryError
from core.crypto import RecordSealer
from core.db import session_scope
from core.links import PartnerLinks
from core.settings import Settings
from models.pathway import PARTNER_ACTOR_PREFIX, Language, NotificationKind, ReferralStatus
from models.tables import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    Partner,
    PartnerReferral,
    Staff,
    Team,
    utc_now,
)
from records.filing import RecordFiler
from records.store import aware, referral_place

log = logging.getLogger("pathways.notifications")

MAX_BACKOFF = timedelta(hours=1)
POLL_BATCH = 100
_MAX_ERROR_LENGTH = 1000


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=10 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class _Claimed:
    row_id: int
    key: str
    channel: NotificationChannel
    recipient: str
    kind: str
    pathway_id: str | None
    team: str
    language: Language
    subject: str
    body: str
    due_at: datetime | None
    attempts: int
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None
    # A partner's webhook: what the client's consent lets it see (None for staff and team rows).
    partner_payload: dict[str, Any] | None = None
    # Why the row must not go out after all (the consent was withdrawn or expired before delivery).
    blocked: str | None = None

    @classmethod
    def of(cls, row: Notification, **where: Any) -> _Claimed:
        """The claimed row's own fields, with where it goes (`email`, `webhook_*`, a partner's payload)."""
        return cls(
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
            due_at=aware(row.due_at) if row.due_at else None,
            attempts=row.attempts,
            **where,
        )


class OutboxDispatcher:
    """Delivers pending outbox rows by e-mail and webhook, each row by whoever claims it first."""

    def __init__(
        self,
        engine: Engine,
        delivery: Delivery,
        claim_seconds: float = 60.0,
        *,
        links: PartnerLinks | None = None,
        sealer: RecordSealer | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self._engine = engine
        self._delivery = delivery
        self._claim = timedelta(seconds=claim_seconds)
        self.links = links
        self._sealer = sealer or RecordSealer(None)
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._poll_seconds = poll_seconds
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings, sealer: RecordSealer) -> OutboxDispatcher:
        """The worker's dispatcher: real delivery as configured, polling for rows filed by the staff API."""
        return cls(
            engine,
            Delivery.from_settings(settings),
            settings.outbox_claim_seconds,
            links=PartnerLinks.from_settings(settings),
            sealer=sealer,
            poll_seconds=settings.outbox_poll_seconds,
        )

    @property
    def email_enabled(self) -> bool:
        return self._delivery.email is not None

    def filer(self, sealer: RecordSealer) -> RecordFiler:
        """A filer of what this dispatcher delivers: e-mail rows only if it sends e-mail, with its partner links."""
        return RecordFiler(sealer, email_enabled=self.email_enabled, links=self.links)

    # -- the fast path: rows a recording in this process has just committed --------------------------------

    def hand_over(self, row_ids: Sequence[int]) -> None:
        for row_id in row_ids:
            self._queue.put_nowait(row_id)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._drain(), name="outbox-dispatcher")]
        if self._poll_seconds is not None:
            self._tasks.append(asyncio.create_task(self._poll(self._poll_seconds), name="outbox-poll"))

    async def stop(self) -> None:
        # Whatever is still queued stays pending in the database: the outbox sweep delivers it.
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _poll(self, seconds: float) -> None:
        """Rows another process filed (the staff API writes no e-mail itself): one indexed query per turn."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self._deliver_due_rows(POLL_BATCH)
            except Exception:  # the database away: the next turn, or the sweep, tries again
                log.exception("Polling the outbox failed; trying again in %.0f s", seconds)

    async def _drain(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
                await self.deliver(row_id)
            except Exception:  # a bug or the database away: the sweep retries the row later
                log.exception("Delivering outbox row %s failed; the outbox sweep will retry it", row_id)

    # -- delivering -----------------------------------------------------------------------------------------

    async def deliver_due(self, limit: int) -> tuple[int, int, int]:
        """Deliver pending rows whose next attempt is due: (delivered, failed for good, still pending)."""
        delivered, failed = await self._deliver_due_rows(limit)
        still = await asyncio.to_thread(self._count_pending)
        return delivered, failed, still

    async def _deliver_due_rows(self, limit: int) -> tuple[int, int]:
        """Up to `limit` pending rows due now, oldest first: (delivered, failed for good)."""
        delivered = failed = 0
        for row_id in await asyncio.to_thread(self._due_rows, limit):
            outcome = await self.deliver(row_id)
            delivered += outcome == DeliveryStatus.DELIVERED
            failed += outcome == DeliveryStatus.FAILED
        return delivered, failed

    async def deliver(self, row_id: int) -> DeliveryStatus | None:
        """Claim and deliver one row; None when someone else holds it or it is no longer pending."""
        claimed = await asyncio.to_thread(self._claim_row, row_id)
        if claimed is None:
            return None
        try:
            await self._send(claimed)
        except PermanentDeliveryError as err:
            await asyncio.to_thread(self._finish, claimed, DeliveryStatus.FAILED, str(err))
            log.warning(
                "Notification %s for %s via %s failed for good: %s",
                claimed.kind,
                claimed.pathway_id,
                claimed.channel.value,
                err,
            )
            return DeliveryStatus.FAILED
        except TransientDeliveryError as err:
            await asyncio.to_thread(self._finish, claimed, DeliveryStatus.PENDING, str(err))
            log.info(
                "Notification %s for %s via %s deferred: %s",
                claimed.kind,
                claimed.pathway_id,
                claimed.channel.value,
                err,
            )
            return DeliveryStatus.PENDING
        await asyncio.to_thread(self._finish, claimed, DeliveryStatus.DELIVERED, None)
        return DeliveryStatus.DELIVERED

    def _due_rows(self, limit: int) -> list[int]:
        now = utc_now()
        with session_scope(self._engine) as session:
            statement = (
                select(col(Notification.id))
                .where(
                    col(Notification.status) == DeliveryStatus.PENDING,
                    col(Notification.channel) != NotificationChannel.INBOX,
                    (col(Notification.next_attempt_at).is_(None)) | (col(Notification.next_attempt_at) <= now),
                    (col(Notification.claimed_until).is_(None)) | (col(Notification.claimed_until) < now),
                )
                .order_by(col(Notification.id))
                .limit(limit)
            )
            return [row_id for row_id in session.scalars(statement) if row_id is not None]

    def _count_pending(self) -> int:
        with session_scope(self._engine) as session:
            statement = select(func.count()).where(
                col(Notification.status) == DeliveryStatus.PENDING,
                col(Notification.channel) != NotificationChannel.INBOX,
            )
            return int(session.scalar(statement) or 0)

    def _claim_row(self, row_id: int) -> _Claimed | None:
        now = utc_now()
        with session_scope(self._engine) as session:
            result: Any = session.execute(
                update(Notification)
                .where(
                    col(Notification.id) == row_id,
                    col(Notification.status) == DeliveryStatus.PENDING,
                    (col(Notification.claimed_until).is_(None)) | (col(Notification.claimed_until) < now),
                )
                .values(claimed_until=now + self._claim)
            )
            if not result.rowcount:
                return None
            row = session.get(Notification, row_id)
            assert row is not None
            if row.recipient.startswith(PARTNER_ACTOR_PREFIX):
                return self._claimed_for_partner(session, row)
            staff = session.get(Staff, row.recipient)
            team = session.get(Team, row.team)
            return _Claimed.of(
                row,
                email=staff.email if staff is not None and staff.active else None,
                webhook_url=team.webhook_url if team else None,
                webhook_secret=team.webhook_secret if team else None,
            )

    def _claimed_for_partner(self, session: Session, row: Notification) -> _Claimed:
        partner = session.get(Partner, (row.team, row.recipient.removeprefix(PARTNER_ACTOR_PREFIX)))
        referral = session.get(PartnerReferral, row.referral_id) if row.referral_id else None
        blocked = None
        payload: dict[str, Any] = {
            "id": row.idempotency_key,
            "kind": row.kind,
            "referral_id": row.referral_id,
            "team": row.team,
            "language": row.language.value if isinstance(row.language, Language) else row.language,
            "subject": row.subject,
            "body": row.body,
        }
        if row.kind == NotificationKind.REFERRAL_TO_PARTNER.value:
            now = utc_now()
            if referral is None or referral.status is ReferralStatus.WITHDRAWN:
                blocked = "the referral was withdrawn before delivery (the client's consent): nothing was shared"
            elif referral.consent_expires_at is not None and aware(referral.consent_expires_at) <= now:
                blocked = "the client's consent expired before delivery: nothing was shared"
            else:
                payload["answer_by"] = aware(referral.answer_due).isoformat()
                payload["callback_url"] = self.links.callback_url if self.links else None
                if self.links is not None and self.links.enabled:
                    payload["link"] = self.links.link(referral.referral_id, referral.partner_id, now)[0]
                payload["referral"] = {
                    "service_kind": referral.service_kind,
                    "planned_start": aware(referral.planned_start).isoformat(),
                    "planned_end": aware(referral.planned_end).isoformat() if referral.planned_end else None,
                    "remote": referral.remote,
                    "message": self._sealer.open(referral.message, place=referral_place(referral.referral_id)),
                }
        usable = partner is not None and partner.active
        return _Claimed.of(
            row,
            email=partner.email if usable and partner else None,
            webhook_url=partner.webhook_url if usable and partner else None,
            webhook_secret=partner.webhook_secret if usable and partner else None,
            partner_payload=payload,
            blocked=blocked if usable else "the partner is no longer active in the team's register",
        )

    def _finish(self, claimed: _Claimed, status: DeliveryStatus, error: str | None) -> None:
        now = utc_now()
        attempts = claimed.attempts + 1
        with session_scope(self._engine) as session:
            session.execute(
                update(Notification)
                .where(col(Notification.id) == claimed.row_id)
                .values(
                    status=status,
                    attempts=attempts,
                    last_error=error[:_MAX_ERROR_LENGTH] if error else None,
                    delivered_at=now if status is DeliveryStatus.DELIVERED else None,
                    next_attempt_at=now + _backoff(attempts) if status is DeliveryStatus.PENDING else None,
                    claimed_until=None,
                )
            )

    async def _send(self, item: _Claimed) -> None:
        if item.blocked is not None:
            raise PermanentDeliveryError(item.blocked)
        if item.channel is NotificationChannel.EMAIL:
            if self._delivery.email is None:
                raise PermanentDeliveryError("e-mail delivery (SMTP) is disabled")
            if not item.email:
                raise PermanentDeliveryError("the recipient has no e-mail address any more, or has left")
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
            if item.partner_payload is not None:
                await self._delivery.webhook.post(
                    item.webhook_url, item.webhook_secret, item.partner_payload, delivery_id=item.key
                )
                return
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
