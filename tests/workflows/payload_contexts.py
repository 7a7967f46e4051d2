"""A workflow whose payloads take every context a pathway's do (the workflow's own, an activity's, a local
activity's, a timer's summary), for tests/workflows/test_workflow_runner.py."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn
class PayloadContextsWorkflow:
    @workflow.run
    async def run(self, text: str) -> list[str]:
        remote = await workflow.execute_activity(echo, text, start_to_close_timeout=timedelta(seconds=30))
        local = await workflow.execute_local_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=30), summary="echo locally"
        )
        await workflow.sleep(timedelta(milliseconds=10), summary="a short pause")
        return [remote, local]
