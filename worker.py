"""The worker operations run: hosts the pathway workflow and its activities on one task queue.

Several workers on the same task queue share the load. SIGINT/SIGTERM shut it down gracefully:
it stops polling, lets in-flight activities finish within the graceful timeout, then exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.delivery import Delivery
from activities.pathway_activities import PathwayActivities
from activities.sql_store import SqlEffectStore
from activities.store import EffectStore
from core.db import OutdatedSchemaError, build_engine, check_schema_current
from core.settings import Settings, get_settings
from core.temporal import connect
from workflows.pathway import PathwayWorkflow

log = logging.getLogger("pathways.worker")

WORKFLOWS: Sequence[type] = (PathwayWorkflow,)


def build_worker(client: Client, settings: Settings, store: EffectStore) -> Worker:
    activities = PathwayActivities(store)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities.all(),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
    )


def build_effect_store(settings: Settings) -> EffectStore:
    """The database-backed store with real delivery; refuses an outdated schema (`OutdatedSchemaError`)."""
    engine = build_engine(settings.effective_database_url)
    check_schema_current(engine)
    return SqlEffectStore(engine, Delivery.from_settings(settings))


async def run_worker(settings: Settings, store: EffectStore | None = None, stop: asyncio.Event | None = None) -> None:
    # The schema check comes before anything connects, so an outdated database stops the start at once.
    if store is None:
        store = build_effect_store(settings)
    client = await connect(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(client, settings, store)
    log.info("Worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
        log.info("Shutting down: finishing in-flight activities")
    log.info("Worker stopped")


def main(argv: Any = None) -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run_worker(settings))
    except OutdatedSchemaError as err:
        raise SystemExit(f"worker not started: {err}") from None


if __name__ == "__main__":
    main()
