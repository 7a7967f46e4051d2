"""The worker's fast runner, and why the saved histories are also replayed in the strict sandbox.

The worker's runner also enters the sandbox with code compiled once (`CompiledOnceSandbox`), through a hook
on the SDK's private sandbox instance: the first test here fails when an SDK upgrade takes the hook away.

`workflow_runner()` passes every module through, the workflow module included, so a machine-clock read
written in workflow code goes unnoticed while the workflow runs. The strict sandbox refuses it on replay:
this is the check that tests/workflows/test_replay.py applies to every saved pathway history.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client
from temporalio.worker import Replayer, Worker

from core import temporal
from core.temporal import data_converter, strict_workflow_runner, workflow_runner
from tests.workflows.clock_reading import ClockReadingWorkflow


async def test_the_worker_runner_enters_the_sandbox_with_code_compiled_once(client: Client) -> None:
    assert temporal._sandbox_instance_class() is not None, "this temporalio has no `_Instance._run_code` to hook"
    queue = f"runner-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ClockReadingWorkflow], workflow_runner=workflow_runner()):

        async def run_one() -> None:
            handle = await client.start_workflow(ClockReadingWorkflow.run, id=f"clock-{uuid.uuid4()}", task_queue=queue)
            assert await handle.result()

        await run_one()
        warm = temporal._compiled.cache_info()
        await run_one()
        after = temporal._compiled.cache_info()
    # The second workflow was built, activated and its payloads given their context through the sandbox, all
    # with code compiled for the first: nothing compiled again.
    assert after.hits - warm.hits >= 3
    assert after.misses == warm.misses


async def test_strict_replay_refuses_a_clock_read_that_the_worker_runner_let_through(client: Client) -> None:
    queue = f"runner-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ClockReadingWorkflow], workflow_runner=workflow_runner()):
        handle = await client.start_workflow(ClockReadingWorkflow.run, id=f"clock-{uuid.uuid4()}", task_queue=queue)
        assert await handle.result()  # it ran: the worker's runner did not stop the clock read
    history = await handle.fetch_history()

    await Replayer(
        workflows=[ClockReadingWorkflow], data_converter=data_converter(), workflow_runner=workflow_runner()
    ).replay_workflow(history)
    strict = Replayer(
        workflows=[ClockReadingWorkflow], data_converter=data_converter(), workflow_runner=strict_workflow_runner()
    )
    with pytest.raises(RuntimeError, match=r"Cannot access datetime\.datetime\.now"):
        await strict.replay_workflow(history)
