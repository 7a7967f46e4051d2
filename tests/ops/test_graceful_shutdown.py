"""Shutdown of `run_worker`: stop polling, let in-flight activities finish within the graceful time."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.records import RecordActivities
from core.db import build_engine
from core.settings import Settings
from models import actions as a
from models.effects import RecordBatch, RecordResult
from models.pathway import TriageRoute
from models.tables import Notification
from tests.ops.helpers import DevServer
from tests.support.helpers import COORDINATOR, NURSE, do, eventually, seed_fixed_team, start_fixed
from worker import Effects, build_effects, run_worker


@dataclass
class Gate:
    """Holds the recording of the triage until the test releases it, so it is in flight at shutdown."""

    in_flight: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class GatedRecordActivities(RecordActivities):
    gate: Gate

    @activity.defn(name="record_pathway_changes")
    async def record_pathway_changes(self, batch: RecordBatch) -> RecordResult:
        if any(event.kind.value == "triaged" for event in batch.events):
            self.gate.in_flight.set()
            try:
                await self.gate.release.wait()
            except asyncio.CancelledError:
                self.gate.cancelled.set()
                raise
        return await super().record_pathway_changes(batch)


@dataclass
class GatedEffects(Effects):
    gate: Gate = field(default_factory=Gate)

    def activities(self) -> list[Any]:
        activities = GatedRecordActivities(self.engine, self.sealer, self.outbox, self.retention)
        activities.gate = self.gate
        return [activities.record_pathway_changes, *super().activities()[1:]]


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


async def completed_activity_types(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The activities whose completion reached the history."""
    scheduled: dict[int, str] = {}
    completed = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed.append(scheduled[event.activity_task_completed_event_attributes.scheduled_event_id])
    return completed


def _effects(settings: Settings) -> GatedEffects:
    seed_fixed_team(settings.effective_database_url)
    plain = build_effects(settings, build_engine(settings.effective_database_url))
    return GatedEffects(engine=plain.engine, sealer=plain.sealer, outbox=plain.outbox, retention=plain.retention)


async def start_worker_with_a_recording_in_flight(
    ops_dev_server: DevServer, ops_client: Client, tmp_path: Path, graceful_seconds: float
) -> tuple[asyncio.Task[None], asyncio.Event, GatedEffects, WorkflowHandle[Any, Any]]:
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        temporal_address=ops_dev_server.address,
        task_queue=queue,
        graceful_shutdown_seconds=graceful_seconds,
        database_url=f"sqlite:///{tmp_path / 'pathways.db'}",
    )
    effects, stop = _effects(settings), asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, effects=effects, stop=stop))
    handle = await start_fixed(ops_client, queue)
    await do(handle, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE))
    await asyncio.wait_for(effects.gate.in_flight.wait(), timeout=30)
    return worker, stop, effects, handle


def _inbox_of(effects: Effects, pathway_id: str) -> list[str]:
    with Session(effects.engine) as session:
        rows = session.scalars(select(Notification).where(col(Notification.pathway_id) == pathway_id)).all()
        return [row.recipient for row in rows if row.kind == "assigned_case_manager"]


async def test_shutdown_lets_the_in_flight_activity_finish_and_report_before_the_worker_exits(
    ops_dev_server: DevServer, ops_client: Client, tmp_path: Path
) -> None:
    with shutdown_began() as began:
        worker, stop, effects, handle = await start_worker_with_a_recording_in_flight(
            ops_dev_server, ops_client, tmp_path, graceful_seconds=120
        )
        stop.set()
        await asyncio.wait_for(began.wait(), timeout=30)
        assert not worker.done()

        effects.gate.release.set()
        await asyncio.wait_for(worker, timeout=60)

    assert not effects.gate.cancelled.is_set()
    assert _inbox_of(effects, handle.id) == [NURSE]
    assert "record_pathway_changes" in await completed_activity_types(handle)


async def test_shutdown_cancels_an_activity_still_running_after_the_graceful_time_and_the_next_worker_does_it(
    ops_dev_server: DevServer, ops_client: Client, tmp_path: Path
) -> None:
    worker, stop, effects, handle = await start_worker_with_a_recording_in_flight(
        ops_dev_server, ops_client, tmp_path, graceful_seconds=0.5
    )
    stop.set()
    await asyncio.wait_for(worker, timeout=60)
    assert effects.gate.cancelled.is_set()
    assert _inbox_of(effects, handle.id) == []

    # The next worker on the task queue records it (the same database): nothing lost, nothing twice.
    settings = Settings(
        temporal_address=ops_dev_server.address,
        task_queue=(await handle.describe()).task_queue,
        database_url=f"sqlite:///{tmp_path / 'pathways.db'}",
    )
    next_stop = asyncio.Event()
    next_worker = asyncio.create_task(run_worker(settings, effects=build_effects(settings), stop=next_stop))
    try:
        await eventually(lambda: _inbox_of(effects, handle.id) == [NURSE], timeout=90, what="the assignment notice")
    finally:
        next_stop.set()
        await asyncio.wait_for(next_worker, timeout=60)
