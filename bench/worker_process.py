"""A worker in its own process, as operations run it: `python -m bench.worker_process [pathway|raw]`.

`pathway` is the product's worker exactly as `python -m ops.cli worker` runs it (database effect store,
graceful shutdown), configured by the PATHWAYS_* environment. `raw` hosts the raw references of
`bench.raw` on the same settings, so both sides of every figure pay for a separate worker process.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.worker import Worker

from bench.raw import RawNoopWorkflow, RawTimerWorkflow, raw_deliver
from core.settings import get_settings
from core.temporal import connect


async def run_raw_worker() -> None:
    settings = get_settings()
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[RawNoopWorkflow, RawTimerWorkflow],
        activities=[raw_deliver],
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
    ):
        await stop.wait()


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "pathway"
    if mode == "raw":
        asyncio.run(run_raw_worker())
        return
    if mode != "pathway":
        raise SystemExit(f"unknown worker mode {mode!r}: pathway or raw")
    from ops.cli import app

    app(["worker"])


if __name__ == "__main__":
    main(sys.argv[1:])
