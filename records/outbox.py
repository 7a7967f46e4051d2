"""The notification outbox's rows: written with the decision that caused them, in the same transaction.

`write_notices` runs inside the transaction that files a batch of a pathway's decisions (`records.filing`),
so a notice exists exactly when its decision is durably in the history. Each recipient gets an inbox row
(delivered when written) and, per outside channel, a pending row keyed `<notice key>:<recipient>:<channel>`:
the same decision, filed again by another writer, writes nothing twice. Delivering the pending rows is the
worker's (`activities.outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from core.links import PartnerLinks
from models.pathway import PARTNER_ACTOR_PREFIX, Language, NotificationKind, PartnerChannel
from models.process import Notice, Recipient
from models.tables import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    Partner,
    Staff,
    StaffRole,
    StaffTeam,
    Team,
    utc_now,
)
from records.notification_texts import render_notification, render_partner_notice, render_team_notice
from records.store import insert_ignoring_conflict

log = logging.getLogger("pathways.notifications")
T = TypeVar("T")


class Contact(Protocol):
    """Whom a notice reaches and how: a staff member as the outbox needs them (an ORM `Staff` is one too)."""

    @property
    def staff_id(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class StaffContact:
    staff_id: str
    language: Language
    email: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class TeamContact:
    team_id: str
    name: str
    webhook_url: str | None


def team_coordinators(session: Session, team: str) -> list[str]:
    """Staff ids of the team's active coordinators (who triage and run team reviews)."""
    return [staff.staff_id for staff in coordinator_staff(session, team)]


# Built once and executed with parameters (see records.store), selecting plain columns: every new pathway's
# first task tells the coordinators, and reading them and the team as ORM objects (identity map, instance
# state) took a third to a half of a notice's transaction (bench/PROFILE.md, seventeenth and nineteenth rounds).
_CONTACT_COLUMNS = (col(Staff.staff_id), col(Staff.language), col(Staff.email), col(Staff.active))
_COORDINATORS = (
    select(*_CONTACT_COLUMNS)
    .join(StaffTeam, col(StaffTeam.staff_id) == col(Staff.staff_id))
    .where(
        col(StaffTeam.team_id) == bindparam("coordinators_of"),
        col(Staff.role) == StaffRole.COORDINATOR,
        col(Staff.active).is_(True),
    )
    .order_by(col(Staff.staff_id))
)
_STAFF = select(*_CONTACT_COLUMNS).where(col(Staff.staff_id) == bindparam("contact_id"))
_TEAM = select(col(Team.team_id), col(Team.name), col(Team.webhook_url)).where(
    col(Team.team_id) == bindparam("team_id")
)


def _rows(session: Session, statement: Any, parameters: dict[str, str]) -> list[dict[str, Any]]:
    """The statement's rows, by column name, on the transaction's connection. Flushed first, as the ORM's own
    reads autoflush: an administrator's change to a member or a team in this transaction is what the notice
    sees (a clean session flushes nothing)."""
    session.flush()
    return [dict(row._mapping) for row in session.connection().execute(statement, parameters)]


def coordinator_staff(session: Session, team: str) -> list[StaffContact]:
    """The team's active coordinators, in one query (each gets its own copy of a team notice)."""
    return _read_once(
        session,
        ("coordinators", team),
        lambda: [StaffContact(**row) for row in _rows(session, _COORDINATORS, {"coordinators_of": team})],
    )


def _staff(session: Session, staff_id: str) -> StaffContact | None:
    return next((StaffContact(**row) for row in _rows(session, _STAFF, {"contact_id": staff_id})), None)


def _team(session: Session, team: str) -> TeamContact | None:
    return _read_once(
        session,
        ("team", team),
        lambda: next((TeamContact(**row) for row in _rows(session, _TEAM, {"team_id": team})), None),
    )


_DIRECTORY = "pathways.notice_directory"


def _read_once(session: Session, key: tuple[str, str], read: Callable[[], T]) -> T:
    """Read once per transaction: the batches filed together in one (`activities.records`) mostly share a team.
    Kept with the transaction that read it, and read afresh in the next."""
    transaction = session.get_transaction()
    held = session.info.get(_DIRECTORY)
    if held is None or held[0] is not transaction:
        held = session.info[_DIRECTORY] = (transaction, {})
    cache: dict[tuple[str, str], Any] = held[1]
    if key not in cache:
        cache[key] = read()
    return cast(T, cache[key])


