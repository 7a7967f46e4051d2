"""Administrators' actions on staff accounts: another token, and deactivation when someone leaves.

Each is audited under the administrator's id, without a pathway. Deactivation changes only the staff
tables: the member's open pathways are handed over by their teams' coordinators, whom the worker now
sends those pathways' reminders (activities/pathway_activities.py); the answer says how many there are.
"""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api.errors import ConflictError
from api.schemas import StaffDeactivated, TokenIssued
from api.services import staff as staff_service
from api.services.pathways import audited, count_open_pathways_managed_by
from api.services.staff import StaffMember

log = logging.getLogger("pathways.api")

# Deactivation stands whether or not Temporal answers; the count of pathways to hand over is extra.
COUNT_TIMEOUT_SECONDS = 10.0


async def issue_token(*, session: Session, admin: StaffMember, staff_id: str, revoke_existing: bool) -> TokenIssued:
    async with audited(session, admin, None, f"issue_token:{staff_id}"):
        issued = await asyncio.to_thread(
            staff_service.issue_token, session, staff_id=staff_id, revoke_existing=revoke_existing
        )
    log.info("%s issued a token for %s (%d revoked)", admin.staff_id, staff_id, issued.revoked)
    return TokenIssued(staff_id=staff_id, token=issued.token, tokens_revoked=issued.revoked)


async def deactivate(*, client: Client, session: Session, admin: StaffMember, staff_id: str) -> StaffDeactivated:
    async with audited(session, admin, None, f"deactivate_staff:{staff_id}"):
        if staff_id == admin.staff_id:
            # The last administrator could otherwise lock everyone out of staff administration.
            raise ConflictError("you cannot deactivate your own account; another administrator has to")
        revoked = await asyncio.to_thread(staff_service.deactivate_staff, session, staff_id=staff_id)
    log.info("%s deactivated %s (%d tokens revoked)", admin.staff_id, staff_id, revoked)
    open_pathways: int | None
    try:
        async with asyncio.timeout(COUNT_TIMEOUT_SECONDS):
            open_pathways = await count_open_pathways_managed_by(client, staff_id)
    except (RPCError, TimeoutError) as err:
        log.warning("could not count the open pathways of %s: %s", staff_id, err)
        open_pathways = None
    return StaffDeactivated(
        staff_id=staff_id, active=False, tokens_revoked=revoked, open_pathways_as_case_manager=open_pathways
    )
