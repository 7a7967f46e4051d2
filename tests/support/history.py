"""Reading a pathway's history: which commands a workflow task completed with."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def commands_of_task_after_timer(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """The events the workflow task that handled the (only) fired timer completed with."""
    [fired] = [index for index, event in enumerate(events) if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    completed = next(
        index
        for index in range(fired, len(events))
        if events[index].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    commands: list[HistoryEvent] = []
    for event in events[completed + 1 :]:
        if event.event_type in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        ):
            break
        commands.append(event)
    return commands


def markers(events: Sequence[HistoryEvent], name: str) -> list[HistoryEvent]:
    return [
        event
        for event in events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == name
    ]


def kinds(events: Sequence[HistoryEvent]) -> list[str]:
    return [EventType.Name(event.event_type) for event in events]
