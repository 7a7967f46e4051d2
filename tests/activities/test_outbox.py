"""The notification outbox with real delivery: a real SMTP server, a real HTTP receiver, the record
activity run through `ActivityEnvironment`, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment

from activities.delivery import Delivery
from activities.outbox import OutboxDispatcher
from activities.records import RecordActivities, RecordRetention
from core.crypto import RecordSealer
from core.settings import Settings
from models.effects import DeliverPendingNotifications, RecordBatch
from models.events import ReferralReceived
from models.pathway import Language, NotificationKind, ReferralSource, Stage
from models.process import Notice, Recipient
from models.tables import DeliveryStatus, Notification, NotificationChannel, StaffRole
from tests.support.fixtures import SmtpInbox, SmtpServer, WebhookReceiver, add_plain_team, add_staff

TEAM = "eura-team"
NURSE, NURSE_EMAIL = "nurse.virtanen", "nurse.virtanen@example.org"
COORDINATOR, COORDINATOR_EMAIL = "coordinator.aalto", "coordinator.aalto@example.org"
SECRET = "team-webhook-secret"
RETENTION = RecordRetention(closed_records=timedelta(days=4383), demo_records=timedelta(days=4383))


def _dispatcher(engine: Engine, settings: Settings) -> OutboxDispatcher:
    # The test's webhook receiver listens on this machine.
    return OutboxDispatcher(engine, Delivery.from_settings(settings.model_copy(update={"webhook_loopback": True})))


def _activities(engine: Engine, outbox: OutboxDispatcher) -> RecordActivities:
    return RecordActivities(engine, RecordSealer(None), outbox, RETENTION)


def _referral(pathway_id: str) -> ReferralReceived:
    now = datetime.now(UTC)
    return ReferralReceived(
        sequence=1,
        at=now,
        actor=COORDINATOR,
        stage=Stage.AWAITING_TRIAGE,
        client_reference=pathway_id.removeprefix("pathway-"),
        team=TEAM,
        referral_source=ReferralSource.SELF_REFERRAL,
        client_language=Language.FI,
        remote_services_needed=False,
        referred_at=now,
        registered_by=COORDINATOR,
        reason="reason",
    )


def _batch(pathway_id: str, *notices: Notice) -> RecordBatch:
    return RecordBatch(pathway_id=pathway_id, team=TEAM, events=[_referral(pathway_id)], notices=list(notices))


def _to_nurse(
    pathway_id: str, kind: NotificationKind = NotificationKind.ASSIGNED_CASE_MANAGER, due: datetime | None = None
) -> Notice:
    return Notice(
        key=f"{pathway_id}:update:u1:{kind.value}:{NURSE}", kind=kind, to=Recipient.STAFF, recipient=NURSE, due_at=due
    )


def _pathway_id() -> str:
    return f"pathway-client-{uuid.uuid4().hex[:12]}"


def _rows(engine: Engine, pathway_id: str) -> dict[tuple[str, NotificationChannel], Notification]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.pathway_id == pathway_id)).all()
    by_key: dict[tuple[str, NotificationChannel], Notification] = {}
    for row in rows:
        key = (row.recipient, NotificationChannel(row.channel))
        assert key not in by_key, f"two {key} rows for one notice"
        by_key[key] = row
    return by_key


async def _record(engine: Engine, outbox: OutboxDispatcher, batch: RecordBatch) -> None:
    await ActivityEnvironment().run(_activities(engine, outbox).record_pathway_changes, batch)


async def _drain(outbox: OutboxDispatcher) -> None:
    """What the worker's dispatcher does with what a recording handed it."""
    while not outbox._queue.empty():
        await outbox.deliver(outbox._queue.get_nowait())