# What someone who has left needs no telling of (the pathway is, or was never, theirs).
_NEEDLESS_AFTER_LEAVING = frozenset(
    {
        NotificationKind.HANDOVER_PENDING,
        NotificationKind.HANDOVER_ACCEPTED,
        NotificationKind.HANDOVER_WITHDRAWN,
    }
)


@dataclass(frozen=True)
class _Delivery:
    recipient: StaffContact
    key: str
    deactivated_case_manager: bool = False


def _recipients(session: Session, notice: Notice, team: str) -> list[_Delivery]:
    """Who gets the notice. A notice for a case manager who has left goes to the coordinators instead, who
    name a new one; a "handed over from you" notice to someone who left needs no telling."""
    if notice.to is Recipient.COORDINATORS:
        return [
            _Delivery(coordinator, f"{notice.key}:{coordinator.staff_id}")
            for coordinator in coordinator_staff(session, team)
        ]
    assert notice.recipient is not None
    staff = _staff(session, notice.recipient)
    if staff is None:
        log.warning("Notice %s: staff id %r is unknown; nobody notified", notice.kind.value, notice.recipient)
        return []
    if staff.active:
        return [_Delivery(staff, notice.key)]
    if notice.kind in _NEEDLESS_AFTER_LEAVING:
        return []
    if notice.kind is NotificationKind.ESCALATED_TO_TEAM_REVIEW:
        return []  # the coordinators have their own copy of an escalation
    return [
        _Delivery(coordinator, f"{notice.key}:handover:{coordinator.staff_id}", deactivated_case_manager=True)
        for coordinator in coordinator_staff(session, team)
    ]


def write_notices(
    session: Session,
    notices: Iterable[Notice],
    *,
    pathway_id: str,
    team: str,
    email_enabled: bool,
    links: PartnerLinks | None = None,
) -> tuple[int, list[int]]:
    """Outbox rows for the notices: how many rows were new, and the ids of pending outside deliveries."""
    notices = list(notices)
    # Read only when there is something to send (most staff actions' batches have no notice).
    team_row = _team(session, team) if notices else None
    written = 0
    pending: list[int] = []
    now = utc_now()
    for notice in notices:
        if notice.to is Recipient.PARTNER:
            row = _partner_row(session, notice, pathway_id=pathway_id, team_row=team_row, links=links, now=now)
            if row is not None and insert_ignoring_conflict(session, Notification.__table__, row, ["idempotency_key"]):  # type: ignore[attr-defined]
                written += 1
                if row["status"] is DeliveryStatus.PENDING:
                    pending.extend(_row_id(session, row["idempotency_key"]))
            continue
        for delivery in _recipients(session, notice, team):
            staff = delivery.recipient
            language = Language(staff.language)
            text = render_notification(
                notice.kind,
                language,
                pathway_id=pathway_id,
                team=team,
                due_at=notice.due_at,
                case_manager_deactivated=delivery.deactivated_case_manager,
            )
            channels = [NotificationChannel.INBOX]
            # No e-mail to someone whose account is deactivated: they may have left the organisation.
            if staff.email and staff.active and email_enabled:
                channels.append(NotificationChannel.EMAIL)
            if team_row is not None and team_row.webhook_url:
                channels.append(NotificationChannel.WEBHOOK)
            for channel in channels:
                inbox = channel is NotificationChannel.INBOX
                values = {
                    "idempotency_key": f"{delivery.key}:{channel.value}"[:400],
                    "recipient": staff.staff_id,
                    "kind": notice.kind.value,
                    "pathway_id": pathway_id,
                    "team": team,
                    "language": language,
                    "subject": text.subject,
                    "body": text.body,
                    "channel": channel,
                    # The inbox is this table: written is delivered.
                    "status": DeliveryStatus.DELIVERED if inbox else DeliveryStatus.PENDING,
                    "attempts": 0,
                    "due_at": notice.due_at,
                    "created_at": now,
                    "next_attempt_at": None if inbox else now,
                    "delivered_at": now if inbox else None,
                }
                if insert_ignoring_conflict(session, Notification.__table__, values, ["idempotency_key"]):  # type: ignore[attr-defined]
                    written += 1
                    if not inbox:
                        pending.extend(_row_id(session, str(values["idempotency_key"])))
    return written, pending


