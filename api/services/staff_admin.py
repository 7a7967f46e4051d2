"""Administrators' actions on staff accounts: adding people, revoking a member's tokens, and deactivation
when someone leaves. An administrator never makes a token for someone else.

Each is audited under the administrator's id, without a pathway. Deactivation changes only the staff
tables: the member's open pathways are handed over by their teams' coordinators, whom the outbox now
sends those pathways' reminders (activities/outbox.py); the answer says how many there are.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlmodel import Session, col

from api.access import audited
from api.errors import ConflictError
from api.schemas import (
    StaffContact,
    StaffCreate,
    StaffDeactivated,
    StaffIdentityLinked,
    StaffPublic,
    TokensRevoked,
)
from api.services import staff as staff_service
from api.services.staff import StaffMember
from models.pathway import NotificationKind
from models.tables import PathwayRow, Staff

log = logging.getLogger("pathways.api")


def count_open_pathways_managed_by(session: Session, staff_id: str) -> int:
    """Open pathways, on any team, that name `staff_id` as their case manager."""
    statement = select(func.count()).where(
        col(PathwayRow.case_manager) == staff_id, col(PathwayRow.closed_at).is_(None)
    )
    return int(session.scalar(statement) or 0)


async def create(*, session: Session, admin: StaffMember, body: StaffCreate) -> StaffPublic:
    async with audited(session, admin, f"add_staff:{body.staff_id}"):
        member = await asyncio.to_thread(
            staff_service.create_staff,
            session,
            staff_id=body.staff_id,
            display_name=body.display_name,
            role=body.role,
            teams=body.teams,
            language=body.language,
            email=body.email,
            oidc_subject=body.sign_in_subject,
        )
        created = staff_public(member, sorted(set(body.teams)))
    return created


def staff_public(member: Staff, teams: list[str]) -> StaffPublic:
    return StaffPublic(
        staff_id=member.staff_id,
        display_name=member.display_name,
        role=member.role,
        teams=teams,
        language=member.language,
        active=member.active,
        sign_in_linked=member.oidc_subject is not None,
        email=member.email,
        work_phone=member.work_phone,
        contact_hours=member.contact_hours,
    )


async def update_contact(
    *,
    session: Session,
    actor: StaffMember,
    staff_id: str,
    contact: StaffContact,
    action: str,
    email_enabled: bool = False,
) -> StaffPublic:
    """A member's own contact details, or an administrator's correction of someone's (audited as `action`;
    the member and their coordinators are told of a correction: the e-mail is where notices go)."""
    async with audited(session, actor, action):
        member, teams = await asyncio.to_thread(
            staff_service.update_contact,
            session,
            staff_id=staff_id,
            changes={name: getattr(contact, name) for name in contact.model_fields_set},
        )
        if actor.staff_id != staff_id:
            await asyncio.to_thread(
                _tell_of_correction, session, member, changed_by=actor.staff_id, email_enabled=email_enabled
            )
        updated = staff_public(member, teams)
    return updated


def _tell_of_correction(session: Session, member: Staff, *, changed_by: str, email_enabled: bool) -> None:
    staff_service.tell_member_and_coordinators(
        session, member, NotificationKind.CONTACT_CORRECTED, changed_by=changed_by, email_enabled=email_enabled
    )
    session.commit()


async def link_identity(
    *, session: Session, admin: StaffMember, staff_id: str, subject: str, email_enabled: bool
) -> StaffIdentityLinked:
    """Link the identity a person signs in as to their staff account: checked by the administrator, once (a
    name claim alone never makes anyone staff). The audit names the member, never the subject; the member and
    their coordinators are told."""
    async with audited(session, admin, f"link_identity:{staff_id}"):
        await asyncio.to_thread(
            staff_service.link_identity,
            session,
            staff_id=staff_id,
            subject=subject,
            linked_by=admin.staff_id,
            email_enabled=email_enabled,
        )
    log.info("%s linked a sign-in identity to %s", admin.staff_id, staff_id)
    return StaffIdentityLinked(staff_id=staff_id, sign_in_linked=True)


async def unlink_identity(*, session: Session, admin: StaffMember, staff_id: str) -> StaffIdentityLinked:
    async with audited(session, admin, f"unlink_identity:{staff_id}"):
        await asyncio.to_thread(staff_service.unlink_identity, session, staff_id=staff_id)
    log.info("%s unlinked the sign-in identity of %s", admin.staff_id, staff_id)
    return StaffIdentityLinked(staff_id=staff_id, sign_in_linked=False)


async def revoke_tokens(*, session: Session, admin: StaffMember, staff_id: str) -> TokensRevoked:
    async with audited(session, admin, f"revoke_tokens:{staff_id}"):
        revoked = await asyncio.to_thread(staff_service.revoke_all_tokens, session, staff_id=staff_id)
    log.info("%s revoked %d token(s) of %s", admin.staff_id, revoked, staff_id)
    return TokensRevoked(staff_id=staff_id, tokens_revoked=revoked)


async def deactivate(*, session: Session, admin: StaffMember, staff_id: str) -> StaffDeactivated:
    async with audited(session, admin, f"deactivate_staff:{staff_id}"):
        if staff_id == admin.staff_id:
            # The last administrator could otherwise lock everyone out of staff administration.
            raise ConflictError("you cannot deactivate your own account; another administrator has to")
        revoked = await asyncio.to_thread(staff_service.deactivate_staff, session, staff_id=staff_id)
    log.info("%s deactivated %s (%d tokens revoked)", admin.staff_id, staff_id, revoked)
    open_pathways = await asyncio.to_thread(count_open_pathways_managed_by, session, staff_id)
    return StaffDeactivated(
        staff_id=staff_id, active=False, tokens_revoked=revoked, open_pathways_as_case_manager=open_pathways
    )