async def test_a_notice_recorded_twice_writes_one_row_per_channel_and_mails_once(
    engine: Engine, smtp_inbox: SmtpInbox, webhook_receiver: WebhookReceiver
) -> None:
    add_plain_team(engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(engine, NURSE, [TEAM], email=NURSE_EMAIL, language=Language.SV)
    outbox = _dispatcher(engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    batch = _batch(pathway_id, _to_nurse(pathway_id))
    await _record(engine, outbox, batch)
    await _record(engine, outbox, batch)  # a retry of the same batch
    await _drain(outbox)
    rows = _rows(engine, pathway_id)
    assert set(rows) == {(NURSE, channel) for channel in NotificationChannel}
    assert all(row.status == DeliveryStatus.DELIVERED for row in rows.values())
    [message] = smtp_inbox.to(NURSE_EMAIL)
    assert message["Content-Language"] == "sv" and pathway_id in message["Subject"]
    assert "Du har utsetts till klientansvarig" in message.get_content()
    assert len(webhook_receiver.requests) == 1


async def test_the_webhook_is_signed_with_the_teams_secret_over_timestamp_and_body(
    engine: Engine, webhook_receiver: WebhookReceiver
) -> None:
    add_plain_team(engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(engine, NURSE, [TEAM], language=Language.EN)
    outbox = _dispatcher(engine, Settings())
    pathway_id = _pathway_id()
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    await _record(engine, outbox, _batch(pathway_id, _to_nurse(pathway_id, NotificationKind.FOLLOW_UP_DUE_SOON, due)))
    await _drain(outbox)
    [request] = webhook_receiver.requests
    timestamp = request.headers["x-pathways-timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-pathways-signature"], f"sha256={expected}")
    payload = json.loads(request.body)
    assert (payload["kind"], payload["pathway_id"], payload["recipient"]) == ("follow_up_due_soon", pathway_id, NURSE)
    assert payload["due_at"] == due.isoformat()
    assert request.headers["x-pathways-delivery"] == payload["id"]


async def test_a_refused_address_is_marked_failed_and_a_webhook_4xx_too_and_neither_is_retried(
    engine: Engine, smtp_inbox: SmtpInbox, webhook_receiver: WebhookReceiver
) -> None:
    smtp_inbox.refused.add(NURSE_EMAIL)
    webhook_receiver.responses = [410]
    add_plain_team(engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(engine, NURSE, [TEAM], email=NURSE_EMAIL)
    outbox = _dispatcher(engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    await _record(engine, outbox, _batch(pathway_id, _to_nurse(pathway_id)))
    await _drain(outbox)
    rows = _rows(engine, pathway_id)
    assert rows[(NURSE, NotificationChannel.INBOX)].status == DeliveryStatus.DELIVERED
    email, webhook = rows[(NURSE, NotificationChannel.EMAIL)], rows[(NURSE, NotificationChannel.WEBHOOK)]
    assert email.status == DeliveryStatus.FAILED and email.last_error and "550" in email.last_error
    assert webhook.status == DeliveryStatus.FAILED and webhook.last_error and "410" in webhook.last_error
    round_ = await ActivityEnvironment().run(
        _activities(engine, outbox).deliver_pending_notifications, DeliverPendingNotifications()
    )
    assert (round_.delivered, round_.still_pending) == (0, 0)
    assert smtp_inbox.messages == [] and len(webhook_receiver.requests) == 1


async def test_an_smtp_outage_leaves_the_mail_pending_and_the_outbox_sweep_delivers_it_once(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    add_plain_team(engine, TEAM)
    add_staff(engine, NURSE, [TEAM], email=NURSE_EMAIL)
    outbox = _dispatcher(engine, smtp_server.inbox.settings())
    pathway_id = _pathway_id()
    # Nothing listens on the SMTP port yet: the recording succeeds, the mail waits.
    await _record(engine, outbox, _batch(pathway_id, _to_nurse(pathway_id)))
    await _drain(outbox)
    email = _rows(engine, pathway_id)[(NURSE, NotificationChannel.EMAIL)]
    assert email.status == DeliveryStatus.PENDING and email.last_error and email.attempts == 1
    assert email.next_attempt_at is not None
    smtp_server.start()
    with Session(engine) as session:  # the back-off has passed
        session.execute(update(Notification).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    activities = _activities(engine, outbox)
    first = await ActivityEnvironment().run(activities.deliver_pending_notifications, DeliverPendingNotifications())
    second = await ActivityEnvironment().run(activities.deliver_pending_notifications, DeliverPendingNotifications())
    assert (first.delivered, first.still_pending, second.delivered) == (1, 0, 0)
    assert len(smtp_server.inbox.to(NURSE_EMAIL)) == 1
    email = _rows(engine, pathway_id)[(NURSE, NotificationChannel.EMAIL)]
    assert (email.status, email.attempts, email.last_error) == (DeliveryStatus.DELIVERED, 2, None)


async def test_two_dispatchers_delivering_the_same_row_at_once_send_it_once(
    engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_plain_team(engine, TEAM)
    add_staff(engine, NURSE, [TEAM], email=NURSE_EMAIL)
    first, second = _dispatcher(engine, smtp_inbox.settings()), _dispatcher(engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    await _record(engine, first, _batch(pathway_id, _to_nurse(pathway_id)))
    [row_id] = [first._queue.get_nowait()]
    outcomes = await asyncio.gather(first.deliver(row_id), second.deliver(row_id), second.deliver_due(10))
    assert outcomes[0] == DeliveryStatus.DELIVERED or outcomes[1] == DeliveryStatus.DELIVERED
    assert len(smtp_inbox.to(NURSE_EMAIL)) == 1


async def test_smtp_disabled_delivers_to_the_inbox_only(engine: Engine) -> None:
    add_plain_team(engine, TEAM)
    add_staff(engine, NURSE, [TEAM], email=NURSE_EMAIL)
    outbox = _dispatcher(engine, Settings())
    pathway_id = _pathway_id()
    await _record(engine, outbox, _batch(pathway_id, _to_nurse(pathway_id)))
    assert set(_rows(engine, pathway_id)) == {(NURSE, NotificationChannel.INBOX)}


async def test_an_unknown_recipient_is_skipped_without_holding_up_the_record(engine: Engine) -> None:
    add_plain_team(engine, TEAM)
    outbox = _dispatcher(engine, Settings())
    pathway_id = _pathway_id()
    notice = Notice(
        key=f"{pathway_id}:start:x",
        kind=NotificationKind.ASSIGNED_CASE_MANAGER,
        to=Recipient.STAFF,
        recipient="nobody.here",
    )
    await _record(engine, outbox, _batch(pathway_id, notice))
    assert _rows(engine, pathway_id) == {}


async def test_a_team_notice_goes_to_each_active_coordinator_once(engine: Engine, smtp_inbox: SmtpInbox) -> None:
    add_plain_team(engine, TEAM)
    add_plain_team(engine, "other-team")
    add_staff(engine, COORDINATOR, [TEAM], role=StaffRole.COORDINATOR, email=COORDINATOR_EMAIL)
    add_staff(engine, "coordinator.left", [TEAM], role=StaffRole.COORDINATOR, active=False)
    add_staff(engine, "coordinator.other", ["other-team"], role=StaffRole.COORDINATOR)
    add_staff(engine, NURSE, [TEAM])
    outbox = _dispatcher(engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    notice = Notice(
        key=f"{pathway_id}:start:new_referral:coordinators",
        kind=NotificationKind.NEW_REFERRAL,
        to=Recipient.COORDINATORS,
    )
    await _record(engine, outbox, _batch(pathway_id, notice))
    await _record(engine, outbox, _batch(pathway_id, notice))
    await _drain(outbox)
    assert set(_rows(engine, pathway_id)) == {
        (COORDINATOR, NotificationChannel.INBOX),
        (COORDINATOR, NotificationChannel.EMAIL),
    }
    assert len(smtp_inbox.to(COORDINATOR_EMAIL)) == 1


async def test_a_reminder_for_a_case_manager_who_left_goes_to_the_coordinators_and_mails_no_one_who_left(
    engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_plain_team(engine, TEAM)
    add_staff(engine, COORDINATOR, [TEAM], role=StaffRole.COORDINATOR, email=COORDINATOR_EMAIL, language=Language.EN)
    add_staff(engine, NURSE, [TEAM], email=NURSE_EMAIL, active=False)
    outbox = _dispatcher(engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    reminder = _to_nurse(pathway_id, NotificationKind.FOLLOW_UP_DUE_SOON)
    handover = _to_nurse(pathway_id, NotificationKind.HANDOVER_PENDING).model_copy(
        update={"key": f"{pathway_id}:update:u2:handover_pending"}
    )
    await _record(engine, outbox, _batch(pathway_id, reminder, handover))
    await _drain(outbox)
    rows = _rows(engine, pathway_id)
    assert set(rows) == {(COORDINATOR, NotificationChannel.INBOX), (COORDINATOR, NotificationChannel.EMAIL)}
    assert "deactivated" in rows[(COORDINATOR, NotificationChannel.INBOX)].body
    assert smtp_inbox.to(NURSE_EMAIL) == [] and len(smtp_inbox.to(COORDINATOR_EMAIL)) == 1
