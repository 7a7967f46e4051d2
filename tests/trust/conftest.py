"""A Temporal dev server whose database is a file we can read, and keys made for the test run only.

Keys are generated here, at run time: no key is ever written into the repository.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.temporal import data_converter, temporal_cli_path
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def encryption_settings(keys: dict[str, str], active: str) -> Settings:
    """Settings with these keys (id -> base64), as the environment would give them."""
    return Settings(
        encryption_keys=",".join(f"{key_id}:{key}" for key_id, key in keys.items()),
        encryption_active_key=active,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_file_server(database: Path, port: int | None = None) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_database_filename=str(database),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        port=port,
    )


def database_bytes(database: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk now."""
    return b"".join(
        path.read_bytes() for path in (database, database.with_name(database.name + "-wal")) if path.exists()
    )


@dataclass
class FileServer:
    env: WorkflowEnvironment
    database: Path

    @property
    def target(self) -> str:
        return self.env.client.service_client.config.target_host

    async def connect(self, settings: Settings | None = None) -> Client:
        """A client with the project's converter for these settings (encryption on when they have keys)."""
        return await Client.connect(self.target, data_converter=data_converter(settings))


@dataclass
class KeyMaterial:
    key_a: str
    key_b: str

    @property
    def only_a(self) -> Settings:
        return encryption_settings({"key-a": self.key_a}, active="key-a")

    @property
    def a_and_b_active_b(self) -> Settings:
        return encryption_settings({"key-a": self.key_a, "key-b": self.key_b}, active="key-b")

    @property
    def only_b(self) -> Settings:
        return encryption_settings({"key-b": self.key_b}, active="key-b")


@pytest.fixture(scope="session")
def keys() -> KeyMaterial:
    return KeyMaterial(key_a=new_key(), key_b=new_key())


@pytest.fixture(scope="session")
async def file_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FileServer]:
    database = tmp_path_factory.mktemp("temporal") / "temporal.db"
    env = await start_file_server(database)
    yield FileServer(env=env, database=database)
    await env.shutdown()
