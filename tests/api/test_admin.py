"""Staff and team administration over HTTP: POST /staff, tokens kept only hashed, deactivation (the CLI for
the first admin is tests/ops/test_cli_admin.py)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from api.security import hash_token
from models.tables import ApiToken, AuditLogEntry
from tests.support.fixtures import Org
from tests.support.helpers import eventually, ok
from tests.support.helpers import start_via_api as start


async def test_staff_added_through_the_api_signs_in_with_the_token_shown_once(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    body = {
        "staff_id": f"physio.{org.team}",
        "display_name": "Physiotherapist",
        "role": "professional",
        "teams": [org.team],
        "language": "sv",
    }
    created = ok(await api.post("/staff", json=body, headers=org.admin.auth), 201)
    token = created["token"]
    assert created["teams"] == [org.team]

    listed = ok(await api.get("/staff", headers={"Authorization": f"Bearer {token}"}))
    assert body["staff_id"] in {member["staff_id"] for member in listed}
    assert all("token" not in member for member in listed)
    with Session(sqlite_engine) as session:
        stored = session.exec(select(ApiToken.token_hash).where(ApiToken.staff_id == body["staff_id"])).all()
    assert stored == [hash_token(token)] and token not in stored

    again = await api.post("/staff", json=body, headers=org.admin.auth)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    unknown_team = await api.post("/staff", json={**body, "staff_id": "x.y", "teams": ["nope"]}, headers=org.admin.auth)
    assert unknown_team.status_code == 422 and "unknown team(s): nope" in unknown_team.text


async def test_teams_are_added_by_admins_and_listed(api: httpx.AsyncClient, org: Org) -> None:
    created = ok(
        await api.post("/teams", json={"team_id": f"kokkola-{org.team}", "name": "Kokkola"}, headers=org.admin.auth),
        201,
    )
    listed = ok(await api.get("/teams", headers=org.nurse.auth))
    assert created in listed
    duplicate = await api.post("/teams", json={"team_id": org.team, "name": "Again"}, headers=org.admin.auth)
    assert duplicate.status_code == 409


async def test_admin_replaces_a_lost_token_and_the_old_one_is_revoked(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    path = f"/staff/{org.nurse.staff_id}/tokens"
    assert (await api.post(path, json={}, headers=org.coordinator.auth)).status_code == 403
    unknown = await api.post("/staff/nobody.here/tokens", json={}, headers=org.admin.auth)
    assert unknown.status_code == 404 and "no staff member nobody.here" in unknown.json()["detail"]
    assert (await api.post("/staff/NOT A STAFF ID/tokens", json={}, headers=org.admin.auth)).status_code == 422
    with Session(sqlite_engine) as session:
        before = session.exec(select(ApiToken.token_hash).where(ApiToken.staff_id == org.nurse.staff_id)).all()
    assert before == [hash_token(org.nurse.token)]

    issued = ok(await api.post(path, json={"revoke_existing": True}, headers=org.admin.auth), 201)

    assert (issued["staff_id"], issued["tokens_revoked"]) == (org.nurse.staff_id, 1)
    ok(await api.get("/staff", headers={"Authorization": f"Bearer {issued['token']}"}))
    # The nurse's old token was never used through this API process, so no cache can still accept it.
    refused = await api.get("/staff", headers=org.nurse.auth)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    with Session(sqlite_engine) as session:
        tokens = session.exec(select(ApiToken).where(ApiToken.staff_id == org.nurse.staff_id)).all()
    assert sorted((token.token_hash, token.revoked_at is None) for token in tokens) == sorted(
        [(hash_token(org.nurse.token), False), (hash_token(issued["token"]), True)]
    )
    assert issued["token"] not in {token.token_hash for token in tokens}
    with Session(sqlite_engine) as session:
        audit = session.exec(select(AuditLogEntry).where(AuditLogEntry.staff_id == org.admin.staff_id)).all()
    assert [(line.action, line.outcome) for line in audit] == [
        ("issue_token:nobody.here", "not_found"),
        (f"issue_token:{org.nurse.staff_id}", "ok"),
    ]


async def test_deactivating_a_case_manager_revokes_their_tokens_and_counts_the_pathways_to_hand_over(
    api: httpx.AsyncClient, org: Org, client: Client, sqlite_engine: Engine
) -> None:
    pathway = await start(api, org.coordinator.auth, org.team)
    triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
    ok(await api.post(f"/pathways/{pathway['pathway_id']}/triage", json=triage, headers=org.coordinator.auth))
    managed = f"CaseManager = '{org.nurse.staff_id}' AND ExecutionStatus = 'Running'"

    async def visible() -> bool:
        return (await client.count_workflows(managed)).count == 1

    await eventually(visible, what="the pathway listed under its case manager")
    assert (await api.post(f"/staff/{org.nurse.staff_id}/deactivate", headers=org.nurse.auth)).status_code == 403
    missing = await api.post("/staff/nobody.here/deactivate", headers=org.admin.auth)
    assert missing.status_code == 404
    own = await api.post(f"/staff/{org.admin.staff_id}/deactivate", headers=org.admin.auth)
    assert own.status_code == 409 and "your own account" in own.json()["detail"]

    first = ok(await api.post(f"/staff/{org.nurse.staff_id}/deactivate", headers=org.admin.auth))
    again = ok(await api.post(f"/staff/{org.nurse.staff_id}/deactivate", headers=org.admin.auth))

    assert first == {
        "staff_id": org.nurse.staff_id,
        "active": False,
        "tokens_revoked": 1,
        "open_pathways_as_case_manager": 1,
    }
    assert (again["tokens_revoked"], again["open_pathways_as_case_manager"]) == (0, 1)
    with Session(sqlite_engine) as session:
        audit = session.exec(select(AuditLogEntry).where(AuditLogEntry.staff_id == org.admin.staff_id)).all()
    assert [(line.action, line.outcome) for line in audit] == [
        ("deactivate_staff:nobody.here", "not_found"),
        (f"deactivate_staff:{org.admin.staff_id}", "rejected"),
        (f"deactivate_staff:{org.nurse.staff_id}", "ok"),
        (f"deactivate_staff:{org.nurse.staff_id}", "ok"),
    ]
    # The nurse first signed in above (the refused deactivation), so the token cache may still hold the token;
    # the database has it revoked, and no new token can be issued to a deactivated member.
    refused = await api.post(f"/staff/{org.nurse.staff_id}/tokens", json={}, headers=org.admin.auth)
    assert refused.status_code == 409 and "deactivated" in refused.json()["detail"]
    listed = ok(await api.get("/staff", headers=org.admin.auth))
    assert {member["staff_id"]: member["active"] for member in listed}[org.nurse.staff_id] is False
    handover = ok(await api.get("/pathways", params={"case_manager": org.nurse.staff_id}, headers=org.coordinator.auth))
    assert [item["pathway_id"] for item in handover["items"]] == [pathway["pathway_id"]]
    # The coordinator hands the pathway over; the departed member can no longer be named.
    body = {"case_manager": org.social_worker.staff_id, "reason": "the case manager left"}
    ok(await api.post(f"/pathways/{pathway['pathway_id']}/case-manager", json=body, headers=org.coordinator.auth))
    back = await api.post(
        f"/pathways/{pathway['pathway_id']}/case-manager",
        json={"case_manager": org.nurse.staff_id, "reason": "back again"},
        headers=org.coordinator.auth,
    )
    assert back.status_code == 422 and f"no active staff member {org.nurse.staff_id}" in back.text
