"""The team's register of partner organisations: who a planned service can be referred to, and how.

A partner is an organisation (Kela, employment services, TYP, a provider), never a person; it has no staff
account. Coordinators of the team (or administrators) keep the register; every member of the team reads it
to pick a provider. A webhook partner's secret is made here, shown once, and kept to sign and verify.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from api.services.staff import StaffMember
from core import net
from models.pathway import NotificationKind, PartnerChannel
from models.tables import Partner, Team
from records.outbox import coordinator_staff, write_team_notice

WEBHOOK_SECRET_BYTES = 32
# Where a partner's referrals go; an administrator keeps the register's names and who is active, never this.
DESTINATION_FIELDS = frozenset({"channel", "email", "webhook_url"})


@dataclass(frozen=True)
class PartnerFields:
    name: str
    kind: str
    channel: PartnerChannel
    email: str | None
    webhook_url: str | None
    language: str


def require_register_keeper(staff: StaffMember, team_id: str) -> None:
    if staff.is_admin:
        return
    if not staff.is_coordinator or team_id not in staff.teams:
        raise ForbiddenError(f"only a coordinator of team {team_id} (or an administrator) keeps its partner register")


def require_register_reader(staff: StaffMember, team_id: str) -> None:
    if staff.is_admin or team_id in staff.teams:
        return
    raise ForbiddenError(f"you see only your own teams' partners, not team {team_id}'s")


def require_destination_keeper(staff: StaffMember, team_id: str) -> None:
    """Where a partner's referrals go is the team's coordinators' to say: an administrator keeps the register
    but reads no client data, and must not be able to send the team's referrals somewhere else."""
    if not staff.is_coordinator or team_id not in staff.teams:
        raise ForbiddenError(
            f"only a coordinator of team {team_id} says where its partners' referrals go (channel, email, webhook_url)"
        )


def _check_channel(channel: PartnerChannel, email: str | None, webhook_url: str | None, *, loopback: bool) -> None:
    if channel is PartnerChannel.EMAIL and not email:
        raise InvalidInputError("an e-mail partner needs its e-mail address (email)", field="email")
    if channel is PartnerChannel.WEBHOOK:
        if not webhook_url:
            raise InvalidInputError("a webhook partner needs its webhook_url", field="webhook_url")
        try:
            net.check_saved(webhook_url, loopback=loopback)
        except net.AddressRefused as err:
            raise InvalidInputError(f"webhook_url is not allowed: {err}", field="webhook_url") from None


def list_partners(session: Session, team_id: str, *, include_inactive: bool = False) -> list[Partner]:
    if session.get(Team, team_id) is None:
        raise NotFoundError(f"no team {team_id}")
    statement = select(Partner).where(col(Partner.team_id) == team_id).order_by(col(Partner.name))
    if not include_inactive:
        statement = statement.where(col(Partner.active).is_(True))
    return list(session.exec(statement))


def create_partner(
    session: Session, team_id: str, partner_id: str, fields: PartnerFields, *, webhook_loopback: bool = False
) -> tuple[Partner, str | None]:
    """The new partner and, for a webhook partner, its secret (shown once)."""
    if session.get(Team, team_id) is None:
        raise NotFoundError(f"no team {team_id}")
    _check_channel(fields.channel, fields.email, fields.webhook_url, loopback=webhook_loopback)
    secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES) if fields.channel is PartnerChannel.WEBHOOK else None
    partner = Partner(
        team_id=team_id,
        partner_id=partner_id,
        name=fields.name,
        kind=fields.kind,  # type: ignore[arg-type]
        channel=fields.channel,
        email=fields.email,
        webhook_url=fields.webhook_url,
        language=fields.language,  # type: ignore[arg-type]
        webhook_secret=secret,
    )
    session.add(partner)
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise ConflictError(f"team {team_id} already has a partner {partner_id}") from err
    session.refresh(partner)
    return partner, secret


def update_partner(
    session: Session,
    team_id: str,
    partner_id: str,
    changes: dict[str, object],
    *,
    rotate_secret: bool,
    changed_by: str,
    webhook_loopback: bool = False,
    email_enabled: bool = False,
) -> tuple[Partner, str | None]:
    """Save the changes. A change of where the partner's referrals go (channel, address, webhook or its
    secret) is told to the team's other coordinators, in the same transaction: a redirected referral stream
    is what someone with a stolen session would try, and the colleagues are who notice."""
    partner = session.get(Partner, (team_id, partner_id))
    if partner is None:
        raise NotFoundError(f"team {team_id} has no partner {partner_id}")
    destination_before = {name: getattr(partner, name) for name in DESTINATION_FIELDS}
    for name, value in changes.items():
        setattr(partner, name, value)
    _check_channel(PartnerChannel(partner.channel), partner.email, partner.webhook_url, loopback=webhook_loopback)
    secret = None
    if rotate_secret or (partner.channel is PartnerChannel.WEBHOOK and not partner.webhook_secret):
        secret = secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
        partner.webhook_secret = secret
    session.add(partner)
    if secret is not None or any(getattr(partner, name) != value for name, value in destination_before.items()):
        colleagues = [
            (coordinator, team_id)
            for coordinator in coordinator_staff(session, team_id)
            if coordinator.staff_id != changed_by
        ]
        write_team_notice(
            session,
            NotificationKind.PARTNER_DESTINATION_CHANGED,
            recipients=colleagues,
            key=f"partner-destination:{team_id}/{partner_id}:{uuid.uuid4().hex}",
            email_enabled=email_enabled,
            partner=partner_id,
            changed_by=changed_by,
        )
    session.commit()
    session.refresh(partner)
    return partner, secret


def check_partner(session: Session, *, team: str, partner_id: str, field: str) -> None:
    """A partner named in an action must be an active partner in the register of the pathway's team."""
    partner = session.get(Partner, (team, partner_id))
    if partner is None:
        raise InvalidInputError(f"{field}: team {team} has no partner {partner_id} in its register", field=field)
    if not partner.active:
        raise InvalidInputError(f"{field}: partner {partner_id} is no longer active in the register", field=field)
