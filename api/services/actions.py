"""Staff actions on a pathway: one workflow update each, as `workflows.actions` declares them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from temporalio.client import Client

from api.access import PathwayGrant
from api.services.partners import check_partner
from api.services.pathways import WORKER_ANSWER_SECONDS, RecordMovingError
from api.services.staff import check_case_manager, check_team_member
from api.services.temporal_errors import translated
from models.process import ActionAnswer
from models.tables import ProcessVersion
from records.filing import RecordFiler
from workflows.actions import StaffAction
from workflows.client import act_and_hand_over, pathway_handle, request_record_move


def check_named(session: Session, action: StaffAction[Any], fields: BaseModel, *, team: str) -> None:
    """The staff members and partners an action names must be the team's own (the workflow cannot know)."""
    for name in action.names_case_manager:
        named = getattr(fields, name, None)
        if named is not None:
            check_case_manager(session, staff_id=named, team=team, field=name)
    for name in action.names_partner:
        named = getattr(fields, name, None)
        if named is not None:
            check_partner(session, team=team, partner_id=named, field=name)
    for index, participant in enumerate(getattr(fields, "participants", None) or []):
        if participant.staff_id is not None:
            check_team_member(
                session, staff_id=participant.staff_id, team=team, field=f"participants[{index}].staff_id"
            )
        if participant.partner_id is not None:
            check_partner(
                session, team=team, partner_id=participant.partner_id, field=f"participants[{index}].partner_id"
            )


async def act(
    *,
    client: Client,
    filer: RecordFiler,
    grant: PathwayGrant,
    action: StaffAction[Any],
    fields: BaseModel,
    idempotency_key: str | None,
) -> ActionAnswer:
    """Run one staff action as a workflow update; a repeated idempotency key applies it once.

    The update's answer hands back the action's decisions, which are filed here in the audit line's
    transaction (one commit for both): the record is current when staff get the answer, and the workflow
    needs no activity or second task for them. Should this process die before the commit, the next action
    on the pathway, or a retry with the same key, hands them over again; the pathway's next deadline or its
    closing files them itself.

    A closed pathway is not checked for here: Temporal refuses the update ("already completed"), which
    `translated` answers as 409, so an open pathway costs no extra round trip.
    """
    row = grant.pathway
    if row.process_version is ProcessVersion.V4:
        async with translated(row.pathway_id):
            await request_record_move(client, row.pathway_id)
        raise RecordMovingError(
            f"pathway {row.pathway_id} started on the previous version and is moving its record into the "
            "database now: repeat the action (with the same Idempotency-Key) in a few seconds"
        )
    await asyncio.to_thread(check_named, grant.session, action, fields, team=row.team)
    # No connection is held while the worker decides (seconds under load): fifty staff would hold the pool.
    await grant.release_connection()
    # The update id makes Temporal apply a retried request once and answer it with the first result.
    update_id = idempotency_key or str(uuid.uuid4())
    async with translated(row.pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
        outcome = await act_and_hand_over(
            pathway_handle(client, row.pathway_id),
            action,
            actor=grant.staff.staff_id,
            fields=fields,
            recorded_sequence=row.recorded_sequence,
            update_id=update_id,
        )
    record = outcome.record
    if record is not None:
        # Filed and committed with the audit line when the route returns; the workers send its e-mails and webhooks.
        grant.write_with_audit(lambda session: filer.file(session, record))
    return outcome.answer()
