"""An Idempotency-Key makes a retried action apply once."""

from __future__ import annotations

import httpx

from .conftest import Org
from .helpers import ok, start


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
