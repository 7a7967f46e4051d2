"""Administrators' actions on staff accounts: another token, and deactivation when someone leaves.

Each is audited under the administrator's id, without a pathway. Deactivation changes only the staff
tables: the member's open pathways are handed over by their teams' coordinators, whom the outbox now
sends those pathways' reminders (activities/outbox.py); the answer says how many there are.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from api.access import audited
from api.errors import ConflictError
from api.schemas import StaffDeactivated, TokenIssued
from api.services import staff as staff_service
from api.services.staff import StaffMember
from models.tables import PathwayRow

log = logging.getLogger("pathways.api")


def count_open_pathways_managed_by(session: Session, staff_id: str) -> int:
    """Open pathways, on any team, that name `staff_id` as their case manager."""
    statement = select(func.count()).where(
        col(PathwayRow.case_manager) == staff_id, col(PathwayRow.closed_at).is_(None)
    )
    return int(session.scalar(statement) or 0)


async def issue_token(
    *, session: Session, admin: StaffMember, staff_id: str, revoke_existing: bool, lifetime: timedelta
) -> TokenIssued:
    async with audited(session, admin, f"issue_token:{staff_id}"):
        issued = await asyncio.to_thread(
            staff_service.issue_token, session, staff_id=staff_id, revoke_existing=revoke_existing, lifetime=lifetime
        )
    log.info("%s issued a token for %s (%d revoked)", admin.staff_id, staff_id, issued.revoked)
    return TokenIssued(
        staff_id=staff_id, token=issued.token, tokens_revoked=issued.revoked, expires_at=issued.expires_at
    )


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
