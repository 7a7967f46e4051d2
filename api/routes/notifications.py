"""The signed-in staff member's inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api import schemas
from api.deps import CurrentPerson, SessionDep
from api.routes.responses import AUTHENTICATED, MAX_DATABASE_INTEGER
from api.services import notifications
from models.tables import Notification

router = APIRouter()


def _public(notification: Notification) -> schemas.NotificationPublic:
    assert notification.id is not None
    return schemas.NotificationPublic(
        id=notification.id,
        kind=notification.kind,
        pathway_id=notification.pathway_id,
        team=notification.team,
        subject=notification.subject,
        body=notification.body,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


@router.get("", responses=AUTHENTICATED, summary="Your inbox, newest first")
def inbox(
    staff: CurrentPerson,
    session: SessionDep,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_DATABASE_INTEGER)] = 0,
) -> list[schemas.NotificationPublic]:
    rows = notifications.inbox(session, staff_id=staff.staff_id, unread_only=unread_only, limit=limit, offset=offset)
    return [_public(row) for row in rows]


@router.post(
    "/{notification_id}/read",
    responses={**AUTHENTICATED, 404: {"model": schemas.ErrorBody, "description": "Not in your inbox."}},
    summary="Mark a notification read",
)
def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=MAX_DATABASE_INTEGER)], staff: CurrentPerson, session: SessionDep
) -> schemas.NotificationPublic:
    return _public(notifications.mark_read(session, staff_id=staff.staff_id, notification_id=notification_id))
