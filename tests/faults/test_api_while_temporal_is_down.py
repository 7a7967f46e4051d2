"""The API is called while the Temporal server process is down: 503 with Retry-After, nothing half-written,
and nothing happens later on its own when Temporal returns; the client's retry then applies."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.service import RPCError, RPCStatusCode

from api.app import create_app
from core.db import build_engine
from core.settings import Settings
from models.pathway import pathway_id_for
from models.tables import AuditLogEntry, Notification, PathwayEventRow, PathwayRow, TeamReviewItem
from tests.ops.helpers import stop_process
from tests.support.fixtures import serving
from tests.support.helpers import NURSE, TEAM, eventually, intake_body, ok
from tests.support.helpers import client_reference as new_client_reference

from .helpers import TemporalServer, seed_staff_with_email, start_worker


def _rows_about(engine: Engine, pathway_id: str, since: datetime) -> dict[str, list[str]]:
    """What the database holds about a pathway: audit outcomes since `since`, and every other row."""
    with Session(engine) as session:
        return {
            "audit": [
                entry.outcome
                for entry in session.exec(select(AuditLogEntry).where(AuditLogEntry.pathway_id == pathway_id))
                if entry.at.replace(tzinfo=entry.at.tzinfo or UTC) >= since
            ],
            "events": [
                r.kind for r in session.exec(select(PathwayEventRow).where(PathwayEventRow.pathway_id == pathway_id))
            ],
            "notifications": [
                r.idempotency_key
                for r in session.exec(select(Notification).where(Notification.pathway_id == pathway_id))
            ],
            "team_reviews": [
                r.review_id for r in session.exec(select(TeamReviewItem).where(TeamReviewItem.pathway_id == pathway_id))
            ],
            "pathway": [r.stage for r in session.exec(select(PathwayRow).where(PathwayRow.pathway_id == pathway_id))],
        }


async def test_api_answers_503_with_retry_after_while_temporal_is_down_and_writes_nothing_half_way(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database_url = f"sqlite:///{tmp_path / 'pathways.db'}"
    tokens = seed_staff_with_email(database_url)
    nurse = {"Authorization": f"Bearer {tokens[NURSE]}"}
    engine = build_engine(database_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    worker = start_worker(server.address, queue, database_url, tmp_path / "worker.log")
    # The API as deployed: its own client (production `connect`) and engine from the settings.
    settings = Settings(
        temporal_address=server.address, task_queue=queue, database_url=database_url, var_dir=tmp_path / "api"
    )
    try:
        app = create_app(settings)
        async with serving(app) as api:
            existing = ok(await api.post("/pathways", json=intake_body(TEAM), headers=nurse), 201)
            existing_id = existing["pathway_id"]
            await eventually(
                lambda: _rows_about(engine, existing_id, datetime.min.replace(tzinfo=UTC))["events"],
                what="the first pathway's intake in the record",
            )
            before = _rows_about(engine, existing_id, datetime.min.replace(tzinfo=UTC))

            await asyncio.to_thread(server.stop)
            down_since = datetime.now(UTC)
            new_reference = new_client_reference()
            new_id = pathway_id_for(new_reference)
            started, acted = await asyncio.gather(
                api.post("/pathways", json=intake_body(TEAM, reference=new_reference), headers=nurse),
                api.post(f"/pathways/{existing_id}/feedback", json={"rating": 5}, headers=nurse),
            )
            for response in (started, acted):
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "5"
                assert "Temporal cannot be reached" in response.json()["detail"]
                assert "nothing was changed" in response.json()["detail"]
            # The operators' log says why staff were asked to retry, and what Temporal's client raised.
            answered = [record.getMessage() for record in caplog.records if "answered 503" in record.getMessage()]
            for path in ("/pathways", f"/pathways/{existing_id}/feedback"):
                said = [message for message in answered if message.startswith(f"POST {path} answered 503: ")]
                assert said and "Temporal cannot be reached" in said[0] and not said[0].endswith("(-)"), answered

            # Nothing half-written: the refused start left only its audit line, saying it was unavailable (its
            # reservation of the client's pathway went with it).
            assert _rows_about(engine, new_id, down_since) == {
                "audit": ["unavailable"],
                "events": [],
                "notifications": [],
                "team_reviews": [],
                "pathway": [],
            }
            after = _rows_about(engine, existing_id, down_since)
            assert after["audit"] == ["unavailable"]
            assert {
                k: v
                for k, v in _rows_about(engine, existing_id, datetime.min.replace(tzinfo=UTC)).items()
                if k != "audit"
            } == {k: v for k, v in before.items() if k != "audit"}

            await asyncio.to_thread(server.start)
            client = app.state.temporal_client
            # Temporal back: the refused start did not happen behind the client's back...
            with pytest.raises(RPCError) as not_found:
                await client.get_workflow_handle(new_id).describe()
            assert not_found.value.status is RPCStatusCode.NOT_FOUND
            state = ok(await api.get(f"/pathways/{existing_id}", headers=nurse))
            assert state["feedback"] == []
            # ...and the client's retry applies, once.
            retried = ok(
                await api.post("/pathways", json=intake_body(TEAM, reference=new_reference), headers=nurse),
                201,
            )
            assert retried["pathway_id"] == new_id
            ok(await api.post(f"/pathways/{existing_id}/feedback", json={"rating": 5}, headers=nurse))

            async def feedback() -> list[int] | None:
                ratings = [
                    f["rating"] for f in ok(await api.get(f"/pathways/{existing_id}", headers=nurse))["feedback"]
                ]
                return ratings or None

            assert await eventually(feedback, what="the retried feedback in the record") == [5]
            assert (
                await api.post("/pathways", json=intake_body(TEAM, reference=new_reference), headers=nurse)
            ).status_code == 409
    finally:
        await asyncio.to_thread(stop_process, worker.process)
        engine.dispose()
        server.stop()
