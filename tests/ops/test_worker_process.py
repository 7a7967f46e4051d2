"""The worker as operations run it: `python -m ops.cli worker` against a real dev server."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from models import actions as a
from models.pathway import TriageRoute
from tests.ops.helpers import (
    REPO_ROOT,
    DevServer,
    children_of,
    clean_env,
    free_port,
    port_open,
    running_dev_server,
    running_worker,
    stop_process,
    wait_until,
)
from tests.support.helpers import COORDINATOR, NURSE, do, eventually, start_fixed


def task_queue() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}"


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(url)


async def test_worker_health_answers_200_while_running_and_sigterm_exits_cleanly_leaving_no_process(
    ops_dev_server: DevServer, tmp_path: Path
) -> None:
    with running_worker(ops_dev_server.address, task_queue(), tmp_path / "worker.log") as worker:
        health = await get(f"http://127.0.0.1:{worker.health_port}/healthz")
        assert health.status_code == 200
        assert health.json() == {"worker_running": True, "temporal_reachable": True}
        live = await get(f"http://127.0.0.1:{worker.health_port}/livez")
        assert live.status_code == 200
        assert (await get(f"http://127.0.0.1:{worker.health_port}/nothing")).status_code == 404

        exit_code = await asyncio.to_thread(stop_process, worker.process, signal.SIGTERM)

        assert exit_code == 0
        assert children_of(worker.process.pid) == []
        assert not port_open(worker.health_port)
        assert not port_open(worker.metrics_port)
        messages = [entry["message"] for entry in worker.json_logs()]
        assert any(m.startswith("Shutting down") for m in messages)
        assert messages[-1] == "Worker stopped"


async def test_worker_exits_cleanly_on_sigint_too(ops_dev_server: DevServer, tmp_path: Path) -> None:
    with running_worker(ops_dev_server.address, task_queue(), tmp_path / "worker.log") as worker:
        exit_code = await asyncio.to_thread(stop_process, worker.process, signal.SIGINT)
        assert exit_code == 0
        assert "Traceback" not in worker.log_path.read_text()


async def test_worker_metrics_endpoint_serves_temporal_sdk_metrics_for_its_task_queue(
    ops_dev_server: DevServer, tmp_path: Path
) -> None:
    queue = task_queue()
    with running_worker(ops_dev_server.address, queue, tmp_path / "worker.log") as worker:

        async def pollers_reported() -> str | None:
            # The metrics port opens with the runtime, a moment after the health port the helper waited for, and
            # the pollers' gauge appears once they poll: on a loaded machine both take a while (a flake in CI).
            try:
                response = await get(f"http://127.0.0.1:{worker.metrics_port}/metrics")
            except httpx.TransportError:
                return None
            assert response.status_code == 200
            # The gauge of this queue's pollers, not just any metric naming the queue (the worker's start counter
            # names it first: waiting for that alone was the flake).
            pollers = [line for line in response.text.splitlines() if line.startswith("temporal_num_pollers{")]
            return response.text if any(f'task_queue="{queue}"' in line for line in pollers) else None

        text = await eventually(pollers_reported, timeout=60, what="poller metrics for the task queue")
        assert "temporal_num_pollers{" in text
        assert 'service_name="temporal-core-sdk"' in text


async def test_worker_json_logs_carry_activity_and_workflow_ids_but_no_client_text(
    ops_dev_server: DevServer, ops_client: Client, tmp_path: Path
) -> None:
    queue = task_queue()
    reason = "Private referral reason that must never reach a log"
    with running_worker(ops_dev_server.address, queue, tmp_path / "worker.log") as worker:
        handle = await start_fixed(ops_client, queue, reason=reason)
        await do(handle, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE, note="Private note"))

        def notification_logged() -> list[dict[str, object]]:
            return [
                e
                for e in worker.json_logs()
                if e.get("activity_type") == "record_pathway_changes" and "notification" in str(e.get("message"))
            ]

        entries = await eventually(notification_logged, what="the record activity's log line")
        stop_process(worker.process)

    entry = entries[0]
    assert entry["workflow_id"] == handle.id
    assert entry["run_id"] == handle.result_run_id
    assert entry["workflow_type"] == "Pathway"
    assert entry["task_queue"] == queue
    assert entry["level"] == "INFO"
    # The context is in fields, not repeated as a dict inside the message.
    assert "{" not in str(entry["message"])
    log_text = worker.log_path.read_text()
    assert reason not in log_text and "Private note" not in log_text
    assert all(line.startswith("{") for line in worker.log_lines())


async def test_worker_health_turns_503_when_temporal_goes_away_while_livez_stays_200(tmp_path: Path) -> None:
    with (
        running_dev_server(tmp_path / "var", tmp_path / "dev-server.log") as server,
        running_worker(server.address, task_queue(), tmp_path / "worker.log") as worker,
    ):
        assert (await get(f"http://127.0.0.1:{worker.health_port}/healthz")).status_code == 200

        await asyncio.to_thread(stop_process, server.process)

        async def unhealthy() -> httpx.Response | None:
            response = await get(f"http://127.0.0.1:{worker.health_port}/healthz")
            return response if response.status_code == 503 else None

        response = await eventually(unhealthy, what="/healthz answering 503")
        assert response.json() == {"worker_running": True, "temporal_reachable": False}
        assert (await get(f"http://127.0.0.1:{worker.health_port}/livez")).status_code == 200

        exit_code = await asyncio.to_thread(stop_process, worker.process)
        assert exit_code == 0, worker.log_path.read_text()


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_worker_with_busy_health_port_stops_with_a_message_naming_the_setting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # No Temporal at that address: the port check comes first, without waiting on connection retries.
        result = run_cli(
            "worker",
            env=clean_env(PATHWAYS_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", PATHWAYS_WORKER_HEALTH_PORT=str(port)),
        )
    assert result.returncode == 1
    assert f"health port {port}" in result.stderr
    assert "PATHWAYS_WORKER_HEALTH_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_with_busy_metrics_port_stops_with_a_message_naming_the_setting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("worker", env=clean_env(PATHWAYS_WORKER_METRICS_PORT=str(port)))
    assert result.returncode == 1
    assert "PATHWAYS_WORKER_METRICS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_gives_up_on_unreachable_temporal_with_a_message_naming_the_address() -> None:
    address = f"127.0.0.1:{free_port()}"
    result = run_cli(
        "worker", env=clean_env(PATHWAYS_TEMPORAL_ADDRESS=address, PATHWAYS_TEMPORAL_CONNECT_TIMEOUT_SECONDS="0")
    )
    assert result.returncode == 1
    assert f"cannot reach Temporal at {address}" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_still_waiting_for_temporal_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    log_path = tmp_path / "worker.log"
    env = clean_env(
        PATHWAYS_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        PATHWAYS_TEMPORAL_CONNECT_TIMEOUT_SECONDS="600",
        PATHWAYS_LOG_FORMAT="json",
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "worker"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
    try:
        wait_until(lambda: "not reachable yet" in log_path.read_text(), "a connect retry", process=process)
    finally:
        # Bounded well below the 600 s of connect retries: the signal must end the wait.
        exit_code = stop_process(process, signal.SIGTERM, timeout=30)
    assert exit_code == 0
    assert "Stopped before Temporal answered" in log_path.read_text()
