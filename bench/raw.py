"""The raw-Temporal references: the least a workflow can do for the same job."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel


class TimerInput(BaseModel):
    fire_at: datetime


@activity.defn(name="raw_deliver")
async def raw_deliver(key: str) -> None:
    """Stands for a delivered reminder; the bench counts calls."""
    DELIVERED.add(key)


DELIVERED: set[str] = set()


@workflow.defn(name="RawNoopWorkflow")
class RawNoopWorkflow:
    """Parks until told to finish; an update just answers."""

    def __init__(self) -> None:
        self._done = False
        self._count = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._count

    @workflow.update
    def touch(self, note: str) -> int:
        self._count += 1
        return self._count

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@workflow.defn(name="RawTimerWorkflow")
class RawTimerWorkflow:
    """One timer, then one activity: the reference for a follow-up reminder."""

    @workflow.run
    async def run(self, timer: TimerInput) -> None:
        remaining = timer.fire_at - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining)
        await workflow.execute_activity(
            raw_deliver, workflow.info().workflow_id, start_to_close_timeout=timedelta(seconds=30)
        )
