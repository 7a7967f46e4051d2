"""With encryption on, no note, goal, reason or comment is readable at rest: not in Temporal's database file,
not in the record's SQLite file, not in a `pg_dump` of the record on PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import make_url
from temporalio.api.enums.v1 import EventType

from core.codec import ENCODING, KEY_ID_METADATA
from core.settings import Settings
from core.temporal import connect
from tests.support.fixtures import make_org, migrated, postgres_base_url, postgres_schema, running_worker

from .conftest import FileServer, KeyMaterial, database_bytes
from .pathway_with_notes import distinctive_marker, run_pathway_with_notes


async def test_free_text_is_not_readable_in_temporals_file_nor_in_the_records_sqlite_file(
    file_server: FileServer, keys: KeyMaterial, tmp_path: Path
) -> None:
    secret = distinctive_marker("encrypted-note")
    # The control: the same pathway without encryption must be found, or the search proves nothing.
    visible = distinctive_marker("plain-note")
    encrypted_db, plain_db = tmp_path / "encrypted.db", tmp_path / "plain.db"
    pathway_ids: dict[str, str] = {}
    for marker, settings, database in (
        (secret, keys.only_a, encrypted_db),
        (visible, Settings(), plain_db),
    ):
        url = f"sqlite:///{database}"
        settings = settings.model_copy(
            update={"temporal_address": file_server.target, "task_queue": f"tq-{uuid.uuid4()}", "database_url": url}
        )
        engine = migrated(url)
        org = make_org(engine)
        client = await connect(settings)
        async with running_worker(client, settings, engine) as effects:
            noted = await run_pathway_with_notes(client, settings.task_queue, engine, effects.sealer, org, marker)
        engine.dispose()
        # Staff still read everything, through the project's own keys.
        assert noted.record.goals[0].text.endswith(marker)
        assert noted.record.feedback[0].comment == f"Said {marker}"
        assert noted.record.team_reviews[0].reason == f"Review {marker}"
        pathway_ids[marker] = noted.pathway.pathway_id

    temporal = database_bytes(file_server.database)
    assert temporal.count(visible.encode()) > 0
    assert temporal.count(secret.encode()) == 0
    assert database_bytes(plain_db).count(visible.encode()) > 0
    records = database_bytes(encrypted_db)
    assert records.count(secret.encode()) == 0
    # Nor any recognisable piece of it.
    assert (
        records.count(secret.split("-")[-1][:16].encode()) == 0
        and temporal.count(secret.split("-")[-1][:16].encode()) == 0
    )
    assert b"sealed:v1:key-a:" in records

    # The payloads in the history say which key encrypted them (so rotation can find the right one).
    client = await file_server.connect(keys.only_a)
    history = await client.get_workflow_handle(pathway_ids[secret]).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert history.events[0].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    assert payload.metadata["encoding"] == ENCODING and payload.metadata[KEY_ID_METADATA] == b"key-a"


async def test_free_text_is_not_readable_in_a_pg_dump_of_the_record(file_server: FileServer, keys: KeyMaterial) -> None:
    base_url = postgres_base_url()
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed (Debian: postgresql-client)")
    secret = distinctive_marker("pg-encrypted-note")
    with postgres_schema(base_url) as url:
        settings = keys.only_a.model_copy(
            update={"temporal_address": file_server.target, "task_queue": f"tq-{uuid.uuid4()}", "database_url": url}
        )
        engine = migrated(url)
        org = make_org(engine)
        client = await connect(settings)
        async with running_worker(client, settings, engine) as effects:
            noted = await run_pathway_with_notes(client, settings.task_queue, engine, effects.sealer, org, secret)
        engine.dispose()
        assert noted.record.follow_ups[0].note == f"Follow-up {secret}"
        schema = make_url(url).query["options"].removeprefix("-csearch_path=")  # type: ignore[union-attr]
        target = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
        dump = (
            await asyncio.to_thread(
                subprocess.run,
                [pg_dump, "--schema", str(schema), "--data-only", target],
                capture_output=True,
                check=True,
                timeout=120,
            )
        ).stdout
    assert b"sealed:v1:key-a:" in dump, "the dump holds the record"
    assert dump.count(secret.encode()) == 0
    assert dump.count(secret.split("-")[-1][:16].encode()) == 0
