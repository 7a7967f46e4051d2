"""A pathway that lives for years continues as new before its history grows large, losing nothing."""

from __future__ import annotations

from temporalio.client import Client

from models.pathway import (
    ContactChannel,
    PathwayPolicy,
    RecordFollowUpInput,
    SetGoalInput,
    Stage,
    TriageInput,
    TriageRoute,
)
from workflows.pathway import PathwayWorkflow

from .helpers import COORDINATOR, NURSE, eventually, intake, running_worker, start


async def test_continue_as_new_keeps_the_whole_state_and_the_read_model_exact(client: Client, task_queue: str) -> None:
    policy = PathwayPolicy(continue_as_new_after_events=50)
    async with running_worker(client, task_queue) as store:
        handle = await start(client, task_queue, intake(), policy)
        first_run = (await handle.describe()).run_id
        await handle.execute_update(
            PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
        )
        await handle.execute_update(PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Own goal"))
        for number in range(25):
            await handle.execute_update(
                PathwayWorkflow.record_follow_up,
                RecordFollowUpInput(actor=NURSE, channel=ContactChannel.PHONE, note=f"Call {number}"),
            )

        async def settled_after_continue_as_new() -> bool:
            state = await handle.query(PathwayWorkflow.get_state)
            return state.runs > 1 and state.recorded_event_sequence == state.last_event_sequence

        await eventually(settled_after_continue_as_new, what="continued as new and settled")
        state = await handle.query(PathwayWorkflow.get_state)
        assert (await handle.describe()).run_id != first_run
        assert state.stage is Stage.ASSESSMENT
        assert state.case_manager == NURSE
        assert [goal.text for goal in state.goals] == ["Own goal"]
        assert [f.note for f in state.follow_ups] == [f"Call {n}" for n in range(25)]
        assert [event.sequence for event in state.events] == list(range(1, state.last_event_sequence + 1))
        # Every event reached the read model exactly once across the runs.
        recorded = sorted(seq for (pathway_id, seq) in store.events if pathway_id == handle.id)
        assert recorded == list(range(1, state.last_event_sequence + 1))
        # The new run still takes actions.
        view = await handle.execute_update(
            PathwayWorkflow.record_follow_up,
            RecordFollowUpInput(actor=NURSE, channel=ContactChannel.IN_PERSON, note="After"),
        )
        assert len(view.follow_ups) == 26
        # Each run stays small.
        async for execution in client.list_workflows(f'WorkflowId = "{handle.id}"'):
            history = await client.get_workflow_handle(handle.id, run_id=execution.run_id).fetch_history()
            assert len(history.events) < 50 + 20
