"""A workflow that breaks the determinism rule on purpose (reads the machine clock), for
tests/workflows/test_workflow_runner.py. Its own module, because the strict sandbox reloads the workflow's module."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import workflow


@workflow.defn
class ClockReadingWorkflow:
    @workflow.run
    async def run(self) -> str:
        return datetime.now(UTC).isoformat()  # the mistake: workflow.now() is the deterministic clock
