"""Who may do what: each role against each kind of route, and every pathway access in the audit log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.tables import AuditLogEntry
from tests.support.fixtures import Member as Staff
from tests.support.fixtures import Org
from tests.support.helpers import intake_body, ok
from tests.support.helpers import start_via_api as start

ROLES = ("admin", "coordinator", "professional", "outsider", "other_coordinator")

# route kind -> the status each role gets (outsider: a professional of another team). A coordinator of
# another team is an outsider to this team's pathways too (added below).
MATRIX: dict[str, dict[str, int]] = {
    "start_pathway": {"admin": 403, "coordinator": 201, "professional": 201, "outsider": 403},
    "list_pathways": {"admin": 403, "coordinator": 200, "professional": 200, "outsider": 200},
    "read_pathway": {"admin": 403, "coordinator": 200, "professional": 200, "outsider": 403},
    "read_timeline": {"admin": 403, "coordinator": 200, "professional": 200, "outsider": 403},
    "action": {"admin": 403, "coordinator": 200, "professional": 200, "outsider": 403},
    "reassign_case_manager": {"admin": 403, "coordinator": 200, "professional": 403, "outsider": 403},
    "decide_team_review": {"admin": 403, "coordinator": 200, "professional": 403, "outsider": 403},
    "read_audit": {"admin": 403, "coordinator": 200, "professional": 403, "outsider": 403},
    "caseload": {"admin": 403, "coordinator": 200, "professional": 200, "outsider": 200},
    "team_reviews": {"admin": 403, "coordinator": 200, "professional": 200, "outsider": 200},
    "list_staff": {"admin": 200, "coordinator": 200, "professional": 200, "outsider": 200},
    "create_staff": {"admin": 201, "coordinator": 403, "professional": 403, "outsider": 403},
    "list_teams": {"admin": 200, "coordinator": 200, "professional": 200, "outsider": 200},
    "create_team": {"admin": 201, "coordinator": 403, "professional": 403, "outsider": 403},
    "notifications": {"admin": 200, "coordinator": 200, "professional": 200, "outsider": 200},
}


for statuses in MATRIX.values():
    statuses["other_coordinator"] = statuses["outsider"]


def _who(org: Org, role: str) -> Staff:
    return {
        "admin": org.admin,
        "coordinator": org.coordinator,
        "professional": org.nurse,
        "outsider": org.outsider,
        "other_coordinator": org.other_coordinator,
    }[role]


async def _triaged_pathway(api: httpx.AsyncClient, org: Org, *, review: bool = False) -> str:
    state = await start(api, org.nurse.auth, org.team)
    pathway = f"/pathways/{state['pathway_id']}"
    ok(
        await api.post(
            f"{pathway}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=org.nurse.auth,
        )
    )
    if review:
        ok(await api.post(f"{pathway}/team-review", json={"reason": "Stuck"}, headers=org.nurse.auth))
    return str(state["pathway_id"])


async def _request(api: httpx.AsyncClient, org: Org, kind: str, role: str) -> httpx.Response:
    auth = _who(org, role).auth
    tag = f"{role[:5]}{kind[:6]}".replace("_", "")
    request: tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]
    body: dict[str, Any]
    if kind == "start_pathway":
        request = ("POST", "/pathways", intake_body(org.team), None)
    elif kind == "list_pathways":
        request = ("GET", "/pathways", None, None)
    elif kind in ("read_pathway", "read_timeline"):
        pathway = await _triaged_pathway(api, org)
        request = ("GET", f"/pathways/{pathway}" + ("/timeline" if kind == "read_timeline" else ""), None, None)
    elif kind == "action":
        pathway = await _triaged_pathway(api, org)
        request = ("POST", f"/pathways/{pathway}/follow-ups", {"channel": "phone", "note": "Called"}, None)
    elif kind == "reassign_case_manager":
        pathway = await _triaged_pathway(api, org)
        body = {"case_manager": org.social_worker.staff_id, "reason": "Social work need"}
        request = ("POST", f"/pathways/{pathway}/case-manager", body, None)
    elif kind == "decide_team_review":
        pathway = await _triaged_pathway(api, org, review=True)
        request = ("POST", f"/pathways/{pathway}/team-review/decision", {"decision": "continue", "note": "ok"}, None)
    elif kind == "read_audit":
        pathway = await _triaged_pathway(api, org)
        request = ("GET", f"/pathways/{pathway}/audit", None, None)
    elif kind == "caseload":
        request = ("GET", "/me/caseload", None, None)
    elif kind == "team_reviews":
        request = ("GET", "/team-reviews", None, None)
    elif kind == "list_staff":
        request = ("GET", "/staff", None, None)
    elif kind == "create_staff":
        body = {
            "staff_id": f"new.{tag}.{org.team}",
            "display_name": "New",
            "role": "professional",
            "teams": [org.team],
        }
        request = ("POST", "/staff", body, None)
    elif kind == "list_teams":
        request = ("GET", "/teams", None, None)
    elif kind == "create_team":
        request = ("POST", "/teams", {"team_id": f"t-{tag}-{org.team}", "name": "New team"}, None)
    else:
        request = ("GET", "/notifications", None, None)
    method, path, json, params = request
    return await api.request(method, path, json=json, params=params, headers=auth)


@pytest.mark.parametrize("kind", list(MATRIX))
async def test_authorization_matrix(api: httpx.AsyncClient, org: Org, kind: str) -> None:
    for role in ROLES:
        response = await _request(api, org, kind, role)
        expected = MATRIX[kind][role]
        assert response.status_code == expected, f"{kind} as {role}: {response.status_code} {response.text}"
        if expected == 403:
            assert response.json()["detail"], "a 403 says why"


async def test_outsider_cannot_list_another_team(api: httpx.AsyncClient, org: Org) -> None:
    response = await api.get("/pathways", params={"team": org.team}, headers=org.outsider.auth)
    assert response.status_code == 403
    assert f"not team {org.team}" in response.json()["detail"]


async def test_reads_actions_and_denied_attempts_are_audited(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    pathway = await _triaged_pathway(api, org)
    ok(await api.get(f"/pathways/{pathway}", headers=org.coordinator.auth))
    assert (await api.get(f"/pathways/{pathway}", headers=org.outsider.auth)).status_code == 403
    assert (await api.get(f"/pathways/{pathway}/timeline", headers=org.admin.auth)).status_code == 403
    with Session(sqlite_engine) as session:
        entries = session.exec(
            select(AuditLogEntry).where(AuditLogEntry.pathway_id == pathway).order_by(col(AuditLogEntry.id))
        ).all()
    lines = [(entry.staff_id, entry.action, entry.outcome) for entry in entries]
    assert lines == [
        (org.nurse.staff_id, "start", "ok"),
        (org.nurse.staff_id, "read_record", "ok"),  # helpers.start reads the new pathway's state
        (org.nurse.staff_id, "triage", "ok"),
        (org.coordinator.staff_id, "read_record", "ok"),
        (org.outsider.staff_id, "read_record", "denied"),
        (org.admin.staff_id, "read_timeline", "denied"),
    ]
    assert all(entry.at is not None for entry in entries)


async def test_every_staff_action_has_one_audit_line_with_its_outcome(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """An action's line is written before the action runs (one hop to a thread with the access check) and corrected
    when the action then fails: one line per attempt, whoever refused it (the access check, the API's check of the
    names it gives, or the workflow's rules)."""
    pathway = await _triaged_pathway(api, org)
    path = f"/pathways/{pathway}"
    follow_up = {"channel": "phone", "note": "Called"}
    ok(await api.post(f"{path}/follow-ups", json=follow_up, headers=org.nurse.auth))
    assert (await api.post(f"{path}/follow-ups", json=follow_up, headers=org.outsider.auth)).status_code == 403
    triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
    refused = await api.post(f"{path}/triage", json=triage, headers=org.nurse.auth)
    assert refused.status_code == 409, refused.text
    unknown = {"case_manager": "nobody.here", "reason": "Social work need"}
    invalid = await api.post(f"{path}/case-manager", json=unknown, headers=org.coordinator.auth)
    assert invalid.status_code == 422, invalid.text
    assert (await api.post(f"{path}/case-manager", json=unknown, headers=org.nurse.auth)).status_code == 403
    ok(await api.post(f"{path}/follow-ups", json=follow_up, headers=org.nurse.auth))
    missing = await api.post(f"{path}x9/follow-ups", json=follow_up, headers=org.nurse.auth)
    assert missing.status_code == 404, missing.text
    with Session(sqlite_engine) as session:
        entries = session.exec(
            select(AuditLogEntry)
            .where(col(AuditLogEntry.pathway_id).in_([pathway, f"{pathway}x9"]))
            .order_by(col(AuditLogEntry.id))
        ).all()
    lines = [(entry.staff_id, entry.action, entry.outcome) for entry in entries]
    assert lines[3:] == [  # after the start, the start's read and the triage (the test above)
        (org.nurse.staff_id, "record_follow_up", "ok"),
        (org.outsider.staff_id, "record_follow_up", "denied"),
        (org.nurse.staff_id, "triage", "rejected"),
        (org.coordinator.staff_id, "assign_case_manager", "invalid"),
        (org.nurse.staff_id, "assign_case_manager", "denied"),
        (org.nurse.staff_id, "record_follow_up", "ok"),
        (org.nurse.staff_id, "record_follow_up", "not_found"),
    ]