def write_team_notice(
    session: Session,
    kind: NotificationKind,
    *,
    recipients: Iterable[tuple[Contact, str]],
    key: str,
    email_enabled: bool,
    **values: str,
) -> int:
    """A notice about a team or an account (no pathway) to each (staff member, team) in `recipients`: an inbox
    row each and, where e-mail is on, a pending e-mail row the worker's outbox sweep delivers. Written in the
    caller's transaction, with the change it tells of; how many rows."""
    now = utc_now()
    written = 0
    for staff, team in recipients:
        language = Language(staff.language)
        text = render_team_notice(kind, language, team=team, **values)
        channels = [NotificationChannel.INBOX]
        if staff.email and staff.active and email_enabled:
            channels.append(NotificationChannel.EMAIL)
        for channel in channels:
            inbox = channel is NotificationChannel.INBOX
            row = {
                "idempotency_key": f"{key}:{staff.staff_id}:{channel.value}"[:400],
                "recipient": staff.staff_id,
                "kind": kind.value,
                "pathway_id": None,
                "team": team,
                "language": language,
                "subject": text.subject,
                "body": text.body,
                "channel": channel,
                "status": DeliveryStatus.DELIVERED if inbox else DeliveryStatus.PENDING,
                "attempts": 0,
                "due_at": None,
                "created_at": now,
                "next_attempt_at": None if inbox else now,
                "delivered_at": now if inbox else None,
            }
            if insert_ignoring_conflict(session, Notification.__table__, row, ["idempotency_key"]):  # type: ignore[attr-defined]
                written += 1
    return written


def _row_id(session: Session, idempotency_key: str) -> list[int]:
    row_id = session.scalar(select(col(Notification.id)).where(col(Notification.idempotency_key) == idempotency_key))
    return [row_id] if row_id is not None else []


def partner_recipient(partner_id: str) -> str:
    return PARTNER_ACTOR_PREFIX + partner_id


def _partner_row(
    session: Session,
    notice: Notice,
    *,
    pathway_id: str,
    team_row: TeamContact | None,
    links: PartnerLinks | None,
    now: datetime,
) -> dict[str, Any] | None:
    """The one outbox row of a notice to a partner organisation, by its own channel (no inbox: it has no
    account). A row that can never be sent is written failed, with the reason, so operations see it."""
    assert notice.recipient is not None and notice.referral_id is not None
    partner = session.get(Partner, (team_row.team_id if team_row else "", notice.recipient))
    if partner is None or team_row is None:
        log.warning(
            "Notice %s: partner %r is not in the team's register; nobody notified", notice.kind.value, notice.recipient
        )
        return None
    channel = NotificationChannel.WEBHOOK if partner.channel is PartnerChannel.WEBHOOK else NotificationChannel.EMAIL
    problem: str | None = None
    link, valid_until = "", None
    if links is not None and links.enabled:
        link, valid_until = links.link(notice.referral_id, partner.partner_id, now)
    elif channel is NotificationChannel.EMAIL:
        problem = (
            "partner links are not configured (PATHWAYS_PARTNER_LINK_SECRETS): the provider cannot open the referral"
        )
    if not partner.active:
        problem = "the partner is no longer active in the team's register"
    language = Language(partner.language)
    text = render_partner_notice(
        notice.kind,
        language,
        team_name=team_row.name,
        reference=notice.referral_id[:8],
        link=link,
        valid_until=valid_until,
        due_at=notice.due_at,
    )
    return {
        "idempotency_key": f"{notice.key}:{channel.value}"[:400],
        "recipient": partner_recipient(partner.partner_id),
        "kind": notice.kind.value,
        "pathway_id": pathway_id,
        "team": team_row.team_id,
        "referral_id": notice.referral_id,
        "language": language,
        "subject": text.subject,
        "body": text.body,
        "channel": channel,
        "status": DeliveryStatus.FAILED if problem else DeliveryStatus.PENDING,
        "attempts": 0,
        "last_error": problem,
        "due_at": notice.due_at,
        "created_at": now,
        "next_attempt_at": None if problem else now,
        "delivered_at": None,
    }
