"""An impossible action is refused by the workflow's validator with its reason, and never enters the history.

Every rule's refusal is pinned in milliseconds by test_rules.py; these prove the workflow applies them
before the history: the answer carries the reason, the history and the record are unchanged.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models import actions as a
from models.actions import StaffActor
from models.pathway import ServiceStatusChange, TriageRoute
from models.process import ActionAnswer
from tests.support.fixtures import Org
from tests.support.helpers import intake, service
from tests.support.pathways import DrivenPathway, start_driven
from worker import Effects


async def _update_events(pathway: DrivenPathway) -> int:
    history = await pathway.handle.fetch_history()
    kinds = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    }
    return sum(1 for event in history.events if event.event_type in kinds)


async def _refused(pathway: DrivenPathway, actor: str, fields: object, reason_part: str) -> None:
    before_history = await _update_events(pathway)
    before = await pathway.settled()
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await pathway.do(actor, fields)  # type: ignore[arg-type]
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidPathwayAction"
    assert reason_part in cause.message, cause.message
    assert await _update_events(pathway) == before_history
    assert await pathway.process() == before


async def test_refused_actions_answer_their_reason_and_change_nothing(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    nurse, coordinator = org.nurse.staff_id, org.coordinator.staff_id
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=nurse
    )
    await _refused(pathway, nurse, a.SetGoal(text="x"), "needs a case manager; triage the pathway first")
    await _refused(
        pathway, nurse, a.CompleteAssessment(summary="s", recommendation="r"), "not possible at stage awaiting_triage"
    )
    await pathway.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.CompleteAssessment(summary="s", recommendation="r"))
    answer = await pathway.do(nurse, a.SetPlan(services=[service()]))
    await _refused(
        pathway,
        nurse,
        a.UpdateService(service_id=answer.created_ids[0], change=ServiceStatusChange.COMPLETED),
        "a planned service cannot be marked completed",
    )
    record_before = await pathway.record()
    assert (await pathway.record()) == record_before


async def test_an_unknown_action_or_malformed_fields_are_refused_before_the_history(
    client: Client, task_queue: str, sqlite_engine: Engine, org: Org, worker: Effects
) -> None:
    pathway = await start_driven(
        client, task_queue, sqlite_engine, worker.sealer, intake(org.team), registered_by=org.nurse.staff_id
    )
    await pathway.settled()
    before = await _update_events(pathway)
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await pathway.handle.execute_update(
            "hand_out_cash",
            args=[StaffActor(actor=org.nurse.staff_id), a.Close(reason="other", note="x")],
            result_type=ActionAnswer,
        )
    assert "is not an action of a pathway" in str(unknown.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as malformed:
        await pathway.handle.execute_update(
            "triage", args=[StaffActor(actor=org.nurse.staff_id), {"route": "teleport"}], result_type=ActionAnswer
        )
    assert "the action's fields are not valid" in str(malformed.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as one_arg:
        await pathway.handle.execute_update(
            "close", args=[StaffActor(actor=org.nurse.staff_id)], result_type=ActionAnswer
        )
    assert "takes two arguments" in str(one_arg.value.cause)
    assert await _update_events(pathway) == before
