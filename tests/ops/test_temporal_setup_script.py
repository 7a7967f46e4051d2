"""deploy/scripts/setup-temporal-namespace.sh run for real against a bare Temporal dev server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from core.temporal import temporal_cli_path
from tests.ops.helpers import REPO_ROOT, clean_env, free_port, port_open, stop_process, wait_for_temporal, wait_until
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

SCRIPT = REPO_ROOT / "deploy" / "scripts" / "setup-temporal-namespace.sh"


@pytest.fixture
def bare_temporal(tmp_path: Path) -> Iterator[str]:
    """A dev server with no custom search attributes and only the default namespace."""
    port = free_port()
    command = [str(temporal_cli_path()), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
    command += ["--port", str(port), "--db-filename", str(tmp_path / "bare.db"), "--log-level", "error"]
    with (tmp_path / "bare.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_until(lambda: port_open(port), "bare dev server listening", process=process)
        address = f"127.0.0.1:{port}"
        wait_for_temporal(address)
        yield address
    finally:
        stop_process(process)


def run_script(address: str, namespace: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        TEMPORAL_ADDRESS=address,
        TEMPORAL_NAMESPACE=namespace,
        SETUP_SLEEP_SECONDS="1",
        PATH=f"{temporal_cli_path().parent}{os.pathsep}{os.environ['PATH']}",
    )
    return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)


async def test_setup_script_creates_the_namespace_and_every_search_attribute_and_can_run_again(
    bare_temporal: str,
) -> None:
    first = run_script(bare_temporal, "pathways")
    assert first.returncode == 0, first.stderr
    again = run_script(bare_temporal, "pathways")
    assert again.returncode == 0, again.stderr
    assert "Namespace pathways exists" in again.stdout

    client = await Client.connect(bare_temporal, namespace="pathways")
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="pathways"))
    registered = dict(listed.custom_attributes)
    for key in ALL_SEARCH_ATTRIBUTES:
        assert registered.get(key.name) == int(key.indexed_value_type), key.name
