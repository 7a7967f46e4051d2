"""The system under test, as operations would run it on one machine: a fresh dev server, the API as a
uvicorn process, the product's worker and the raw reference worker as processes of their own, and a
migrated SQLite file with one work-ability team of 50 professionals.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, Executable
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment

from core.db import build_engine, migrate_to_head
from core.settings import Settings
from core.temporal import connect, data_converter, temporal_cli_path
from models.pathway import Language
from models.tables import StaffRole
from ops.admin import add_staff, add_team
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

TEAM = "bench-team"
BURST_TEAM = "bench-burst"
PROFESSIONALS = 50
PATHWAY_TASK_QUEUE = "bench-pathways"
RAW_TASK_QUEUE = "bench-raw"
# Both workers run with the product's default cache bound, the one figure 5 is about.
MAX_CACHED_WORKFLOWS = Settings.model_fields["max_cached_workflows"].default
READY_TIMEOUT = 120.0


def professional_id(index: int) -> str:
    return f"pro{index:02d}.bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ManagedProcess:
    """A child process of the benchmark, stopped with SIGTERM (then SIGKILL) when the run ends."""

    name: str
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 30.0) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.popen.returncode}; see {self.name}.log")


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client  # a plain client, as the API and any raw program would have
    address: str
    workdir: Path
    database_url: str
    engine: Engine
    api_url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def settings_env(self, task_queue: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PATHWAYS_TEMPORAL_ADDRESS=self.address,
            PATHWAYS_TASK_QUEUE=task_queue,
            PATHWAYS_MAX_CACHED_WORKFLOWS=str(MAX_CACHED_WORKFLOWS),
            PATHWAYS_DATABASE_URL=self.database_url,
            PATHWAYS_LOG_LEVEL="WARNING",
            PATHWAYS_VAR_DIR=str(self.workdir),
            PATHWAYS_SMTP_ENABLED="false",
        )
        return env

    def _spawn(self, name: str, args: list[str], task_queue: str) -> ManagedProcess:
        log = (self.workdir / f"{name}.log").open("ab")
        popen = subprocess.Popen(  # noqa: S603  (this interpreter, fixed arguments, no shell)
            [sys.executable, *args],
            env=self.settings_env(task_queue),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        process = ManagedProcess(name, popen)
        self.processes[name] = process
        return process

    async def start_worker(self, mode: str) -> ManagedProcess:
        """`pathway` (the product's worker) or `raw` (the reference), polling once this returns."""
        task_queue = PATHWAY_TASK_QUEUE if mode == "pathway" else RAW_TASK_QUEUE
        process = self._spawn(f"{mode}-worker", ["-m", "bench.worker_process", mode], task_queue)
        await self._wait_for_poller(task_queue, process)
        return process

    async def _wait_for_poller(self, task_queue: str, process: ManagedProcess) -> None:
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            process.check_alive()
            response = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            if any(poller.identity.startswith(f"{process.pid}@") for poller in response.pollers):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{process.name} did not poll {task_queue} within {READY_TIMEOUT}s")

    async def restart_worker(self, mode: str) -> ManagedProcess:
        name = f"{mode}-worker"
        await asyncio.to_thread(self.processes[name].stop)
        return await self.start_worker(mode)

    async def start_api(self) -> None:
        port = free_port()
        process = self._spawn(
            "api",
            [
                *("-m", "uvicorn", "api.app:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--log-level", "warning", "--no-access-log"),
            ],
            PATHWAY_TASK_QUEUE,
        )
        self.api_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(base_url=self.api_url) as http:
            while time.monotonic() < deadline:
                process.check_alive()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"the API did not answer /readyz within {READY_TIMEOUT}s")

    def scalar(self, statement: Executable) -> int:
        with Session(self.engine) as session:
            value = session.execute(statement).scalar_one()
            return int(value)


def seed_organisation(engine: Engine) -> dict[str, str]:
    """One team with a coordinator and 50 professionals (and the burst team): their bearer tokens."""
    add_team(engine, team_id=TEAM, name="Benchmark work-ability team")
    add_team(engine, team_id=BURST_TEAM, name="Benchmark team with a Monday-morning burst")
    tokens = {
        "coordinator.bench": add_staff(
            engine,
            staff_id="coordinator.bench",
            display_name="Bench Coordinator",
            role=StaffRole.COORDINATOR,
            teams=[TEAM, BURST_TEAM],
            language=Language.FI,
            email=None,
        )
    }
    for index in range(PROFESSIONALS):
        staff_id = professional_id(index)
        tokens[staff_id] = add_staff(
            engine,
            staff_id=staff_id,
            display_name=f"Professional {index}",
            role=StaffRole.PROFESSIONAL,
            teams=[TEAM, BURST_TEAM],
            language=Language.FI,
            email=None,
        )
    return tokens


@asynccontextmanager
async def running_stack(workdir: Path) -> AsyncIterator[Stack]:
    """Everything started fresh in `workdir`, and stopped again however the run ends."""
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (once, before anything runs)
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    migrate_to_head(database_url)
    engine = build_engine(database_url)
    tokens = seed_organisation(engine)
    async with AsyncExitStack() as exit_stack:
        env = await WorkflowEnvironment.start_time_skipping_v2(
            # Off by default: everything runs in real time except what `fast_forward` is asked for.
            ts_config=TimeSkippingConfig(enabled=False),
            data_converter=data_converter(),
            search_attributes=ALL_SEARCH_ATTRIBUTES,
            dev_server_existing_path=str(temporal_cli_path()),
            dev_server_log_level="error",
            dev_server_extra_args=[
                *("--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"),
                # The dev server's default rate limits would measure themselves, not the product.
                *("--dynamic-config-value", "frontend.rps=100000"),
                *("--dynamic-config-value", "frontend.namespaceRPS=100000"),
                *("--dynamic-config-value", "frontend.namespaceRPS.visibility=100000"),
            ],
        )
        exit_stack.push_async_callback(env.shutdown)
        address = env.client.service_client.config.target_host
        client = await connect(Settings(temporal_address=address))
        stack = Stack(
            env=env, client=client, address=address, workdir=workdir, database_url=database_url, engine=engine
        )
        stack.tokens = tokens

        def stop_processes() -> None:
            for process in reversed(list(stack.processes.values())):
                process.stop()

        exit_stack.callback(stop_processes)
        exit_stack.callback(engine.dispose)
        await stack.start_worker("pathway")
        await stack.start_worker("raw")
        await stack.start_api()
        yield stack
