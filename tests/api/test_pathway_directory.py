"""Intake answers a receipt without waiting for the worker, and the API authorizes from its pathway
directory (written at intake) instead of asking Temporal for the pathway's team on every request."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowExecutionStatus

from core.pathways import start_pathway
from models.pathway import IntakeInput, ReferralSource, pathway_id_for
from models.tables import AuditLogEntry, PathwayDirectoryEntry
from tests.api.conftest import Org
from tests.api.helpers import intake_body, new_client_reference, ok
from tests.workflows.helpers import eventually


def _directory_team(engine: Engine, pathway_id: str) -> str | None:
    with Session(engine) as session:
        entry = session.get(PathwayDirectoryEntry, pathway_id)
        return entry.team if entry else None


def _audit_lines(engine: Engine, pathway_id: str) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        entries = session.exec(
            select(AuditLogEntry).where(AuditLogEntry.pathway_id == pathway_id).order_by(col(AuditLogEntry.id))
        ).all()
    return [(entry.staff_id, entry.action, entry.outcome) for entry in entries]


async def test_intake_answers_a_receipt_enters_the_team_and_the_state_follows(
    api: httpx.AsyncClient, org: Org, engine: Engine
) -> None:
    reference = new_client_reference()
    response = await api.post("/pathways", json=intake_body(org.team, reference), headers=org.nurse.auth)
    receipt = ok(response, 201)
    pathway_id = pathway_id_for(reference)
    assert receipt["pathway_id"] == pathway_id
    assert response.headers["Location"] == f"/pathways/{pathway_id}"
    assert (receipt["team"], receipt["stage"], receipt["registered_by"], receipt["demo"]) == (
        org.team,
        "awaiting_triage",
        org.nurse.staff_id,
        False,
    )
    assert _directory_team(engine, pathway_id) == org.team
    assert _audit_lines(engine, pathway_id) == [(org.nurse.staff_id, "start", "ok")]

    state = ok(await api.get(f"/pathways/{pathway_id}", headers=org.nurse.auth))
    assert (state["pathway_id"], state["stage"], state["intake"]["team"]) == (pathway_id, "awaiting_triage", org.team)
    assert [event["kind"] for event in state["events"]] == ["referral_received"]


async def test_refused_intake_enters_nothing_in_the_directory(api: httpx.AsyncClient, org: Org, engine: Engine) -> None:
    reference = new_client_reference()
    ok(await api.post("/pathways", json=intake_body(org.team, reference), headers=org.nurse.auth), 201)
    # The client already has an open pathway: another team's intake must not take the directory entry over.
    response = await api.post("/pathways", json=intake_body(org.other_team, reference), headers=org.outsider.auth)
    assert response.status_code == 409, response.text
    assert _directory_team(engine, pathway_id_for(reference)) == org.team
    # Nor may staff register a referral to a team they are not on.
    other_reference = new_client_reference()
    response = await api.post("/pathways", json=intake_body(org.team, other_reference), headers=org.outsider.auth)
    assert response.status_code == 403, response.text
    assert _directory_team(engine, pathway_id_for(other_reference)) is None


async def test_pathway_started_outside_the_api_is_authorized_from_its_search_attributes_and_entered(
    api: httpx.AsyncClient, org: Org, engine: Engine, client: Client, task_queue: str
) -> None:
    # As the demo seeding does, and as every pathway opened before the directory existed.
    intake = IntakeInput(
        client_reference=new_client_reference(),
        team=org.team,
        referral_source=ReferralSource.SELF_REFERRAL,
        reason="Started by the worker-side tooling",
        registered_by=org.nurse.staff_id,
    )
    handle = await start_pathway(client, task_queue, intake)
    assert _directory_team(engine, handle.id) is None

    # Another team's professional is refused, and a refusal enters nothing.
    response = await api.post(f"/pathways/{handle.id}/feedback", json={"rating": 3}, headers=org.outsider.auth)
    assert response.status_code == 403, response.text
    assert _directory_team(engine, handle.id) is None

    view = ok(await api.post(f"/pathways/{handle.id}/feedback", json={"rating": 3}, headers=org.nurse.auth))
    assert [feedback["rating"] for feedback in view["feedback"]] == [3]
    assert _directory_team(engine, handle.id) == org.team
    assert _audit_lines(engine, handle.id) == [
        (org.outsider.staff_id, "record_feedback", "denied"),
        (org.nurse.staff_id, "record_feedback", "ok"),
    ]


async def test_clients_next_pathway_on_another_team_moves_the_directory_entry(
    api: httpx.AsyncClient, org: Org, engine: Engine, client: Client
) -> None:
    reference = new_client_reference()
    pathway = f"/pathways/{pathway_id_for(reference)}"
    ok(await api.post("/pathways", json=intake_body(org.team, reference), headers=org.nurse.auth), 201)
    ok(await api.post(f"{pathway}/close", json={"reason": "moved_away", "note": "Moved"}, headers=org.nurse.auth))

    async def completed() -> bool:
        description = await client.get_workflow_handle(pathway_id_for(reference)).describe()
        return description.status is WorkflowExecutionStatus.COMPLETED

    await eventually(completed, what="the first pathway's workflow completed")
    # Acting on it now reaches a completed workflow: Temporal's refusal is answered as closed.
    response = await api.post(f"{pathway}/feedback", json={"rating": 3}, headers=org.nurse.auth)
    assert response.status_code == 409 and "closed" in response.json()["detail"], response.text
    # The client moved: the other team opens the client's next pathway under the same id.
    ok(await api.post("/pathways", json=intake_body(org.other_team, reference), headers=org.outsider.auth), 201)
    assert _directory_team(engine, pathway_id_for(reference)) == org.other_team

    response = await api.get(pathway, headers=org.nurse.auth)
    assert response.status_code == 403, response.text
    state = ok(await api.get(pathway, headers=org.outsider.auth))
    assert (state["intake"]["team"], state["stage"]) == (org.other_team, "awaiting_triage")


async def test_action_answers_the_view_without_the_timeline(api: httpx.AsyncClient, org: Org) -> None:
    receipt = ok(await api.post("/pathways", json=intake_body(org.team), headers=org.nurse.auth), 201)
    pathway = f"/pathways/{receipt['pathway_id']}"
    body = {"route": "health_check", "case_manager": org.nurse.staff_id}
    view = ok(await api.post(f"{pathway}/triage", json=body, headers=org.coordinator.auth))
    assert (view["stage"], view["case_manager"]) == ("assessment", org.nurse.staff_id)
    # The timeline has its own route; the answer of an action stays small however long the pathway runs.
    assert "events" not in view and "fired_deadline_keys" not in view
    timeline = ok(await api.get(f"{pathway}/timeline", headers=org.nurse.auth))
    assert "triaged" in [event["kind"] for event in timeline]
    assert timeline[-1]["sequence"] == view["last_event_sequence"]
