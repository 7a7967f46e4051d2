"""A staff action reaches the record one way: the pathway's worker files it by the record activity after
the update's task (the API writes only its audit line). A read right after the answer shows the action (from
the live process until the activity has run), the record then holds it once, a worker sends its e-mails
within seconds, and a retry with the same Idempotency-Key after a lost answer applies it once. Real dev
server, worker, SQLite file and SMTP server.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from models import actions as a
from models.pathway import ContactChannel
from models.tables import AuditLogEntry, PathwayEventRow, PathwayRow
from tests.support.fixtures import Org, SmtpInbox, make_org, running_worker, serving, settings_for
from tests.support.helpers import eventually, ok, start_via_api
from workflows.actions import BY_FIELDS
from workflows.client import act, pathway_handle

FOLLOW_UP = {"channel": "phone", "note": "Called the client about the try-out"}


def _row(engine: Engine, pathway_id: str) -> PathwayRow:
    with Session(engine) as session:
        row = session.get(PathwayRow, pathway_id)
        assert row is not None
        return row


def _event_kinds(engine: Engine, pathway_id: str) -> list[str]:
    with Session(engine) as session:
        statement = (
            select(PathwayEventRow.kind)
            .where(col(PathwayEventRow.pathway_id) == pathway_id)
            .order_by(col(PathwayEventRow.sequence))
        )
        return list(session.exec(statement))


def _follow_ups_recorded(engine: Engine, pathway_id: str, count: int) -> bool:
    return _event_kinds(engine, pathway_id).count("follow_up_recorded") == count


def _audit(engine: Engine, pathway_id: str, action: str) -> list[AuditLogEntry]:
    with Session(engine) as session:
        statement = select(AuditLogEntry).where(
            col(AuditLogEntry.pathway_id) == pathway_id, col(AuditLogEntry.action) == action
        )
        return list(session.exec(statement))


async def _triaged(api: httpx.AsyncClient, org: Org, engine: Engine) -> str:
    record = await start_via_api(api, org.nurse.auth, org.team)
    pathway_id: str = record["pathway_id"]
    triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
    answer = ok(await api.post(f"/pathways/{pathway_id}/triage", json=triage, headers=org.coordinator.auth))
    await eventually(
        lambda: _row(engine, pathway_id).recorded_sequence == answer["last_event_sequence"],
        what="the triage in the record",
    )
    return pathway_id


async def test_an_action_is_read_back_at_once_and_filed_once_by_the_worker_after_its_task(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, client: Client
) -> None:
    pathway_id = await _triaged(api, org, sqlite_engine)
    answer = ok(await api.post(f"/pathways/{pathway_id}/follow-ups", json=FOLLOW_UP, headers=org.nurse.auth))
    assert "record" not in answer
    # Read right after the answer: the action is there, from the record or still from the live process.
    view = ok(await api.get(f"/pathways/{pathway_id}", headers=org.nurse.auth))
    assert view["follow_up_count"] == 1 and view["process"] == "running"
    timeline = ok(await api.get(f"/pathways/{pathway_id}/timeline", headers=org.nurse.auth))["items"]
    assert [item["kind"] for item in timeline].count("follow_up_recorded") == 1

    await eventually(
        lambda: _row(sqlite_engine, pathway_id).recorded_sequence == answer["last_event_sequence"],
        what="the follow-up in the record",
    )
    assert _event_kinds(sqlite_engine, pathway_id).count("follow_up_recorded") == 1
    [line] = _audit(sqlite_engine, pathway_id, "record_follow_up")
    assert line.outcome == "ok" and line.staff_id == org.nurse.staff_id
    # The one path: the workflow's record activity, scheduled after the update's task.
    history = await pathway_handle(client, pathway_id).fetch_history()
    kinds = [e.event_type for e in history.events]
    last_update = max(
        i for i, kind in enumerate(kinds) if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED in kinds[last_update:]


async def test_a_refused_action_files_nothing_and_its_audit_line_says_so(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    pathway_id = await _triaged(api, org, sqlite_engine)
    before = _row(sqlite_engine, pathway_id).recorded_sequence
    refused = await api.post(
        f"/pathways/{pathway_id}/sustainment/confirm",
        json={"held": True, "note": "Still at work"},
        headers=org.nurse.auth,
    )
    assert refused.status_code == 409, refused.text
    assert _row(sqlite_engine, pathway_id).recorded_sequence == before
    [line] = _audit(sqlite_engine, pathway_id, "confirm_sustainment")
    assert line.outcome == "rejected"


async def test_a_retry_with_the_same_key_after_a_lost_answer_applies_the_action_once(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, client: Client
) -> None:
    pathway_id = await _triaged(api, org, sqlite_engine)
    key = "follow-up-after-a-crash-1"
    # An API process that died after the update answered and before answering staff: Temporal has the action.
    fields = a.RecordFollowUp(channel=ContactChannel.PHONE, note=FOLLOW_UP["note"])
    lost = await act(
        pathway_handle(client, pathway_id),
        BY_FIELDS[a.RecordFollowUp],
        actor=org.nurse.staff_id,
        fields=fields,
        update_id=key,
    )
    # Staff reading the pathway meanwhile see the action.
    view = ok(await api.get(f"/pathways/{pathway_id}", headers=org.nurse.auth))
    assert view["follow_up_count"] == 1

    retried = ok(
        await api.post(
            f"/pathways/{pathway_id}/follow-ups", json=FOLLOW_UP, headers={**org.nurse.auth, "Idempotency-Key": key}
        )
    )
    assert retried["last_event_sequence"] == lost.last_event_sequence
    await eventually(
        lambda: _row(sqlite_engine, pathway_id).recorded_sequence == lost.last_event_sequence,
        what="the follow-up in the record",
    )
    assert _event_kinds(sqlite_engine, pathway_id).count("follow_up_recorded") == 1


@pytest.fixture
def mailing_settings(tmp_path: Path, task_queue: str, sqlite_url: str, smtp_inbox: SmtpInbox) -> Settings:
    smtp = smtp_inbox.settings().model_dump(include={n for n in Settings.model_fields if n.startswith("smtp_")})
    # The outbox sweep is far off: an e-mail that arrives in seconds was found by the worker's outbox poll.
    return settings_for(tmp_path, task_queue, sqlite_url, outbox_sweep_interval=timedelta(hours=1), **smtp)


async def test_the_e_mail_of_an_action_leaves_within_seconds(
    client: Client, mailing_settings: Settings, sqlite_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    org = make_org(sqlite_engine, emails=True)
    async with running_worker(client, mailing_settings, sqlite_engine):
        app = create_app(mailing_settings, temporal_client=client, engine=sqlite_engine)
        async with serving(app) as api:
            record = await start_via_api(api, org.nurse.auth, org.team)
            triage = {"route": "health_check", "case_manager": org.social_worker.staff_id}
            ok(await api.post(f"/pathways/{record['pathway_id']}/triage", json=triage, headers=org.coordinator.auth))
            address = f"{org.social_worker.staff_id}@hyvinvointialue.example"
            [mail] = await eventually(lambda: smtp_inbox.to(address), what="the new case manager's e-mail")
    assert record["pathway_id"] in mail.get_content()


async def test_staff_acting_and_reading_at_once_all_get_their_answers_on_few_database_threads(
    client: Client, settings: Settings, sqlite_engine: Engine, org: Org, worker: object
) -> None:
    # Fewer threads than requests, as fifty staff on a production API's 32: a request waiting for the worker
    # holds no connection (otherwise the threads end up waiting for connections held by requests that wait for
    # the worker, until the 30 s timeouts).
    app = create_app(settings.model_copy(update={"api_threads": 3}), temporal_client=client, engine=sqlite_engine)
    async with serving(app) as api:
        pathways = [await _triaged(api, org, sqlite_engine) for _ in range(4)]
        follow_ups = [
            api.post(f"/pathways/{pathway_id}/follow-ups", json=FOLLOW_UP, headers=org.nurse.auth)
            for pathway_id in pathways
            for _ in range(5)
        ]
        reads = [api.get(f"/pathways/{pathway_id}", headers=org.nurse.auth) for pathway_id in pathways * 5]
        responses = await asyncio.gather(*follow_ups, *reads)
    failed = [(response.status_code, response.text[:200]) for response in responses if response.status_code >= 300]
    assert failed == []
    for pathway_id in pathways:
        await eventually(partial(_follow_ups_recorded, sqlite_engine, pathway_id, 5), what="five follow-ups recorded")
        lines = _audit(sqlite_engine, pathway_id, "record_follow_up")
        assert [line.outcome for line in lines] == ["ok"] * 5


async def test_a_pathway_whose_process_was_stopped_reads_as_failed_and_says_how_to_recover(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, client: Client
) -> None:
    """Not 'closed': its record is open, its process gone (failed, or terminated by hand)."""
    pathway_id = await _triaged(api, org, sqlite_engine)
    await pathway_handle(client, pathway_id).terminate(reason="test: an operator stopped it")
    view = ok(await api.get(f"/pathways/{pathway_id}", headers=org.coordinator.auth))
    assert view["process"] == "failed" and "recover" in view["live_unavailable_reason"]
    assert view["available_actions"] == []
    refused = await api.post(f"/pathways/{pathway_id}/follow-ups", json=FOLLOW_UP, headers=org.nurse.auth)
    assert refused.status_code == 409 and "not closed, but its process has stopped" in refused.json()["detail"]
