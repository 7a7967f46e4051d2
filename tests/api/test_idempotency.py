"""An Idempotency-Key makes a retried action apply once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from api.app import create_app
from api.services import pathways
from core.settings import Settings
from tests.support.fixtures import Org, running_worker, serving
from tests.support.helpers import eventually, intake_body, ok
from tests.support.helpers import start_via_api as start


async def test_retried_action_with_the_same_idempotency_key_applies_once(api: httpx.AsyncClient, org: Org) -> None:
    nurse = org.nurse.auth
    state = await start(api, nurse, org.team)
    pathway = f"/pathways/{state['pathway_id']}"
    ok(
        await api.post(
            f"{pathway}/triage", json={"route": "health_check", "case_manager": org.nurse.staff_id}, headers=nurse
        )
    )
    body = {"channel": "phone", "note": "Called the client"}
    retry = {**nurse, "Idempotency-Key": "follow-up-2026-11-24-0001"}

    first = ok(await api.post(f"{pathway}/follow-ups", json=body, headers=retry))
    second = ok(await api.post(f"{pathway}/follow-ups", json=body, headers=retry))

    assert second == first, "a retry answers with the first result"
    assert ok(await api.get(pathway, headers=nurse))["follow_up_count"] == 1
    timeline = ok(await api.get(f"{pathway}/timeline", headers=nurse))["items"]
    assert [event["kind"] for event in timeline].count("follow_up_recorded") == 1

    # A new key is a new action.
    ok(await api.post(f"{pathway}/follow-ups", json=body, headers={**nurse, "Idempotency-Key": "another-key-1"}))
    assert ok(await api.get(pathway, headers=nurse))["follow_up_count"] == 2


async def test_malformed_idempotency_key_is_422(api: httpx.AsyncClient, org: Org) -> None:
    state = await start(api, org.nurse.auth, org.team)
    response = await api.post(
        f"/pathways/{state['pathway_id']}/feedback",
        json={"rating": 4},
        headers={**org.nurse.auth, "Idempotency-Key": "no spaces allowed"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_action_unanswered_for_lack_of_a_worker_is_503_and_a_retry_applies_it_once(
    client: Client,
    task_queue: str,
    settings: Settings,
    sqlite_engine: Engine,
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pathways, "WORKER_ANSWER_SECONDS", 1.0)
    nurse = org.nurse.auth
    async with serving(create_app(settings, temporal_client=client, engine=sqlite_engine)) as api:
        # No worker polls this test's task queue yet: intake needs only Temporal and the database; the
        # record's first event waits for the worker.
        pathway_id = ok(await api.post("/pathways", json=intake_body(org.team), headers=nurse), 201)["pathway_id"]
        response = await api.get(f"/pathways/{pathway_id}", headers=nurse)
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "has not run yet" in response.json()["detail"]

        retry = {**nurse, "Idempotency-Key": "feedback-while-worker-down"}
        body = {"rating": 4, "comment": "Good support"}
        response = await api.post(f"/pathways/{pathway_id}/feedback", json=body, headers=retry)
        assert response.status_code == 503
        assert "retry it with the same Idempotency-Key" in response.json()["detail"]

        async with running_worker(client, settings, sqlite_engine):
            ok(await api.post(f"/pathways/{pathway_id}/feedback", json=body, headers=retry))
            state = await eventually(lambda: _with_feedback(api, pathway_id, nurse), what="the feedback in the record")
    assert [feedback["rating"] for feedback in state["feedback"]] == [4]


async def _with_feedback(api: httpx.AsyncClient, pathway_id: str, auth: dict[str, str]) -> dict[str, Any] | None:
    response = await api.get(f"/pathways/{pathway_id}", headers=auth)
    return response.json() if response.status_code == 200 and response.json()["feedback"] else None
