"""Shutdown of `run_worker`: stop polling, let in-flight activities finish within the graceful time."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.store import InMemoryEffectStore, NotificationRecord
from core.settings import Settings
from models.pathway import PathwayState, TriageInput, TriageRoute
from tests.ops.helpers import DevServer
from tests.workflows.helpers import COORDINATOR, NURSE, eventually, intake, start
from worker import run_worker
from workflows.pathway import PathwayWorkflow

LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass
class GatedEffectStore(InMemoryEffectStore):
    """Holds every notification until the test releases it, so one is in flight at shutdown."""

    in_flight: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def add_notification(self, notification: NotificationRecord) -> bool:
        self.in_flight.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return await super().add_notification(notification)


@contextmanager
def shutdown_began() -> Iterator[asyncio.Event]:
    """Set when the SDK worker starts shutting down (it logs that before it stops polling)."""
    began = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Beginning worker shutdown"):
                began.set()

    sdk_logger = logging.getLogger("temporalio.worker._worker")
    handler, level = Watch(), sdk_logger.level
    sdk_logger.addHandler(handler)
    sdk_logger.setLevel(logging.INFO)
    try:
        yield began
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.setLevel(level)


async def completed_activity_types(handle: WorkflowHandle[PathwayWorkflow, PathwayState]) -> list[str]:
    """The activities whose completion reached the history: as local activity markers or activity events."""
    scheduled: dict[int, str] = {}
    completed = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER and not marker.HasField("failure"):
                completed.append(json.loads(marker.details["data"].payloads[0].data)["activity_type"])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed.append(scheduled[event.activity_task_completed_event_attributes.scheduled_event_id])
    return completed


async def start_worker_with_notification_in_flight(
    ops_dev_server: DevServer, ops_client: Client, graceful_seconds: float
) -> tuple[asyncio.Task[None], asyncio.Event, GatedEffectStore, WorkflowHandle[PathwayWorkflow, PathwayState]]:
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        temporal_address=ops_dev_server.address, task_queue=queue, graceful_shutdown_seconds=graceful_seconds
    )
    store, stop = GatedEffectStore(), asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, store=store, stop=stop))
    handle = await start(ops_client, queue, intake())
    await handle.execute_update(
        PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
    )
    await asyncio.wait_for(store.in_flight.wait(), timeout=30)
    return worker, stop, store, handle


async def test_shutdown_lets_the_in_flight_activity_finish_and_report_before_the_worker_exits(
    ops_dev_server: DevServer, ops_client: Client
) -> None:
    with shutdown_began() as began:
        worker, stop, store, handle = await start_worker_with_notification_in_flight(
            ops_dev_server, ops_client, graceful_seconds=120
        )
        stop.set()
        await asyncio.wait_for(began.wait(), timeout=30)
        assert not worker.done()

        store.release.set()
        await asyncio.wait_for(worker, timeout=60)

    assert not store.cancelled.is_set()
    assert [n.recipient for n in store.notifications_for(handle.id)] == [NURSE]
    assert "notify_case_manager" in await completed_activity_types(handle)


async def test_shutdown_cancels_an_activity_still_running_after_the_graceful_time_and_exits(
    ops_dev_server: DevServer, ops_client: Client
) -> None:
    worker, stop, store, handle = await start_worker_with_notification_in_flight(
        ops_dev_server, ops_client, graceful_seconds=0.5
    )
    stop.set()
    await asyncio.wait_for(worker, timeout=60)

    # Handed back: not completed here. The notification runs as a local activity inside the workflow task,
    # so Temporal gives that task, and with it the notification, to the next worker on the task queue.
    assert store.cancelled.is_set()
    assert store.notifications_for(handle.id) == []
    assert "notify_case_manager" not in await completed_activity_types(handle)

    # The next worker on the task queue delivers it.
    settings = Settings(temporal_address=ops_dev_server.address, task_queue=(await handle.describe()).task_queue)
    next_store, next_stop = InMemoryEffectStore(), asyncio.Event()
    next_worker = asyncio.create_task(run_worker(settings, store=next_store, stop=next_stop))
    try:

        async def delivered() -> bool:
            return "notify_case_manager" in await completed_activity_types(handle)

        await eventually(delivered, timeout=60, what="the handed-over notification's completion")
    finally:
        next_stop.set()
        await asyncio.wait_for(next_worker, timeout=60)
    assert [n.recipient for n in next_store.notifications_for(handle.id)] == [NURSE]
