"""`make run` (`python -m ops.run`) from a fresh clone: up, demo seeded, clean Ctrl-C, restart keeps pathways.

The program runs with this venv's interpreter but with the clone as working directory, so the clone's
committed code is what runs (the package's own folders come first on the path). Every port is a free
one and the data folder is the test's own.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from ops.dev_server import dev_server_command
from tests.ops.helpers import REPO_ROOT, clean_env, free_port, port_open
from tests.support.make_run import START_SECONDS, MakeRun, run_environment

DEMO_PATHWAYS = {f"pathway-demo-000{n}" for n in range(1, 7)}
TOKEN_LINE = re.compile(
    r"^run\s+\|\s+(demo\.[a-z.-]+)\s+(admin|coordinator|professional|data_protection_officer)\s+(\S+)\s+\("
)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this repository at the commit under test."""
    target = tmp_path_factory.mktemp("make-run") / "clone"
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(target)], check=True, timeout=120)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=target, check=True, timeout=60)
    return target


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    # Reads name their purpose: here the demo coordinator supervising the team's pathways.
    url += ("&" if "?" in url else "?") + "purpose=supervision"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def wait_ready(run: MakeRun, api: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        assert run.process.poll() is None, f"make run exited with {run.process.returncode}:\n{run.output}"
        try:
            if get(f"{api}/readyz")[0] == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        assert time.monotonic() < deadline, f"/readyz not 200 within {START_SECONDS:.0f}s:\n{run.output}"
        time.sleep(1)


def demo_tokens(run: MakeRun) -> dict[str, tuple[str, str]]:
    """staff id -> (role, token) from the demo block."""
    return {
        match[1]: (match[2], match[3]) for match in (TOKEN_LINE.match(line) for line in run.lines) if match is not None
    }


def listed_pathways(api: str, token: str) -> list[dict[str, Any]]:
    # Visibility follows the workflows closely but not in the same transaction: allow it a moment.
    deadline = time.monotonic() + 30
    while True:
        status, body = get(f"{api}/pathways", token)
        assert status == 200, body
        items: list[dict[str, Any]] = body["items"]
        if {item["pathway_id"] for item in items} >= DEMO_PATHWAYS or time.monotonic() > deadline:
            return items
        time.sleep(1)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def running_in(folder: Path) -> list[int]:
    """Live processes whose working directory is `folder`: every process make run starts inherits it."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(entry / "cwd")) == folder and alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def runs() -> Iterator[list[MakeRun]]:
    started: list[MakeRun] = []
    yield started
    for run in started:
        run.kill_if_running()


def test_make_run_from_a_fresh_clone_serves_demo_pathways_stops_cleanly_and_keeps_them_on_restart(
    clone: Path, tmp_path: Path, runs: list[MakeRun]
) -> None:
    ports = {"dev_server": free_port(), "ui": free_port(), "api": free_port()}
    env = run_environment(tmp_path / "var", **ports)
    api = f"http://127.0.0.1:{ports['api']}"

    first = MakeRun(clone, env)
    runs.append(first)
    wait_ready(first, api)
    first.wait_for_line("Ctrl-C stops everything.")
    # The web app's address comes first, right under the heading.
    heading = first.lines.index(next(line for line in first.lines if "Work-ability pathways are running:" in line))
    assert f"Staff web app    http://localhost:{ports['api']}/app/" in first.lines[heading + 1]
    assert f"http://localhost:{ports['ui']}" in first.output
    assert f"http://localhost:{ports['api']}/docs" in first.output
    tokens = demo_tokens(first)
    assert {staff_id: role for staff_id, (role, _) in tokens.items()} == {
        "demo.admin": "admin",
        "demo.coordinator": "coordinator",
        "demo.nurse": "professional",
        "demo.social-worker": "professional",
        "demo.dpo": "data_protection_officer",
    }
    coordinator_token = tokens["demo.coordinator"][1]

    items = listed_pathways(api, coordinator_token)
    assert {item["pathway_id"] for item in items} == DEMO_PATHWAYS
    stages = {item["pathway_id"]: item["stage"] for item in items}
    assert {"awaiting_triage", "assessment", "in_services", "sustainment", "closed"} <= set(stages.values())
    assert [item["pathway_id"] for item in items if item["team_review_pending"]] == ["pathway-demo-0005"]
    status, in_services = get(f"{api}/pathways/pathway-demo-0003", coordinator_token)
    assert status == 200
    assert in_services["demo"] is True
    assert {service["status"] for service in in_services["services"]} == {"active", "planned"}
    # The demo shows work ability measured: the client's scores over the pathway and a scored GAS goal.
    assert [answer["score"] for answer in in_services["work_ability"]] == [4, 5, 5]
    assert in_services["measures"]["gas_t_score"] == 40.0
    # The Web UI (through its proxy) sends the browser's session to the API's codec, which lets its origin in;
    # staff sign in on the development page (tests/browser drive both in Chromium).
    status, ui_settings = get(f"http://127.0.0.1:{ports['ui']}/api/v1/settings")
    assert status == 200
    assert ui_settings["Codec"]["Endpoint"] == f"http://localhost:{ports['api']}/codec"
    assert ui_settings["Codec"]["IncludeCredentials"] is True
    with urllib.request.urlopen(f"{api}/auth/dev", timeout=30) as page:
        assert "Development sign-in." in page.read().decode()
    # The local encryption key stays with its owner: mode 600 in var/, which git ignores.
    key_file = tmp_path / "var" / "encryption.key"
    assert key_file.stat().st_mode & 0o777 == 0o600

    processes = first.descendants()
    assert len(processes) >= 3  # dev server, worker, API
    assert first.interrupt() == 0, first.output
    assert [pid for pid in processes if alive(pid)] == []
    assert running_in(clone) == []
    assert [port for port in ports.values() if port_open(port)] == []
    assert "Traceback" not in first.output

    second = MakeRun(clone, env)
    runs.append(second)
    wait_ready(second, api)
    second.wait_for_line("Ctrl-C stops everything.")
    assert "Demo data already present" in second.output
    assert demo_tokens(second) == {}
    # The same token still signs in: the staff and the pathways come from the kept var/ folder.
    again = listed_pathways(api, coordinator_token)
    assert {item["pathway_id"] for item in again} == DEMO_PATHWAYS
    assert {item["pathway_id"]: item["stage"] for item in again} == stages
    processes = second.descendants()
    assert second.interrupt() == 0, second.output
    assert [pid for pid in processes if alive(pid)] == []
    assert running_in(clone) == []
    assert [port for port in ports.values() if port_open(port)] == []


def test_make_run_interrupted_during_start_up_stops_everything_it_started(
    clone: Path, tmp_path: Path, runs: list[MakeRun]
) -> None:
    ports = {"dev_server": free_port(), "ui": free_port(), "api": free_port()}
    run = MakeRun(clone, run_environment(tmp_path / "var", **ports))
    runs.append(run)
    run.wait_for_line("migrate   |")
    processes = run.descendants()
    assert run.interrupt() == 0, run.output
    assert [pid for pid in processes if alive(pid)] == []
    assert running_in(clone) == []
    assert [port for port in ports.values() if port_open(port)] == []
    assert "Traceback" not in run.output


def _child_pid(run: MakeRun, component: str) -> int:
    marker = f"ops.cli\x00{component}".encode()
    [pid] = [pid for pid in run.descendants() if marker in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return pid


def test_a_worker_or_api_that_dies_is_restarted_and_the_stack_keeps_serving(
    clone: Path, tmp_path: Path, runs: list[MakeRun]
) -> None:
    ports = {"dev_server": free_port(), "ui": free_port(), "api": free_port()}
    run = MakeRun(clone, run_environment(tmp_path / "var", **ports))
    runs.append(run)
    run.wait_for_line("Ctrl-C stops everything.")
    api = f"http://127.0.0.1:{ports['api']}"
    coordinator_token = demo_tokens(run)["demo.coordinator"][1]
    before = {item["pathway_id"] for item in listed_pathways(api, coordinator_token)}

    first_worker = _child_pid(run, "worker")
    os.kill(first_worker, signal.SIGKILL)
    run.wait_for_line("worker exited with code -9; restarting it in 1 s (restart 1)")
    run.wait_for_line("worker started again")
    first_api = _child_pid(run, "api")
    os.kill(first_api, signal.SIGKILL)
    run.wait_for_line("api exited with code -9; restarting it in 1 s (restart 1)")
    run.wait_for_line("api started again")
    wait_ready(run, api)

    # The new processes serve the same pathways, and the new worker answers the process queries.
    assert {item["pathway_id"] for item in listed_pathways(api, coordinator_token)} == before
    [demo] = sorted(before)[:1]
    status, record = get(f"{api}/pathways/{demo}", coordinator_token)
    assert status == 200, record
    assert _child_pid(run, "worker") != first_worker
    assert _child_pid(run, "api") != first_api
    assert "stopping everything" not in run.output
    processes = run.descendants()
    assert run.interrupt() == 0, run.output
    assert [pid for pid in processes if alive(pid)] == []
    assert running_in(clone) == []
    assert [port for port in ports.values() if port_open(port)] == []


def test_a_dev_server_that_dies_stops_make_run_and_everything_else(
    clone: Path, tmp_path: Path, runs: list[MakeRun]
) -> None:
    ports = {"dev_server": free_port(), "ui": free_port(), "api": free_port()}
    run = MakeRun(clone, run_environment(tmp_path / "var", **ports))
    runs.append(run)
    run.wait_for_line("Ctrl-C stops everything.")
    [dev_server] = [pid for pid in run.descendants() if b"start-dev" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    os.kill(dev_server, signal.SIGKILL)
    assert run.wait() == 1, run.output
    assert "exited with code -9; stopping everything" in run.output
    assert running_in(clone) == []
    assert [port for port in ports.values() if port_open(port)] == []


def test_make_run_with_a_busy_api_port_names_the_variable_and_starts_nothing(
    clone: Path, tmp_path: Path, runs: list[MakeRun]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        env = run_environment(tmp_path / "var", dev_server=free_port(), ui=free_port(), api=busy)
        run = MakeRun(clone, env)
        runs.append(run)
        code = run.wait(timeout=120)
    assert code == 1
    assert f"port {busy} is already in use: stop what runs there or set PATHWAYS_API_PORT" in run.output
    assert "Traceback" not in run.output
    assert not (tmp_path / "var" / "temporal.db").exists()


def test_cli_api_with_a_busy_port_names_the_variable(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ops.cli", "api"],
            cwd=REPO_ROOT,
            env=clean_env(PATHWAYS_API_PORT=str(busy), PATHWAYS_API_HOST="127.0.0.1"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == f"port {busy} is already in use: stop what runs there or set PATHWAYS_API_PORT"


def test_dev_server_ui_decodes_through_the_api_codec_endpoint_only_when_encryption_is_configured(
    tmp_path: Path,
) -> None:
    plain = dev_server_command(Settings(var_dir=tmp_path, api_port=18000))
    key = base64.b64encode(bytes(32)).decode()
    encrypted = dev_server_command(
        Settings(var_dir=tmp_path, api_port=18000, encryption_keys=f"key-1:{key}", encryption_active_key="key-1")
    )
    assert "--ui-codec-endpoint" not in plain
    flag = encrypted.index("--ui-codec-endpoint")
    assert encrypted[flag + 1] == "http://localhost:18000/codec"
