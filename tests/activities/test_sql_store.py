"""The database-backed effect store with real delivery: a real SMTP server, a real HTTP receiver, and
the activities run through `ActivityEnvironment` on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import Delivery, SmtpSender, TransientDeliveryError, WebhookSender
from activities.pathway_activities import PathwayActivities
from activities.sql_store import SqlEffectStore
from core.settings import Settings
from models.effects import (
    EscalateToTeamReviewInput,
    NotifyCaseManagerInput,
    NotifyTeamInput,
    RecordPathwayEventsInput,
)
from models.pathway import (
    EventKind,
    Language,
    NotificationKind,
    PathwayEvent,
    Stage,
    TeamReviewCause,
    TriageRoute,
)
from models.tables import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    PathwayEventRecord,
    StaffRole,
    TeamReviewItem,
)
from tests.db_fixtures import SmtpInbox, SmtpServer, WebhookReceiver, add_staff, add_team

TEAM = "eura-team"
NURSE = "nurse.virtanen"
NURSE_EMAIL = "nurse.virtanen@example.org"
COORDINATOR = "coordinator.aalto"
SECRET = "team-webhook-secret"


def _activities(engine: Engine, settings: Settings) -> PathwayActivities:
    delivery = Delivery(
        email=SmtpSender(settings) if settings.smtp_enabled else None,
        webhook=WebhookSender(timeout_seconds=5),
    )
    return PathwayActivities(SqlEffectStore(engine, delivery))


def _notify(pathway_id: str, kind: NotificationKind = NotificationKind.ASSIGNED_CASE_MANAGER) -> NotifyCaseManagerInput:
    return NotifyCaseManagerInput(
        pathway_id=pathway_id,
        team=TEAM,
        idempotency_key=f"{pathway_id}:3:{kind.value}:{NURSE}",
        recipient=NURSE,
        kind=kind,
    )


def _escalation(
    pathway_id: str,
    *,
    cause: TeamReviewCause = TeamReviewCause.FOLLOW_UP_OVERDUE,
    reason: str = "the follow-up contact is overdue",
    case_manager: str = NURSE,
) -> EscalateToTeamReviewInput:
    review_id = str(uuid.uuid4())
    return EscalateToTeamReviewInput(
        pathway_id=pathway_id,
        team=TEAM,
        idempotency_key=f"{pathway_id}:7:escalate:{review_id}",
        review_id=review_id,
        cause=cause,
        reason=reason,
        opened_by="system",
        opened_at=datetime.now(UTC),
        case_manager=case_manager,
    )


def _pathway_id() -> str:
    return f"pathway-client-{uuid.uuid4().hex[:12]}"


def _rows(engine: Engine, pathway_id: str) -> dict[NotificationChannel, Notification]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(Notification.pathway_id == pathway_id)).all()
    by_channel: dict[NotificationChannel, Notification] = {}
    for row in rows:
        assert row.channel not in by_channel, f"two {row.channel} rows for one notification"
        by_channel[row.channel] = row
    return by_channel


async def test_notification_run_twice_writes_one_row_per_channel_and_delivers_once(
    migrated_engine: Engine, smtp_inbox: SmtpInbox, webhook_receiver: WebhookReceiver
) -> None:
    add_team(migrated_engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL)
    activities = _activities(migrated_engine, smtp_inbox.settings())
    pathway_id = _pathway_id()

    first = await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))
    second = await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    assert first.delivered is True
    assert second.delivered is False
    rows = _rows(migrated_engine, pathway_id)
    assert set(rows) == {NotificationChannel.INBOX, NotificationChannel.EMAIL, NotificationChannel.WEBHOOK}
    assert all(row.status == DeliveryStatus.DELIVERED for row in rows.values())
    assert rows[NotificationChannel.EMAIL].attempts == 1
    assert len(smtp_inbox.to(NURSE_EMAIL)) == 1
    assert len(webhook_receiver.requests) == 1


async def test_email_is_received_in_the_recipients_language_with_the_pathway_reference(
    migrated_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL, language=Language.SV)
    activities = _activities(migrated_engine, smtp_inbox.settings())
    pathway_id = _pathway_id()

    await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    [message] = smtp_inbox.to(NURSE_EMAIL)
    assert message["From"] == "pathways@example.org"
    assert message["Content-Language"] == "sv"
    assert message["Subject"] == f"Du har utsetts till klientansvarig: {pathway_id}"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert pathway_id in body and "klientansvarig" in body
    inbox = _rows(migrated_engine, pathway_id)[NotificationChannel.INBOX]
    assert inbox.language == Language.SV and inbox.subject == message["Subject"]


async def test_webhook_is_signed_with_the_teams_secret_over_timestamp_and_body(
    migrated_engine: Engine, webhook_receiver: WebhookReceiver
) -> None:
    add_team(migrated_engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(migrated_engine, NURSE, TEAM, language=Language.EN)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    notification = _notify(pathway_id, NotificationKind.FOLLOW_UP_DUE_SOON).model_copy(update={"due_at": due})

    await ActivityEnvironment().run(activities.notify_case_manager, notification)

    [request] = webhook_receiver.requests
    timestamp = request.headers["x-pathways-timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-pathways-signature"], f"sha256={expected}")
    assert request.path == "/hooks/pathways"
    payload = json.loads(request.body)
    assert payload["kind"] == "follow_up_due_soon"
    assert payload["pathway_id"] == pathway_id
    assert payload["recipient"] == NURSE
    assert payload["due_at"] == due.isoformat()
    assert "2026-12-01 09:00 UTC" in payload["body"]
    assert request.headers["x-pathways-delivery"] == payload["id"]


async def test_refused_email_address_is_marked_failed_and_does_not_raise(
    migrated_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    smtp_inbox.refused.add(NURSE_EMAIL)
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL)
    activities = _activities(migrated_engine, smtp_inbox.settings())
    pathway_id = _pathway_id()

    result = await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    assert result.delivered is True  # the inbox still has it
    rows = _rows(migrated_engine, pathway_id)
    assert rows[NotificationChannel.INBOX].status == DeliveryStatus.DELIVERED
    email = rows[NotificationChannel.EMAIL]
    assert email.status == DeliveryStatus.FAILED
    assert email.last_error is not None and "550" in email.last_error
    assert smtp_inbox.messages == []


async def test_smtp_outage_raises_then_the_retry_delivers_once(
    migrated_engine: Engine, smtp_server: SmtpServer, webhook_receiver: WebhookReceiver
) -> None:
    add_team(migrated_engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL)
    activities = _activities(migrated_engine, smtp_server.inbox.settings())
    pathway_id = _pathway_id()

    # Nothing listens on the SMTP port yet: the activity must fail so Temporal retries it.
    with pytest.raises(TransientDeliveryError):
        await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))
    email = _rows(migrated_engine, pathway_id)[NotificationChannel.EMAIL]
    assert email.status == DeliveryStatus.PENDING and email.last_error

    smtp_server.start()
    result = await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    assert result.delivered is True
    rows = _rows(migrated_engine, pathway_id)
    assert rows[NotificationChannel.EMAIL].status == DeliveryStatus.DELIVERED
    assert rows[NotificationChannel.EMAIL].attempts == 2
    assert rows[NotificationChannel.EMAIL].last_error is None
    assert len(smtp_server.inbox.to(NURSE_EMAIL)) == 1
    # The webhook went out on the first attempt and is not sent again on the retry.
    assert len(webhook_receiver.requests) == 1


async def test_webhook_unavailable_raises_then_retry_delivers_without_resending_email(
    migrated_engine: Engine, smtp_inbox: SmtpInbox, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.responses = [503]
    add_team(migrated_engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL)
    activities = _activities(migrated_engine, smtp_inbox.settings())
    pathway_id = _pathway_id()

    with pytest.raises(TransientDeliveryError, match="503"):
        await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))
    await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    assert len(webhook_receiver.requests) == 2
    assert len(smtp_inbox.to(NURSE_EMAIL)) == 1
    assert _rows(migrated_engine, pathway_id)[NotificationChannel.WEBHOOK].status == DeliveryStatus.DELIVERED


async def test_webhook_client_error_is_marked_failed_and_does_not_raise(
    migrated_engine: Engine, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.responses = [410]
    add_team(migrated_engine, TEAM, webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    add_staff(migrated_engine, NURSE, TEAM)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()

    await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))
    await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    webhook = _rows(migrated_engine, pathway_id)[NotificationChannel.WEBHOOK]
    assert webhook.status == DeliveryStatus.FAILED
    assert webhook.last_error is not None and "410" in webhook.last_error
    assert len(webhook_receiver.requests) == 1  # a failed row is not retried


async def test_smtp_disabled_delivers_to_the_inbox_only(migrated_engine: Engine) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL)
    activities = _activities(migrated_engine, Settings())  # the dev default: smtp_enabled=False
    pathway_id = _pathway_id()

    await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    rows = _rows(migrated_engine, pathway_id)
    assert set(rows) == {NotificationChannel.INBOX}
    assert rows[NotificationChannel.INBOX].status == DeliveryStatus.DELIVERED
    assert rows[NotificationChannel.INBOX].delivered_at is not None


async def test_unknown_recipient_fails_non_retryable_and_writes_nothing(migrated_engine: Engine) -> None:
    add_team(migrated_engine, TEAM)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities.notify_case_manager, _notify(pathway_id))

    assert raised.value.type == "UnknownRecipient"
    assert raised.value.non_retryable is True
    assert f"recipient staff id {NURSE!r} is not in the staff table" in str(raised.value)
    assert _rows(migrated_engine, pathway_id) == {}


async def test_team_notice_goes_to_each_active_coordinator_of_the_team_once(
    migrated_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_team(migrated_engine, TEAM)
    add_team(migrated_engine, "other-team")
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR, email="aalto@example.org")
    add_staff(migrated_engine, "coordinator.berg", TEAM, role=StaffRole.COORDINATOR, language=Language.SV)
    add_staff(migrated_engine, "coordinator.gone", TEAM, role=StaffRole.COORDINATOR, active=False)
    add_staff(migrated_engine, "coordinator.other", "other-team", role=StaffRole.COORDINATOR)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL)
    activities = _activities(migrated_engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    notice = NotifyTeamInput(
        pathway_id=pathway_id,
        team=TEAM,
        idempotency_key=f"{pathway_id}:1:new_referral:team",
        kind=NotificationKind.NEW_REFERRAL,
        client_language=Language.FI,
        due_at=datetime.now(UTC) + timedelta(days=14),
    )

    await ActivityEnvironment().run(activities.notify_team, notice)
    await ActivityEnvironment().run(activities.notify_team, notice)

    with Session(migrated_engine) as session:
        rows = session.exec(select(Notification).where(Notification.pathway_id == pathway_id)).all()
    assert sorted((row.recipient, row.channel.value) for row in rows) == [
        (COORDINATOR, "email"),
        (COORDINATOR, "inbox"),
        ("coordinator.berg", "inbox"),
    ]
    berg = next(row for row in rows if row.recipient == "coordinator.berg")
    assert berg.subject.startswith("Ny remiss")
    assert len(smtp_inbox.messages) == 1


async def test_escalation_opens_one_review_item_and_notifies_coordinators_and_case_manager(
    migrated_engine: Engine,
) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR)
    add_staff(migrated_engine, NURSE, TEAM)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()
    escalation = _escalation(pathway_id)
    review_id = escalation.review_id

    first = await ActivityEnvironment().run(activities.escalate_to_team_review, escalation)
    second = await ActivityEnvironment().run(activities.escalate_to_team_review, escalation)

    assert (first.created, first.notified) == (True, 2)
    assert (second.created, second.notified) == (False, 0)
    with Session(migrated_engine) as session:
        items = session.exec(select(TeamReviewItem).where(TeamReviewItem.pathway_id == pathway_id)).all()
        recipients = session.exec(
            select(Notification.recipient).where(
                Notification.pathway_id == pathway_id, Notification.kind == "escalated_to_team_review"
            )
        ).all()
    assert [(item.review_id, item.cause, item.opened_by, item.decided_at) for item in items] == [
        (review_id, "follow_up_overdue", "system", None)
    ]
    assert sorted(recipients) == [COORDINATOR, NURSE]


async def test_escalation_with_unknown_case_manager_still_notifies_coordinators_then_fails(
    migrated_engine: Engine,
) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()
    escalation = _escalation(
        pathway_id,
        cause=TeamReviewCause.SERVICE_GAP,
        reason="the client has been without services too long",
        case_manager="aaa.unknown",  # sorts before the coordinator
    )
    review_id = escalation.review_id

    with pytest.raises(ApplicationError, match=r"aaa\.unknown"):
        await ActivityEnvironment().run(activities.escalate_to_team_review, escalation)

    assert set(_rows(migrated_engine, pathway_id)) == {NotificationChannel.INBOX}
    with Session(migrated_engine) as session:
        assert session.get(TeamReviewItem, review_id) is not None


def _event(sequence: int, kind: EventKind, stage: Stage, **details: str) -> PathwayEvent:
    return PathwayEvent(
        sequence=sequence,
        at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=sequence),
        actor=COORDINATOR,
        kind=kind,
        summary=kind.value,
        stage=stage,
        details=details,
    )


async def test_recording_events_twice_writes_each_event_once_with_the_pathways_situation(
    migrated_engine: Engine,
) -> None:
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()
    record = RecordPathwayEventsInput(
        pathway_id=pathway_id,
        team=TEAM,
        stage=Stage.ASSESSMENT,
        case_manager=NURSE,
        route=TriageRoute.HEALTH_CHECK,
        events=[
            _event(1, EventKind.REFERRAL_RECEIVED, Stage.AWAITING_TRIAGE, referral_source="self_referral"),
            _event(2, EventKind.TRIAGED, Stage.ASSESSMENT, route="health_check"),
        ],
    )

    first = await ActivityEnvironment().run(activities.record_pathway_events, record)
    retried = await ActivityEnvironment().run(activities.record_pathway_events, record)
    later = record.model_copy(update={"events": [*record.events, _event(3, EventKind.GOAL_SET, Stage.ASSESSMENT)]})
    third = await ActivityEnvironment().run(activities.record_pathway_events, later)

    assert (first, retried, third) == (2, 0, 1)
    with Session(migrated_engine) as session:
        rows = session.exec(
            select(PathwayEventRecord)
            .where(PathwayEventRecord.pathway_id == pathway_id)
            .order_by(col(PathwayEventRecord.sequence))
        ).all()
    assert [(row.sequence, row.kind, row.stage) for row in rows] == [
        (1, "referral_received", "awaiting_triage"),
        (2, "triaged", "assessment"),
        (3, "goal_set", "assessment"),
    ]
    assert rows[0].details == {"referral_source": "self_referral"}
    assert all(row.case_manager == NURSE and row.route == "health_check" and row.team == TEAM for row in rows)


async def test_team_review_decided_event_records_the_decision_on_the_review_item(migrated_engine: Engine) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()
    review_id = str(uuid.uuid4())
    await ActivityEnvironment().run(
        activities.escalate_to_team_review,
        EscalateToTeamReviewInput(
            pathway_id=pathway_id,
            team=TEAM,
            idempotency_key=f"{pathway_id}:4:escalate:{review_id}",
            review_id=review_id,
            cause=TeamReviewCause.REQUESTED_BY_STAFF,
            reason="needs the team's view",
            opened_by=COORDINATOR,
            opened_at=datetime.now(UTC),
        ),
    )
    decided = _event(5, EventKind.TEAM_REVIEW_DECIDED, Stage.PLANNING, review_id=review_id, decision="revise_plan")
    record = RecordPathwayEventsInput(
        pathway_id=pathway_id, team=TEAM, stage=Stage.PLANNING, case_manager=None, route=None, events=[decided]
    )

    await ActivityEnvironment().run(activities.record_pathway_events, record)
    await ActivityEnvironment().run(activities.record_pathway_events, record)

    with Session(migrated_engine) as session:
        item = session.get(TeamReviewItem, review_id)
    assert item is not None
    assert (item.decided_by, item.decision) == (COORDINATOR, "revise_plan")
    assert item.decided_at is not None and item.decided_at.replace(tzinfo=UTC) == decided.at


async def test_reminder_for_a_deactivated_case_manager_goes_to_the_coordinators_and_mails_no_one_who_left(
    migrated_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR, email="aalto@example.org")
    add_staff(migrated_engine, "coordinator.berg", TEAM, role=StaffRole.COORDINATOR, language=Language.SV)
    add_staff(migrated_engine, NURSE, TEAM, email=NURSE_EMAIL, active=False)
    activities = _activities(migrated_engine, smtp_inbox.settings())
    pathway_id = _pathway_id()
    reminder = _notify(pathway_id, NotificationKind.FOLLOW_UP_DUE_SOON)

    first = await ActivityEnvironment().run(activities.notify_case_manager, reminder)
    second = await ActivityEnvironment().run(activities.notify_case_manager, reminder)

    assert (first.delivered, second.delivered) == (True, False)
    with Session(migrated_engine) as session:
        rows = session.exec(select(Notification).where(Notification.pathway_id == pathway_id)).all()
    assert sorted((row.recipient, row.channel.value, row.kind) for row in rows) == [
        (COORDINATOR, "email", "follow_up_due_soon"),
        (COORDINATOR, "inbox", "follow_up_due_soon"),
        ("coordinator.berg", "inbox", "follow_up_due_soon"),
    ]
    berg = next(row for row in rows if row.recipient == "coordinator.berg")
    assert "Utse en ny klientansvarig" in berg.body
    # One e-mail, to the coordinator; none to the address of the member who left.
    assert [message["To"] for message in smtp_inbox.messages] == ["aalto@example.org"]
    assert "Nimetkää polulle uusi asiakasvastaava" in smtp_inbox.messages[0].get_content()


async def test_escalation_does_not_notify_a_deactivated_case_manager(migrated_engine: Engine) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR)
    add_staff(migrated_engine, NURSE, TEAM, active=False)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()
    escalation = _escalation(pathway_id)

    result = await ActivityEnvironment().run(activities.escalate_to_team_review, escalation)

    assert (result.created, result.notified) == (True, 1)
    with Session(migrated_engine) as session:
        recipients = session.exec(select(Notification.recipient).where(Notification.pathway_id == pathway_id)).all()
    assert recipients == [COORDINATOR]


async def test_handover_notice_to_a_case_manager_who_left_is_not_sent_to_anyone(migrated_engine: Engine) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR)
    add_staff(migrated_engine, NURSE, TEAM, active=False)
    activities = _activities(migrated_engine, Settings())
    pathway_id = _pathway_id()

    result = await ActivityEnvironment().run(
        activities.notify_case_manager, _notify(pathway_id, NotificationKind.HANDOVER_FROM)
    )

    assert result.delivered is False
    assert _rows(migrated_engine, pathway_id) == {}
