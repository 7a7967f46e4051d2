"""Staff actions on a pathway: one workflow update each, as `workflows.actions` declares them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from temporalio.client import Client

from api.access import PathwayGrant
from api.errors import ConflictError
from api.services.partners import check_partner
from api.services.pathways import WORKER_ANSWER_SECONDS
from api.services.staff import check_case_manager, check_team_member
from api.services.temporal_errors import translated
from models.process import ActionAnswer
from workflows.actions import StaffAction
from workflows.client import act as workflow_act
from workflows.client import pathway_handle


def _names(action: StaffAction[Any], fields: BaseModel) -> Iterator[tuple[str, str, str]]:
    """Who the action's fields name, as (kind, field, id): the case manager or partner fields the action
    declares, and a meeting's participants. The one list both `check_named` and `names_anyone` read."""
    for name in action.names_case_manager:
        named = getattr(fields, name, None)
        if named is not None:
            yield "case_manager", name, named
    for name in action.names_partner:
        named = getattr(fields, name, None)
        if named is not None:
            yield "partner", name, named
    for index, participant in enumerate(getattr(fields, "participants", None) or []):
        if participant.staff_id is not None:
            yield "team_member", f"participants[{index}].staff_id", participant.staff_id
        if participant.partner_id is not None:
            yield "partner", f"participants[{index}].partner_id", participant.partner_id


def check_named(session: Session, action: StaffAction[Any], fields: BaseModel, *, team: str) -> None:
    """The staff members and partners an action names must be the team's own (the workflow cannot know)."""
    for kind, field, named in _names(action, fields):
        if kind == "case_manager":
            check_case_manager(session, staff_id=named, team=team, field=field)
        elif kind == "team_member":
            check_team_member(session, staff_id=named, team=team, field=field)
        else:
            check_partner(session, team=team, partner_id=named, field=field)


def names_anyone(action: StaffAction[Any], fields: BaseModel) -> bool:
    """Whether the action's fields name a staff member or a partner `check_named` must look up."""
    return next(_names(action, fields), None) is not None


async def act(
    *,
    client: Client,
    grant: PathwayGrant,
    action: StaffAction[Any],
    fields: BaseModel,
    idempotency_key: str | None,
) -> ActionAnswer:
    """Run one staff action as a workflow update; a repeated idempotency key applies it once.

    The answer comes once the action is decided and durably in the pathway's history; the pathway's worker
    then files it in the record (docs/architecture.md), and a read meanwhile shows it from the live process.
    A closed pathway is not checked for here: Temporal refuses the update ("already completed"), which
    `translated` answers as 409, so an open pathway costs no extra round trip.
    """
    row = grant.pathway
    # No connection is held while the worker decides (seconds under load): fifty staff would hold the pool. The
    # grant ended its read transaction (`waits_on_workflow`); the checks of the names an action gives take one
    # and end it again.
    if names_anyone(action, fields):
        await grant.run_then_release(lambda session: check_named(session, action, fields, team=row.team))
    # The update id makes Temporal apply a retried request once and answer it with the first result.
    update_id = idempotency_key or str(uuid.uuid4())
    try:
        async with translated(row.pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
            return await workflow_act(
                pathway_handle(client, row.pathway_id),
                action,
                actor=grant.staff.staff_id,
                fields=fields,
                update_id=update_id,
            )
    except ConflictError as err:
        if row.closed_at is None and "is closed" in err.detail:
            # The execution ended but the record says open: the process failed, or was stopped by hand.
            raise ConflictError(
                f"pathway {row.pathway_id} is not closed, but its process has stopped: nothing can be done on it "
                "until a coordinator has it recovered (docs/operations.md, 'A failed pathway')"
            ) from err
        raise
