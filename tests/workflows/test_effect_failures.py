"""Notifications that fail: a channel that stays down is handed to a retrying activity, a recipient that can
never be reached is given up on, and in neither case does the client's pathway stop."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError

from activities.store import UNKNOWN_RECIPIENT, InMemoryEffectStore, NotificationRecord
from models.pathway import NotificationKind, PathwayState, SetGoalInput, Stage, TriageInput, TriageRoute
from workflows.pathway import LOCAL_EFFECT_RETRY_POLICY, PathwayWorkflow

from .helpers import COORDINATOR, NURSE, TEAM, eventually, intake, running_worker, start


@dataclass
class FailingNotificationStore(InMemoryEffectStore):
    """Fails the case manager's notifications with `error` the first `failures` times."""

    failures: int = 0
    error_type: str = "TransientDelivery"
    attempts: int = 0

    async def add_notification(self, notification: NotificationRecord) -> bool:
        if notification.kind is NotificationKind.ASSIGNED_CASE_MANAGER:
            self.attempts += 1
            if self.attempts <= self.failures:
                non_retryable = self.error_type == UNKNOWN_RECIPIENT
                raise ApplicationError("channel refused", type=self.error_type, non_retryable=non_retryable)
        return await super().add_notification(notification)


async def history_event_types(handle: WorkflowHandle[PathwayWorkflow, PathwayState]) -> list[str]:
    names = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names.append(f"activity:{event.activity_task_scheduled_event_attributes.activity_type.name}")
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            names.append(f"marker:{event.marker_recorded_event_attributes.marker_name}")
    return names


async def triage_with_case_manager(handle: WorkflowHandle[PathwayWorkflow, PathwayState]) -> None:
    await handle.execute_update(
        PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
    )


async def test_a_notification_runs_as_a_local_activity_without_an_activity_task(
    client: Client, task_queue: str
) -> None:
    async with running_worker(client, task_queue) as store:
        handle = await start(client, task_queue, intake())
        await triage_with_case_manager(handle)
        await eventually(lambda: [n.recipient for n in store.notifications_for(handle.id)] == [COORDINATOR, NURSE])

    events = await history_event_types(handle)
    assert not [name for name in events if name.startswith("activity:")]
    assert "marker:core_local_activity" in events


async def test_a_channel_that_stays_down_is_handed_to_an_activity_that_delivers_once_it_is_back(
    client: Client, task_queue: str
) -> None:
    # Every local attempt fails and so does the activity's first; its second gets through.
    local_attempts = LOCAL_EFFECT_RETRY_POLICY.maximum_attempts
    store = FailingNotificationStore(coordinators={TEAM: [COORDINATOR]}, failures=local_attempts + 1)
    async with running_worker(client, task_queue, store):
        handle = await start(client, task_queue, intake())
        await triage_with_case_manager(handle)
        await eventually(
            lambda: NURSE in [n.recipient for n in store.notifications_for(handle.id)],
            timeout=60,
            what="the case manager's notification after the channel came back",
        )
        assert store.attempts == local_attempts + 2
        assert "activity:notify_case_manager" in await history_event_types(handle)
        state = await handle.query(PathwayWorkflow.get_state)
        assert state.stage is Stage.ASSESSMENT
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_a_recipient_that_can_never_be_reached_is_given_up_on_and_the_pathway_goes_on(
    client: Client, task_queue: str
) -> None:
    store = FailingNotificationStore(coordinators={TEAM: [COORDINATOR]}, failures=1_000, error_type=UNKNOWN_RECIPIENT)
    async with running_worker(client, task_queue, store):
        handle = await start(client, task_queue, intake())
        await triage_with_case_manager(handle)
        await eventually(lambda: store.attempts == 1, what="the one attempt at the unknown recipient")

        # The pathway takes the next action as usual: nothing waits on the failed notification.
        view = await handle.execute_update(
            PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Haluan opiskella lähihoitajaksi")
        )
        assert [goal.text for goal in view.goals] == ["Haluan opiskella lähihoitajaksi"]
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

    # Not retried, not handed over: a retry cannot make the recipient known.
    assert store.attempts == 1
    assert "activity:notify_case_manager" not in await history_event_types(handle)
    assert NURSE not in [n.recipient for n in store.notifications_for(handle.id)]
