"""The worker operations run: hosts the pathway workflows and their activities on one task queue.

Several workers on the same task queue share the load. At start-up a worker makes sure the upkeep
schedules exist (record retention, outbox sweep). SIGINT/SIGTERM shut it down gracefully: it stops
polling, lets in-flight activities finish within the graceful timeout, then exits; outbox rows it had not
delivered yet stay for the sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.outbox import OutboxDispatcher
from activities.records import RecordActivities, RecordRetention
from core.crypto import RecordSealer
from core.db import OutdatedSchemaError, build_engine, check_schema_current
from core.health import HealthChecks, HealthServer
from core.logs import configure_logging
from core.process import exit_without_finalizing, freeze_startup_heap
from core.settings import MissingEncryptionKeys, Settings, get_settings
from core.telemetry import build_runtime, port_in_use
from core.temporal import connect, workflow_runner
from workflows.client import UpkeepIntervals, ensure_schedules
from workflows.pathway import PathwayWorkflow
from workflows.upkeep import OutboxSweepWorkflow, RecordRetentionWorkflow

log = logging.getLogger("pathways.worker")

WORKFLOWS: Sequence[type] = (PathwayWorkflow, RecordRetentionWorkflow, OutboxSweepWorkflow)


@dataclass
class Effects:
    """Where the worker's activities write: the database, sealed with the key ring, delivered by the outbox."""

    engine: Engine
    sealer: RecordSealer
    outbox: OutboxDispatcher
    retention: RecordRetention

    def activities(self) -> list[Callable[..., Any]]:
        return RecordActivities(self.engine, self.sealer, self.outbox, self.retention).all()


def build_worker(client: Client, settings: Settings, effects: Effects) -> Worker:
    settings.require_keys("the worker")
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        activities=effects.activities(),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
    )


def build_effects(settings: Settings, engine: Engine | None = None) -> Effects:
    """The database-backed effects with real delivery; refuses an outdated schema (`OutdatedSchemaError`)."""
    engine = engine or build_engine(settings.effective_database_url)
    check_schema_current(engine)
    sealer = RecordSealer.from_settings(settings)
    return Effects(
        engine=engine,
        sealer=sealer,
        outbox=OutboxDispatcher.from_settings(engine, settings, sealer),
        retention=RecordRetention(
            closed_records=settings.record_retention, demo_records=settings.demo_record_retention
        ),
    )


async def prepare_namespace(client: Client, settings: Settings) -> None:
    """The upkeep schedules (best effort: a worker that cannot create them now still serves; the next start
    does it)."""
    try:
        await ensure_schedules(
            client,
            settings.task_queue,
            UpkeepIntervals(
                record_retention=settings.record_retention_check, outbox_sweep=settings.outbox_sweep_interval
            ),
        )
    except RPCError as err:
        log.warning("Could not create or update the upkeep schedules: %s", err)


async def connect_with_retry(settings: Settings, runtime: Runtime, stop: asyncio.Event) -> Client | None:
    """Connect, retrying for `temporal_connect_timeout_seconds`: in compose or Kubernetes the worker often
    starts before the Temporal frontend answers. None if told to stop meanwhile; gives up with a readable
    message, not a traceback."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.temporal_connect_timeout_seconds
    while not stop.is_set():
        try:
            return await connect(settings, runtime=runtime)
        except RuntimeError as err:  # the SDK's "Failed client connect"
            if loop.time() >= deadline:
                raise SystemExit(
                    f"cannot reach Temporal at {settings.temporal_address} (namespace "
                    f"{settings.temporal_namespace!r}): {err}; check PATHWAYS_TEMPORAL_ADDRESS"
                ) from None
            log.warning("Temporal at %s not reachable yet, retrying", settings.temporal_address)
            # Waiting on `stop` rather than sleeping: SIGTERM during start-up ends the wait at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(2.0, max(0.0, deadline - loop.time())))
    return None


def health_checks(client: Client, settings: Settings, worker: Worker, stopping: asyncio.Event) -> HealthChecks:
    async def temporal_reachable() -> bool:
        try:
            timeout = timedelta(seconds=settings.health_check_timeout_seconds)
            return await client.service_client.check_health(timeout=timeout)
        except Exception:  # unreachable, timed out or refused: all mean "not healthy" here
            return False

    return HealthChecks(
        worker_running=lambda: worker.is_running and not stopping.is_set(),
        temporal_reachable=temporal_reachable,
    )


async def run_worker(settings: Settings, effects: Effects | None = None, stop: asyncio.Event | None = None) -> None:
    if settings.worker_health_port is not None and port_in_use(settings.ops_bind_host, settings.worker_health_port):
        # Checked before connecting, so a wrong port fails at once rather than after the connect retries.
        raise SystemExit(
            f"health port {settings.worker_health_port} on {settings.ops_bind_host} is already in use: "
            "stop what runs there or set PATHWAYS_WORKER_HEALTH_PORT"
        )
    # The keys and the schema are checked before anything connects, so either stops the start at once.
    settings.require_keys("the worker")
    if effects is None:
        effects = build_effects(settings)
    runtime = build_runtime(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    health: HealthServer | None = None
    try:
        client = await connect_with_retry(settings, runtime, stop)
        if client is None:
            log.info("Stopped before Temporal answered; nothing to drain")
            return
        worker = build_worker(client, settings, effects)
        await effects.outbox.start()
        if settings.worker_health_port is not None:
            health = HealthServer(
                health_checks(client, settings, worker, stop), settings.ops_bind_host, settings.worker_health_port
            )
            await health.start()
        log.info("Worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
        freeze_startup_heap()
        running = asyncio.create_task(worker.run())
        preparing = asyncio.create_task(prepare_namespace(client, settings))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            # A fatal worker error: exit non-zero so the supervisor restarts us.
            stopping.cancel()
            running.result()
            return
        log.info(
            "Shutting down: no new tasks; in-flight activities get %.0fs to finish", settings.graceful_shutdown_seconds
        )
        await worker.shutdown()
        await running
        preparing.cancel()
    finally:
        await effects.outbox.stop()
        for sig in signals:
            loop.remove_signal_handler(sig)
        if health is not None:
            await health.stop()
    log.info("Worker stopped")


def main(settings: Settings | None = None) -> NoReturn:
    """Run a worker until SIGTERM/SIGINT, then exit with a code a supervisor understands: 0 after a clean
    shutdown, 2 for an outdated database schema, 1 for a failure (restart me), 130 for Ctrl-C while starting."""
    settings = settings or get_settings()
    configure_logging(settings)
    code = 0
    try:
        asyncio.run(run_worker(settings))
    except OutdatedSchemaError as err:
        print(f"worker not started: {err}", file=sys.stderr)
        code = 2
    except MissingEncryptionKeys as err:
        print(err, file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        # Ctrl-C before the worker's own signal handlers are in place (while connecting): nothing to drain.
        code = 130
    except SystemExit as stop:
        # A readable reason (busy port, unreachable Temporal) instead of a traceback.
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
        code = stop.code if isinstance(stop.code, int) else 1
    except Exception:
        # One JSON line with the traceback; non-zero so a supervisor restarts us.
        log.exception("Worker failed")
        code = 1
    exit_without_finalizing(code)


if __name__ == "__main__":
    main()
