"""Staff members and their tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from api import schemas
from api.deps import CurrentAdmin, CurrentStaff, SessionDep
from api.routes.responses import AUTHENTICATED
from api.services import staff as staff_service

router = APIRouter()


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
def create_staff(body: schemas.StaffCreate, session: SessionDep, _: CurrentAdmin) -> schemas.StaffCreated:
    member, token = staff_service.create_staff(
        session,
        staff_id=body.staff_id,
        display_name=body.display_name,
        role=body.role,
        teams=body.teams,
        language=body.language,
        email=body.email,
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
