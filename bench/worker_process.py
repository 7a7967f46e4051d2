"""A worker in its own process, as operations run it: `python -m bench.worker_process [pathway|raw]`.

`pathway` is the product's worker exactly as `python -m ops.cli worker` runs it, configured by the
PATHWAYS_* environment. `raw` hosts the reference of `bench.reference` on the same settings (cache bound,
concurrency, data converter, workflow runner), so both sides of every figure pay for a worker process.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.worker import Worker

from bench.reference import RawActivities, RawPathway
from core.db import build_engine
from core.process import exit_without_finalizing, freeze_startup_heap
from core.settings import get_settings
from core.temporal import connect, workflow_runner


async def run_raw_worker() -> None:
    settings = get_settings()
    client = await connect(settings)
    engine = build_engine(settings.effective_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[RawPathway],
        activities=RawActivities(engine).all(),
        workflow_runner=workflow_runner(),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
    ):
        freeze_startup_heap()  # as the product's worker does: the same option on both sides
        await stop.wait()
    engine.dispose()


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "pathway"
    if mode == "raw":
        asyncio.run(run_raw_worker())
        exit_without_finalizing(0)
    if mode != "pathway":
        raise SystemExit(f"unknown worker mode {mode!r}: pathway or raw")
    from worker import main as worker_main

    worker_main()


if __name__ == "__main__":
    main(sys.argv[1:])
