"""The systems under test, as operations would run them on one machine.

One Temporal dev server (its log kept, so payload and history warnings can be counted), and per database a
*deployment* of both sides: the product's API (uvicorn, Server-Timing on) and worker, and the reference's
bare API and worker, each a process of its own on its own task queue. Payloads are encrypted on both sides
with the same key ring, as in production. The database holds one work-ability team of 50 professionals.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
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
import psycopg
from sqlalchemy import Engine, Executable, make_url
from sqlalchemy.orm import Session
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import TimeSkipper, TimeSkippingConfig

from bench.reference import metadata as reference_metadata
from core.crypto import RecordSealer
from core.db import build_engine, migrate_to_head
from core.settings import Settings
from core.temporal import connect, temporal_cli_path
from models.pathway import Language
from models.tables import StaffRole
from ops.admin import add_staff, add_team
from ops.dev_server import dynamic_config_args, search_attribute_args

TEAM = "bench-team"
PROFESSIONALS = 50
COORDINATOR = "coordinator.bench"
# Both workers run with the product's default cache bound.
MAX_CACHED_WORKFLOWS = Settings.model_fields["max_cached_workflows"].default
READY_TIMEOUT = 180.0
KEY_ID = "bench1"


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

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.popen.returncode}; see its log in the workdir")


def postgres_database(url: str) -> str:
    """Create the bench's own PostgreSQL database afresh (never the tests' `test` database)."""
    parsed = make_url(url)
    name = parsed.database
    assert name and name.startswith("pathways_bench"), "the bench drops and recreates its database"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


@dataclass
class Deployment:
    """Both sides on one database: the product's API and worker, the reference's API and worker."""

    stack: Stack
    name: str  # "sqlite" or "postgresql"
    database_url: str
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    api_url: str = ""
    reference_url: str = ""
    workers: list[ManagedProcess] = field(default_factory=list)

    @property
    def pathway_queue(self) -> str:
        return f"bench-pathways-{self.name}"

    @property
    def raw_queue(self) -> str:
        return f"bench-raw-{self.name}"

    def env(self, task_queue: str, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PATHWAYS_TEMPORAL_ADDRESS=self.stack.address,
            PATHWAYS_TASK_QUEUE=task_queue,
            PATHWAYS_MAX_CACHED_WORKFLOWS=str(MAX_CACHED_WORKFLOWS),
            PATHWAYS_DATABASE_URL=self.database_url,
            PATHWAYS_LOG_LEVEL="WARNING",
            PATHWAYS_VAR_DIR=str(self.stack.workdir),
            PATHWAYS_SMTP_ENABLED="false",
            PATHWAYS_ENCRYPTION_KEYS=self.stack.encryption_keys,
            PATHWAYS_ENCRYPTION_ACTIVE_KEY=KEY_ID,
            **extra,
        )
        return env

    def scalar(self, statement: Executable) -> int:
        with Session(self.engine) as session:
            return int(session.execute(statement).scalar_one())

    @property
    def settings(self) -> Settings:
        return Settings(
            temporal_address=self.stack.address,
            task_queue=self.pathway_queue,
            database_url=self.database_url,
            var_dir=self.stack.workdir,
            encryption_keys=self.stack.encryption_keys,
            encryption_active_key=KEY_ID,
        )

    @property
    def sealer(self) -> RecordSealer:
        return RecordSealer.from_settings(self.settings)

    def processes(self, *names: str) -> dict[str, int]:
        return {name: self.stack.processes[f"{self.name}-{name}"].pid for name in names} | {
            "server": self.stack.processes["dev-server"].pid
        }

    async def start_worker(self, mode: str, index: int = 0) -> ManagedProcess:
        """`pathway` (the product's worker) or `raw` (the reference), polling once this returns."""
        queue = self.pathway_queue if mode == "pathway" else self.raw_queue
        name = f"{self.name}-{mode}-worker" + (f"-{index}" if index else "")
        process = self.stack.spawn(name, ["-m", "bench.worker_process", mode], self.env(queue))
        await self.stack.wait_for_poller(queue, process)
        if mode == "pathway":
            self.workers.append(process)
        return process

    async def restart_worker(self, mode: str, *, kill: bool = False) -> ManagedProcess:
        process = self.stack.processes[f"{self.name}-{mode}-worker"]
        await asyncio.to_thread(process.kill if kill else process.stop)
        if process in self.workers:
            self.workers.remove(process)
        return await self.start_worker(mode)

    async def start_apis(self) -> None:
        self.api_url = await self._start_api(
            "api", "web.app:create_app", self.env(self.pathway_queue, PATHWAYS_SERVER_TIMING="true")
        )
        self.reference_url = await self._start_api(
            "reference-api", "bench.reference_api:create_app", self.env(self.raw_queue)
        )

    async def _start_api(self, name: str, factory: str, env: dict[str, str]) -> str:
        port = free_port()
        process = self.stack.spawn(
            f"{self.name}-{name}",
            [
                *("-m", "uvicorn", factory, "--factory"),
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--log-level", "warning", "--no-access-log"),
            ],
            env,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(base_url=url) as http:
            while time.monotonic() < deadline:
                process.check_alive()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{name} did not answer /readyz within {READY_TIMEOUT}s")


def seed_organisation(engine: Engine) -> dict[str, str]:
    """One team with a coordinator and 50 professionals: their bearer tokens."""
    add_team(engine, team_id=TEAM, name="Benchmark work-ability team")
    tokens = {
        COORDINATOR: add_staff(
            engine,
            staff_id=COORDINATOR,
            display_name="Bench Coordinator",
            role=StaffRole.COORDINATOR,
            teams=[TEAM],
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
            teams=[TEAM],
            language=Language.FI,
            email=None,
        )
    return tokens


@dataclass
class Stack:
    workdir: Path
    address: str = ""
    client: Client | None = None
    skipper: TimeSkipper | None = None
    encryption_keys: str = field(
        default_factory=lambda: f"{KEY_ID}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    )
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def server_log(self) -> Path:
        return self.workdir / "dev-server.log"

    def temporal(self) -> Client:
        assert self.client is not None
        return self.client

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        log = (self.workdir / f"{name}.log").open("ab")
        popen = subprocess.Popen(  # noqa: S603  (this interpreter, fixed arguments, no shell)
            [sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[1]
        )
        process = ManagedProcess(name, popen)
        self.processes[name] = process
        return process

    async def start_server(self) -> None:
        port = free_port()
        log = self.server_log.open("ab")
        command = [
            str(temporal_cli_path()),
            *("server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)),
            # Warnings are what figure 6 counts (payload and history size); errors would show too.
            *("--log-level", "warn", "--log-format", "json"),
            *("--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"),
            # The dev server's default rate limits would measure themselves, not either side.
            *("--dynamic-config-value", "frontend.rps=100000"),
            *("--dynamic-config-value", "frontend.namespaceRPS=100000"),
            *("--dynamic-config-value", "frontend.namespaceRPS.visibility=100000"),
            *search_attribute_args(),
            *dynamic_config_args(),
        ]
        popen = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603, ASYNC220  (the venv's binary, once)
        self.processes["dev-server"] = ManagedProcess("dev-server", popen)
        self.address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self.processes["dev-server"].check_alive()
            try:
                self.client = await connect(
                    Settings(
                        temporal_address=self.address,
                        encryption_keys=self.encryption_keys,
                        encryption_active_key=KEY_ID,
                    )
                )
                await self.client.count_workflows("")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        # Started through the skipper, a workflow runs in real time until `fast_forward` moves its own clock.
        self.skipper = TimeSkipper(self.client, config=TimeSkippingConfig(enabled=False))

    async def wait_for_poller(self, task_queue: str, process: ManagedProcess) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            process.check_alive()
            response = await self.temporal().workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.temporal().namespace,
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            if any(poller.identity.startswith(f"{process.pid}@") for poller in response.pollers):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{process.name} did not poll {task_queue} within {READY_TIMEOUT}s")

    def server_warnings(self) -> list[str]:
        """The dev server's warnings about payload or history size, as logged."""
        lines = self.server_log.read_text(errors="replace").splitlines() if self.server_log.exists() else []
        markers = ("exceeds the warning limit", "exceeds warn limit", "size exceeds", "history size", "blob size")
        return [line for line in lines if any(marker in line.lower() for marker in markers)]

    @asynccontextmanager
    async def deployment(self, name: str, database_url: str, *, workers: int = 1) -> AsyncIterator[Deployment]:
        if database_url.startswith("postgresql"):
            postgres_database(database_url)
        await asyncio.to_thread(migrate_to_head, database_url)
        engine = build_engine(database_url)
        reference_metadata.create_all(engine)
        deployment = Deployment(self, name, database_url, engine, tokens=seed_organisation(engine))
        names_before = set(self.processes)
        try:
            for index in range(workers):
                await deployment.start_worker("pathway", index)
            await deployment.start_worker("raw")
            await deployment.start_apis()
            yield deployment
        finally:
            for process_name in reversed([name for name in self.processes if name not in names_before]):
                await asyncio.to_thread(self.processes.pop(process_name).stop)
            engine.dispose()


@asynccontextmanager
async def running_stack(workdir: Path) -> AsyncIterator[Stack]:
    """The dev server started fresh in `workdir`, stopped again however the run ends."""
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (once, before anything runs)
    stack = Stack(workdir)
    async with AsyncExitStack() as exit_stack:

        def stop_everything() -> None:
            for process in reversed(list(stack.processes.values())):
                process.stop()

        exit_stack.callback(stop_everything)
        await stack.start_server()
        yield stack
