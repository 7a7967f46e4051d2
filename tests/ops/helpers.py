"""Processes as operations run them: `python -m ops.cli ...` subprocesses on free loopback ports."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.db import migrate_to_head
from core.temporal import temporal_cli_path
from tests.support.helpers import seed_fixed_team

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@functools.cache
def _migrated_scratch_database() -> str:
    # The worker refuses an unmigrated schema; processes that don't care about the database share this one.
    directory = Path(tempfile.mkdtemp(prefix="ops-db-"))
    url = f"sqlite:///{directory / 'pathways.db'}"
    migrate_to_head(url)
    return url


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any PATHWAYS_* / DATABASE_URL, plus a migrated scratch database
    and the given variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_") and k != "DATABASE_URL"}
    env["PATHWAYS_DATABASE_URL"] = _migrated_scratch_database()
    # The tests' pieces hold no client data and talk to clients built without keys (a test sets keys itself).
    env["PATHWAYS_REQUIRE_ENCRYPTION"] = "false"
    env.update(overrides)
    return env


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:  # refused, or an HTTP error status (HTTPError is an OSError)
        return False


def wait_until(check: Any, what: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before: {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.2)


def wait_for_temporal(address: str, timeout: float = 60.0) -> None:
    def healthy() -> bool:
        result = subprocess.run(
            [str(temporal_cli_path()), "operator", "cluster", "health", "--address", address],
            capture_output=True,
            timeout=30,
        )
        return result.returncode == 0

    wait_until(healthy, f"Temporal at {address} answering", timeout)


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
    """Send `sig`, wait (bounded), kill if it did not exit; returns the exit code after `sig`."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"process {process.pid} ignored signal {sig} for {timeout:.0f}s") from None
    return process.returncode


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass
class DevServer:
    address: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_dev_server(var_dir: Path, log_path: Path) -> Iterator[DevServer]:
    """`python -m ops.cli dev-server` on free ports, persisting under `var_dir`."""
    port, ui_port = free_port(), free_port()
    env = clean_env(
        PATHWAYS_VAR_DIR=str(var_dir),
        PATHWAYS_DEV_SERVER_PORT=str(port),
        PATHWAYS_DEV_SERVER_UI_PORT=str(ui_port),
        PATHWAYS_DEV_SERVER_IP="127.0.0.1",
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "dev-server"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
    try:
        address = f"127.0.0.1:{port}"
        wait_until(lambda: port_open(port), f"dev server port {port} open", process=process)
        wait_for_temporal(address)
        yield DevServer(address=address, process=process)
    finally:
        stop_process(process)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    health_port: int
    metrics_port: int
    task_queue: str
    log_path: Path

    def log_lines(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if line.strip()]

    def json_logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_lines()]


def seed_team_database(database_url: str) -> None:
    """A migrated database that knows the test team's staff, so notifications reach real recipients."""
    seed_fixed_team(database_url)


@contextmanager
def running_worker(address: str, task_queue: str, log_path: Path, **env: str) -> Iterator[WorkerProcess]:
    """`python -m ops.cli worker` with its health and metrics ports on; stopped with SIGTERM at the end."""
    health_port, metrics_port = free_port(), free_port()
    # The worker refuses an outdated schema: give it a migrated database of its own.
    var_dir = log_path.parent / "var"
    database_url = f"sqlite:///{var_dir / 'pathways.db'}"
    seed_team_database(database_url)
    variables = clean_env(
        PATHWAYS_TEMPORAL_ADDRESS=address,
        PATHWAYS_TASK_QUEUE=task_queue,
        PATHWAYS_WORKER_HEALTH_PORT=str(health_port),
        PATHWAYS_WORKER_METRICS_PORT=str(metrics_port),
        PATHWAYS_LOG_FORMAT="json",
        PATHWAYS_VAR_DIR=str(var_dir),
        PATHWAYS_DATABASE_URL=database_url,
    )
    variables.update(env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "worker"], cwd=REPO_ROOT, env=variables, stdout=log, stderr=log
        )
    worker = WorkerProcess(process, health_port, metrics_port, task_queue, log_path)
    try:
        # Ready, not merely listening: the health port opens while the worker still checks its namespace, and
        # /healthz answers 503 until it polls (on a loaded machine that gap made the tests after it flake).
        health_url = f"http://127.0.0.1:{health_port}/healthz"
        wait_until(lambda: answers_200(health_url), f"worker ready at {health_url}", process=process)
        yield worker
    finally:
        stop_process(process)
