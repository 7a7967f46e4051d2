"""Every error status the API answers, each with a body that says what was wrong, and nothing changed."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.service import RetryConfig

from api.app import create_app
from core.crypto import RecordSealer
from core.db import session_scope
from core.settings import Settings
from core.temporal import data_converter
from models.events import ReferralReceived
from models.pathway import Language, ReferralSource, Stage, pathway_id_for
from models.tables import AuditLogEntry
from records import store
from tests.support.fixtures import Org, serving
from tests.support.helpers import client_reference as new_client_reference
from tests.support.helpers import intake_body, ok
from tests.support.helpers import start_via_api as start


async def _not_started(client: Client, pathway_id: str) -> bool:
    return not [w async for w in client.list_workflows(f"WorkflowId = '{pathway_id}'")]


async def test_missing_or_unknown_token_is_401_with_bearer_challenge(api: httpx.AsyncClient, org: Org) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        response = await api.get("/pathways", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "token" in response.json()["detail"]


async def test_personal_identity_code_as_client_reference_is_422_and_starts_nothing(
    api: httpx.AsyncClient, org: Org, client: Client
) -> None:
    response = await api.post("/pathways", json=intake_body(org.team, "131052-308T"), headers=org.nurse.auth)
    assert response.status_code == 422
    assert "personal identity code" in response.text
    # The rejected value is not echoed back.
    assert "131052-308T" not in response.text


async def test_inconsistent_referral_is_422_with_the_reason(api: httpx.AsyncClient, org: Org, client: Client) -> None:
    reference = new_client_reference()
    body = intake_body(org.team, reference, referring_organisation=None)
    response = await api.post("/pathways", json=body, headers=org.nurse.auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "a professional referral needs referring_organisation"
    assert await _not_started(client, pathway_id_for(reference))


async def test_policy_on_a_real_pathway_is_422(api: httpx.AsyncClient, org: Org, client: Client) -> None:
    reference = new_client_reference()
    body = intake_body(org.team, reference, policy={"triage_due_after": "PT1M"})
    response = await api.post("/pathways", json=body, headers=org.nurse.auth)
    assert response.status_code == 422
    assert "only for a demo pathway" in response.text
    assert await _not_started(client, pathway_id_for(reference))


async def test_second_open_pathway_for_a_client_is_409(api: httpx.AsyncClient, org: Org, sqlite_engine: Engine) -> None:
    reference = new_client_reference()
    await start(api, org.nurse.auth, org.team, client_reference=reference)
    response = await api.post("/pathways", json=intake_body(org.team, reference), headers=org.nurse.auth)
    assert response.status_code == 409
    assert "already has an open pathway" in response.json()["detail"]
    # Both intakes are on the client's record of who processed their data: the refused one as rejected, naming
    # the open pathway it was refused for.
    with Session(sqlite_engine) as session:
        lines = session.exec(
            select(AuditLogEntry.outcome)
            .where(AuditLogEntry.action == "start", AuditLogEntry.pathway_id == pathway_id_for(reference))
            .order_by(AuditLogEntry.id)  # type: ignore[arg-type]
        ).all()
    assert list(lines) == ["ok", "rejected"]


async def test_unknown_pathway_is_404(api: httpx.AsyncClient, org: Org) -> None:
    for method, path, body in (
        ("GET", "/pathways/pathway-client-nobody", None),
        ("GET", "/pathways/pathway-client-nobody/timeline", None),
        ("POST", "/pathways/pathway-client-nobody/close", {"reason": "other", "note": "x"}),
    ):
        response = await api.request(method, path, json=body, headers=org.coordinator.auth)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "no pathway pathway-client-nobody"}


async def test_action_the_pathway_cannot_take_now_is_409_with_the_reason(api: httpx.AsyncClient, org: Org) -> None:
    state = await start(api, org.nurse.auth, org.team)
    response = await api.post(
        f"/pathways/{state['pathway_id']}/assessment",
        json={"summary": "s", "recommendation": "r"},
        headers=org.nurse.auth,
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "completing the assessment is not possible at stage awaiting_triage (possible at: assessment)"
    )
    unchanged = ok(await api.get(f"/pathways/{state['pathway_id']}/timeline", headers=org.nurse.auth))
    assert [event["kind"] for event in unchanged["items"]] == ["referral_received"]


async def test_action_on_a_closed_pathway_is_409(api: httpx.AsyncClient, org: Org) -> None:
    state = await start(api, org.nurse.auth, org.team)
    pathway = f"/pathways/{state['pathway_id']}"
    ok(await api.post(f"{pathway}/close", json={"reason": "moved_away", "note": "Moved"}, headers=org.nurse.auth))
    response = await api.post(f"{pathway}/feedback", json={"rating": 3}, headers=org.nurse.auth)
    assert response.status_code == 409, response.text
    assert "closed" in response.json()["detail"]


async def test_case_manager_outside_the_team_unknown_or_admin_is_422(api: httpx.AsyncClient, org: Org) -> None:
    state = await start(api, org.nurse.auth, org.team)
    triage = f"/pathways/{state['pathway_id']}/triage"
    for case_manager, reason in (
        (org.outsider.staff_id, f"is not a member of the pathway's team {org.team}"),
        ("nobody.here", "no active staff member nobody.here"),
        (org.admin.staff_id, "cannot be a case manager"),
    ):
        response = await api.post(
            triage, json={"route": "health_check", "case_manager": case_manager}, headers=org.coordinator.auth
        )
        assert response.status_code == 422, case_manager
        error = response.json()["detail"][0]
        assert error["loc"] == ["body", "case_manager"] and reason in error["msg"]
    unchanged = ok(await api.get(f"/pathways/{state['pathway_id']}", headers=org.nurse.auth))
    assert unchanged["stage"] == "awaiting_triage"


async def test_schema_violations_are_422(api: httpx.AsyncClient, org: Org) -> None:
    state = await start(api, org.nurse.auth, org.team)
    pathway = f"/pathways/{state['pathway_id']}"
    # An actor in the body is refused: the actor is always the signed-in staff member.
    response = await api.post(
        f"{pathway}/feedback", json={"rating": 4, "actor": org.coordinator.staff_id}, headers=org.nurse.auth
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "actor"]
    response = await api.post(f"{pathway}/feedback", json={"rating": 9}, headers=org.nurse.auth)
    assert response.status_code == 422
    response = await api.post(f"{pathway}/triage", json={"route": "health_check"}, headers=org.nurse.auth)
    assert response.status_code == 422
    assert "triage must name the case_manager" in response.text


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_temporal_unreachable_is_503_for_what_needs_it_while_the_record_stays_readable(
    tmp_path: Path, sqlite_engine: Engine, org: Org, task_queue: str
) -> None:
    unreachable = await Client.connect(
        f"127.0.0.1:{_unused_port()}",
        lazy=True,
        data_converter=data_converter(),
        retry_config=RetryConfig(max_retries=0),
    )
    pathway_id = _recorded_pathway(sqlite_engine, org)
    settings = Settings(task_queue=task_queue, var_dir=tmp_path)
    async with serving(create_app(settings, temporal_client=unreachable, engine=sqlite_engine)) as api:
        nurse = org.nurse.auth
        reference = new_client_reference()
        for method, path, body in (
            ("POST", "/pathways", intake_body(org.team, reference)),
            ("POST", f"/pathways/{pathway_id}/feedback", {"rating": 4}),
        ):
            response = await api.request(method, path, json=body, headers=nurse)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "5"
            assert "Temporal cannot be reached" in response.json()["detail"]
        # The intake that could not start holds nothing: the client can be referred again at once.
        assert [item["pathway_id"] for item in ok(await api.get("/pathways", headers=nurse))["items"]] == [pathway_id]
        # The record is the database's: readable, with its live fields marked as the last recorded ones.
        record = ok(await api.get(f"/pathways/{pathway_id}", headers=nurse))
        assert record["process"] == "unavailable" and record["referral"]["reason"] == "Recorded before the outage"
        assert ok(await api.get("/me/caseload", headers=nurse)) == []
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"temporal": "unreachable", "database": "ok"}
        assert (await api.get("/healthz")).status_code == 200
    with Session(sqlite_engine) as session:
        outcomes = list(
            session.exec(
                select(AuditLogEntry.action, AuditLogEntry.outcome).where(AuditLogEntry.staff_id == org.nurse.staff_id)
            )
        )
    assert ("start", "unavailable") in outcomes and ("record_feedback", "unavailable") in outcomes
    assert ("read_record", "ok") in outcomes


def _recorded_pathway(engine: Engine, org: Org) -> str:
    """A pathway whose referral is in the database, as the worker writes it."""
    reference = new_client_reference()
    pathway_id = f"pathway-{reference}"
    now = datetime.now(UTC)
    referral = ReferralReceived(
        sequence=1,
        at=now,
        actor=org.nurse.staff_id,
        stage=Stage.AWAITING_TRIAGE,
        client_reference=reference,
        team=org.team,
        referral_source=ReferralSource.SELF_REFERRAL,
        client_language=Language.FI,
        remote_services_needed=False,
        referred_at=now,
        registered_by=org.nurse.staff_id,
        reason="Recorded before the outage",
    )
    with session_scope(engine) as session:
        store.file_events(
            session, RecordSealer(None), pathway_id=pathway_id, team=org.team, events=[referral], status=None
        )
    return pathway_id


async def test_the_api_starts_while_temporal_is_down_and_answers_503_until_it_is_back(
    tmp_path: Path, sqlite_engine: Engine, org: Org, task_queue: str
) -> None:
    # No injected client: the app's own lifespan connects, lazily, to an address where nothing listens.
    settings = Settings(task_queue=task_queue, var_dir=tmp_path, temporal_address=f"127.0.0.1:{_unused_port()}")
    async with serving(create_app(settings, engine=sqlite_engine)) as api:
        assert (await api.get("/healthz")).status_code == 200
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["temporal"] == "unreachable"
        response = await api.post("/pathways", json=intake_body(org.team), headers=org.nurse.auth)
        assert response.status_code == 503
        assert "Retry-After" in response.headers


async def test_ready_when_temporal_and_database_are_reachable(api: httpx.AsyncClient) -> None:
    assert ok(await api.get("/readyz")) == {"temporal": "ok", "database": "ok"}
    assert ok(await api.get("/healthz")) == {"status": "ok"}
