"""An Idempotency-Key makes a retried action apply once."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from api.app import create_app
from api.services import pathways
from core.settings import Settings
from tests.workflows.helpers import running_worker

from .conftest import Org, serving
from .helpers import intake_body, ok, start


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

    assert len(first["follow_ups"]) == 1
    assert second == first
    timeline = ok(await api.get(f"{pathway}/timeline", headers=nurse))
    assert [event["kind"] for event in timeline].count("follow_up_recorded") == 1

    # A new key is a new action.
    third = ok(
        await api.post(f"{pathway}/follow-ups", json=body, headers={**nurse, "Idempotency-Key": "another-key-1"})
    )
    assert len(third["follow_ups"]) == 2


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
    client: Client, task_queue: str, settings: Settings, engine: Engine, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pathways, "WORKER_ANSWER_SECONDS", 1.0)
    nurse = org.nurse.auth
    async with serving(create_app(settings, temporal_client=client, engine=engine)) as api:
        # No worker polls this test's task queue yet: intake needs only Temporal, reading the state the worker.
        pathway_id = ok(await api.post("/pathways", json=intake_body(org.team), headers=nurse), 201)["pathway_id"]
        response = await api.get(f"/pathways/{pathway_id}", headers=nurse)
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "did not answer in time" in response.json()["detail"]

        retry = {**nurse, "Idempotency-Key": "feedback-while-worker-down"}
        body = {"rating": 4, "comment": "Good support"}
        response = await api.post(f"/pathways/{pathway_id}/feedback", json=body, headers=retry)
        assert response.status_code == 503
        assert "retry it with the same Idempotency-Key" in response.json()["detail"]

        async with running_worker(client, task_queue):
            state = ok(await api.post(f"/pathways/{pathway_id}/feedback", json=body, headers=retry))
    assert [feedback["rating"] for feedback in state["feedback"]] == [4]
