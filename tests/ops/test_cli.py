"""`python -m ops.cli`: the commands the container image and operators run."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.ops.helpers import REPO_ROOT, clean_env, free_port, running_dev_server, stop_process


def image_entry_command() -> list[str]:
    """The Dockerfile's exec-form ENTRYPOINT, with this venv's interpreter for `python`."""
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    [entrypoint] = re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, flags=re.MULTILINE)
    command = json.loads(entrypoint)
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO_ROOT, env=env or clean_env(), capture_output=True, text=True, timeout=60)


def test_image_entry_command_runs_worker_help_directly() -> None:
    result = run([*image_entry_command(), "worker", "--help"])
    assert result.returncode == 0, result.stderr
    assert "PATHWAYS_TASK_QUEUE" in result.stdout
    assert "PATHWAYS_WORKER_HEALTH_PORT" in result.stdout


def test_image_entry_command_runs_dev_server_help_directly() -> None:
    result = run([*image_entry_command(), "dev-server", "--help"])
    assert result.returncode == 0, result.stderr
    assert "PATHWAYS_DEV_SERVER_PORT" in result.stdout


def test_image_default_command_is_a_cli_command() -> None:
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    result = run([*image_entry_command(), *json.loads(cmd), "--help"])
    assert result.returncode == 0, result.stderr


def test_cli_without_a_command_lists_the_commands() -> None:
    result = run([sys.executable, "-m", "ops.cli"])
    output = result.stdout + result.stderr
    assert "worker" in output
    assert "dev-server" in output


def test_invalid_setting_stops_with_the_variable_name_and_no_traceback(tmp_path: Path) -> None:
    result = run(
        [sys.executable, "-m", "ops.cli", "worker"],
        env=clean_env(PATHWAYS_WORKER_METRICS_PORT="not-a-port", PATHWAYS_VAR_DIR=str(tmp_path / "var")),
    )
    assert result.returncode == 2
    assert "invalid configuration: PATHWAYS_WORKER_METRICS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_server_with_busy_port_names_the_setting_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(
            [sys.executable, "-m", "ops.cli", "dev-server"],
            env=clean_env(
                PATHWAYS_DEV_SERVER_PORT=str(port),
                PATHWAYS_DEV_SERVER_UI_PORT=str(free_port()),
                PATHWAYS_VAR_DIR=str(tmp_path / "var"),
            ),
        )
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "PATHWAYS_DEV_SERVER_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


def test_dev_server_persists_to_the_var_dir_and_stops_on_sigterm_leaving_no_process(tmp_path: Path) -> None:
    with running_dev_server(tmp_path / "var", tmp_path / "dev-server.log") as server:
        assert (tmp_path / "var" / "temporal.db").exists()
        exit_code = stop_process(server.process, signal.SIGTERM)
    assert exit_code == 0
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "var")], capture_output=True, text=True)
    assert leftover.stdout == ""
