"""Staff members, and an administrator's way to stop a member's tokens.

An administrator adds people and deactivates them, and may revoke a member's tokens, but never makes one: a
person makes their own (`/me/tokens`), so "administrators read no pathways" holds, and nobody acts, or is
audited, as someone else. Service accounts and the first administrator are made on the command line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api import schemas
from api.deps import CurrentAdmin, CurrentPerson, SessionDep, SettingsDep
from api.routes.responses import AUTHENTICATED
from api.services import staff as staff_service
from api.services import staff_admin
from models.pathway import STAFF_ID_PATTERN

router = APIRouter()

StaffIdPath = Annotated[str, Path(pattern=STAFF_ID_PATTERN, description="The staff member's id, e.g. nurse.virtanen")]
STAFF_MEMBER: dict[int | str, dict[str, object]] = {
    **AUTHENTICATED,
    404: {"model": schemas.ErrorBody, "description": "No such staff member."},
}


@router.get("", responses=AUTHENTICATED, summary="Every staff member")
def list_staff(session: SessionDep, _: CurrentPerson) -> list[schemas.StaffPublic]:
    return [staff_admin.staff_public(member, teams) for member, teams in staff_service.list_staff(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**AUTHENTICATED, 409: {"model": schemas.ErrorBody, "description": "The staff id is taken."}},
    summary="Add a staff member (administrators); they sign in, and make their own API tokens",
)
async def create_staff(body: schemas.StaffCreate, session: SessionDep, admin: CurrentAdmin) -> schemas.StaffPublic:
    return await staff_admin.create(session=session, admin=admin, body=body)


@router.post(
    "/{staff_id}/tokens/revoke",
    responses=STAFF_MEMBER,
    summary="Revoke every API token of a staff member (administrators): a leaked token stops working",
)
async def revoke_tokens(staff_id: StaffIdPath, session: SessionDep, admin: CurrentAdmin) -> schemas.TokensRevoked:
    return await staff_admin.revoke_tokens(session=session, admin=admin, staff_id=staff_id)


@router.put(
    "/{staff_id}/identity",
    responses={
        **STAFF_MEMBER,
        409: {"model": schemas.ErrorBody, "description": "The identity is linked to another staff member."},
    },
    summary="Link the identity provider's account a member signs in as (administrators)",
    description="A sign-in that no staff member is linked to is refused with its subject (`sub`); the person gives "
    "it to an administrator, who links it here once. Relinking ends the sessions of the old identity.",
)
async def link_identity(
    staff_id: StaffIdPath,
    body: schemas.StaffIdentity,
    session: SessionDep,
    admin: CurrentAdmin,
    settings: SettingsDep,
) -> schemas.StaffIdentityLinked:
    return await staff_admin.link_identity(
        session=session, admin=admin, staff_id=staff_id, subject=body.subject, email_enabled=settings.smtp_enabled
    )


@router.delete(
    "/{staff_id}/identity",
    responses=STAFF_MEMBER,
    summary="Unlink a member's sign-in identity (administrators): their browser sessions end at once",
)
async def unlink_identity(
    staff_id: StaffIdPath, session: SessionDep, admin: CurrentAdmin
) -> schemas.StaffIdentityLinked:
    return await staff_admin.unlink_identity(session=session, admin=admin, staff_id=staff_id)


@router.put(
    "/{staff_id}/contact",
    responses=STAFF_MEMBER,
    summary="Correct a member's contact details (administrators): work e-mail, work phone, when to call",
)
async def correct_contact(
    staff_id: StaffIdPath, body: schemas.StaffContact, session: SessionDep, admin: CurrentAdmin, settings: SettingsDep
) -> schemas.StaffPublic:
    """Only the fields given change. The member and their teams' coordinators are told."""
    return await staff_admin.update_contact(
        session=session,
        actor=admin,
        staff_id=staff_id,
        contact=body,
        action=f"correct_staff_contact:{staff_id}",
        email_enabled=settings.smtp_enabled,
    )


@router.post(
    "/{staff_id}/deactivate",
    responses={
        **STAFF_MEMBER,
        409: {"model": schemas.ErrorBody, "description": "An administrator cannot deactivate their own account."},
    },
    summary="Deactivate a staff member who leaves (administrators): their tokens stop working",
)
async def deactivate_staff(staff_id: StaffIdPath, session: SessionDep, admin: CurrentAdmin) -> schemas.StaffDeactivated:
    return await staff_admin.deactivate(session=session, admin=admin, staff_id=staff_id)
