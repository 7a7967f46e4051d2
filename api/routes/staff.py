"""Staff members and their tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status

from api import schemas
from api.deps import CurrentAdmin, CurrentStaff, SessionDep, SettingsDep
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
def list_staff(session: SessionDep, _: CurrentStaff) -> list[schemas.StaffPublic]:
    return [
        schemas.StaffPublic(
            staff_id=member.staff_id,
            display_name=member.display_name,
            role=member.role,
            teams=teams,
            language=member.language,
            active=member.active,
        )
        for member, teams in staff_service.list_staff(session)
    ]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**AUTHENTICATED, 409: {"model": schemas.ErrorBody, "description": "The staff id is taken."}},
    summary="Add a staff member (administrators); the token is shown once",
)
def create_staff(
    body: schemas.StaffCreate, session: SessionDep, settings: SettingsDep, _: CurrentAdmin
) -> schemas.StaffCreated:
    member, token = staff_service.create_staff(
        session,
        staff_id=body.staff_id,
        display_name=body.display_name,
        role=body.role,
        teams=body.teams,
        language=body.language,
        email=body.email,
        token_lifetime=timedelta(days=settings.api_token_days),
    )
    return schemas.StaffCreated(
        staff_id=member.staff_id,
        display_name=member.display_name,
        role=member.role,
        teams=sorted(set(body.teams)),
        language=member.language,
        active=member.active,
        token=token,
    )


@router.post(
    "/{staff_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    responses={
        **STAFF_MEMBER,
        409: {"model": schemas.ErrorBody, "description": "The member is deactivated and gets no tokens."},
    },
    summary="Issue another token for a staff member (administrators); the token is shown once",
)
async def issue_token(
    staff_id: StaffIdPath, body: schemas.TokenRequest, session: SessionDep, settings: SettingsDep, admin: CurrentAdmin
) -> schemas.TokenIssued:
    return await staff_admin.issue_token(
        session=session,
        admin=admin,
        staff_id=staff_id,
        revoke_existing=body.revoke_existing,
        lifetime=timedelta(days=settings.api_token_days),
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
