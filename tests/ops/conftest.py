"""A dev server started the way operations start it (`python -m ops.cli dev-server`), for this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.client import Client

from core.temporal import data_converter
from tests.ops.helpers import DevServer, running_dev_server


@pytest.fixture(scope="session")
def ops_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    base = tmp_path_factory.mktemp("ops-dev-server")
    with running_dev_server(base / "var", base / "dev-server.log") as server:
        yield server


@pytest.fixture
async def ops_client(ops_dev_server: DevServer) -> Client:
    return await Client.connect(ops_dev_server.address, data_converter=data_converter())
