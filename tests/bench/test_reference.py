"""The benchmark's raw reference does the same essential work as the product in the orders things arrive in."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from temporalio.client import Client
from temporalio.worker import Worker

from bench.reference import RawActivities, RawPathway, RawStart, metadata, reference_rows
from core.temporal import workflow_runner
from models.actions import Intake, RecordFollowUp
from models.pathway import PathwayPolicy
from models.process import PathwayStart


async def test_a_follow_up_sent_before_the_first_task_has_its_row_written(
    client: Client, task_queue: str, sqlite_engine: Engine
) -> None:
    """The update is in the first task with the start: its handler runs before `run` begins, and its row must
    still be written (state from the start is set in `workflow.init`, not in `run`)."""
    metadata.create_all(sqlite_engine)
    workflow_id = f"raw-{uuid.uuid4().hex[:12]}"
    intake = Intake(
        client_reference=f"client-{uuid.uuid4().hex[:8]}",
        team="team-ref",
        referral_source="self_referral",
        reason="Reference test",
        referred_at=datetime.now(UTC),
    )
    start = RawStart(
        pathway=PathwayStart(intake=intake, registered_by="nurse.ref", policy=PathwayPolicy()),
        record_start=False,
        first_reminder_at=datetime.now(UTC) + timedelta(days=30),
    )
    handle = await client.start_workflow(RawPathway.run, start, id=workflow_id, task_queue=task_queue)
    # No worker yet: the update waits in the server and is delivered with the start in the first task.
    contact = RecordFollowUp(channel="phone", note="Hi")
    update = asyncio.create_task(handle.execute_update(RawPathway.follow_up, contact))
    await asyncio.sleep(0.5)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[RawPathway],
        activities=RawActivities(sqlite_engine).all(),
        workflow_runner=workflow_runner(),
    ):
        answer = await asyncio.wait_for(update, timeout=30)
        assert answer.follow_ups == 1

        def rows() -> list[str]:
            with sqlite_engine.connect() as connection:
                statement = select(reference_rows.c.kind).where(reference_rows.c.workflow_id == workflow_id)
                return list(connection.scalars(statement))

        for _ in range(100):
            if await asyncio.to_thread(rows):
                break
            await asyncio.sleep(0.1)
        assert await asyncio.to_thread(rows) == ["follow_up"]
        await handle.signal(RawPathway.finish)
        assert await handle.result() == 1
