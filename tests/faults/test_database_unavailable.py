"""The app database refuses the worker for a while (PostgreSQL privileges revoked, then restored): Temporal
retries the activities, they succeed later, and the pathway's events and notifications land once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from temporalio.client import Client, WorkflowHandle

from core.db import build_engine
from core.temporal import data_converter
from models import actions as a
from models.pathway import TriageRoute
from tests.ops.helpers import stop_process
from tests.support.fixtures import postgres_base_url
from tests.support.helpers import COORDINATOR, NURSE, do, eventually, start_fixed
from workflows.client import get_process

from .helpers import (
    TemporalServer,
    duplicated_notification_keys,
    recorded_sequences,
    seed_staff_with_email,
    start_worker,
)


@dataclass(frozen=True)
class RestrictedDatabase:
    """A schema of its own, migrated and seeded by the owner, and a login role the worker connects as."""

    owner_url: str
    worker_url: str
    schema: str
    role: str

    def revoke(self) -> None:
        self._execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{self.schema}" FROM "{self.role}"')

    def grant(self) -> None:
        self._execute(
            f'GRANT USAGE ON SCHEMA "{self.schema}" TO "{self.role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{self.schema}" TO "{self.role}"',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{self.schema}" TO "{self.role}"',
        )

    def _execute(self, *statements: str) -> None:
        engine = create_engine(self.owner_url)
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()


@pytest.fixture
def restricted_database() -> Iterator[RestrictedDatabase]:
    base_url = postgres_base_url()
    name = f"faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
        connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
    owner_url = make_url(base_url).update_query_dict({"options": f"-csearch_path={name}"})
    database = RestrictedDatabase(
        owner_url=owner_url.render_as_string(hide_password=False),
        worker_url=owner_url.set(username=name, password=None).render_as_string(hide_password=False),
        schema=name,
        role=name,
    )
    try:
        seed_staff_with_email(database.owner_url)
        database.grant()
        yield database
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            connection.execute(text(f'DROP OWNED BY "{name}"'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


async def _failed_attempts(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Failure messages of the pathway's pending activities that have been attempted more than once."""
    description = await handle.describe()
    return [
        activity.last_failure.message
        for activity in description.raw_description.pending_activities
        if activity.attempt >= 2
    ]


async def _settled(handle: WorkflowHandle[Any, Any]) -> bool:
    return not (await handle.describe()).raw_description.pending_activities


async def test_activities_retry_while_the_database_refuses_the_worker_and_land_once_when_it_returns(
    restricted_database: RestrictedDatabase, tmp_path: Path
) -> None:
    engine = build_engine(restricted_database.owner_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    worker = start_worker(server.address, queue, restricted_database.worker_url, tmp_path / "worker.log")
    try:
        client = await Client.connect(server.address, data_converter=data_converter())
        handle = await start_fixed(client, queue)
        await eventually(lambda: recorded_sequences(engine, handle.id), timeout=60, what="intake in the record")

        restricted_database.revoke()
        # The action is durable in Temporal at once; only its recording waits for the database.
        answer = await do(handle, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE))
        assert answer.case_manager == NURSE
        await eventually(lambda: _failed_attempts(handle), timeout=60, what="an activity attempted more than once")
        assert "permission denied" in worker.log()
        assert worker.process.poll() is None

        # While the database is away, the process holds what it decided.
        assert [event.kind.value for event in (await get_process(handle)).unrecorded_events] == [
            "triaged",
            "case_manager_assigned",
        ]
        restricted_database.grant()
        expected = list(range(1, answer.last_event_sequence + 1))
        # Backoff is 1 s doubling, at most a minute: the next attempt after the grant succeeds.
        await eventually(lambda: recorded_sequences(engine, handle.id) == expected, timeout=90, what="record complete")
        await eventually(lambda: _settled(handle), timeout=30, what="no activity left pending")
        assert duplicated_notification_keys(engine) == []
        state = await get_process(handle)
        assert state.case_manager == NURSE and not state.unrecorded_events
    finally:
        await asyncio.to_thread(stop_process, worker.process)
        engine.dispose()
        server.stop()
