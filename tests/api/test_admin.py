"""Staff and team administration over HTTP: POST /staff (no token for anyone else), people's own tokens kept
only hashed, an administrator's revocation, deactivation (the CLI for the first admin and service accounts is
tests/ops/test_cli_admin.py)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from api.app import create_app
from api.security import hash_token
from core.settings import Settings
from models.tables import ApiToken, AuditLogEntry
from tests.support.fixtures import Org, serving
from tests.support.helpers import eventually, ok
from tests.support.helpers import start_via_api as start


async def test_an_administrator_adds_a_person_without_a_token_and_the_person_makes_their_own(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """An administrator could mint a working token for any nurse (POST /staff, POST /staff/{id}/tokens) and read
    pathways as them; now people make their own tokens, shown once, and the administrator can only revoke."""
    body = {
        "staff_id": f"physio.{org.team}",
        "display_name": "Physiotherapist",
        "role": "professional",
        "teams": [org.team],
        "language": "sv",
    }
    created = ok(await api.post("/staff", json=body, headers=org.admin.auth), 201)
    assert "token" not in created and created["teams"] == [org.team]
    with Session(sqlite_engine) as session:
        assert session.exec(select(ApiToken).where(ApiToken.staff_id == body["staff_id"])).all() == []
    minted = await api.post(f"/staff/{org.nurse.staff_id}/tokens", json={}, headers=org.admin.auth)
    assert minted.status_code in (404, 405), "no route makes a token for someone else"
    service = await api.post("/staff", json={**body, "staff_id": "svc.x", "role": "service"}, headers=org.admin.auth)
    assert service.status_code == 422 and "command line" in service.text

    # The nurse makes a token for a script of theirs: shown once, kept hashed, listed by its public id.
    made = ok(await api.post("/me/tokens", json={"label": "monthly export", "days": 7}, headers=org.nurse.auth), 201)
    script = {"Authorization": f"Bearer {made['token']}"}
    assert ok(await api.get("/me/caseload", headers=script)) == []
    listed = ok(await api.get("/me/tokens", headers=org.nurse.auth))
    assert {token["token_id"] for token in listed} >= {made["token_id"]}
    assert all("token" not in token for token in listed)
    with Session(sqlite_engine) as session:
        stored = session.exec(select(ApiToken.token_hash).where(ApiToken.token_id == made["token_id"])).one()
    assert stored == hash_token(made["token"])

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


async def test_an_administrator_revokes_a_leaked_token_and_its_owner_revokes_their_own(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    path = f"/staff/{org.nurse.staff_id}/tokens/revoke"
    assert (await api.post(path, headers=org.coordinator.auth)).status_code == 403
    unknown = await api.post("/staff/nobody.here/tokens/revoke", headers=org.admin.auth)
    assert unknown.status_code == 404 and "no staff member nobody.here" in unknown.json()["detail"]
    own = ok(await api.post("/me/tokens", json={"label": "script"}, headers=org.social_worker.auth), 201)
    revoked_own = ok(await api.delete(f"/me/tokens/{own['token_id']}", headers=org.social_worker.auth))
    assert revoked_own["revoked_at"] is not None
    assert (await api.get("/me/caseload", headers={"Authorization": f"Bearer {own['token']}"})).status_code == 401
    other = await api.delete(f"/me/tokens/{own['token_id']}", headers=org.coordinator.auth)
    assert other.status_code == 404, "nobody revokes another's token by its id"

    revoked = ok(await api.post(path, headers=org.admin.auth))
    assert revoked == {"staff_id": org.nurse.staff_id, "tokens_revoked": 1}
    # The nurse's token was never used through this API process, so no cache can still accept it.
    refused = await api.get("/staff", headers=org.nurse.auth)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    with Session(sqlite_engine) as session:
        audit = session.exec(select(AuditLogEntry).where(AuditLogEntry.staff_id == org.admin.staff_id)).all()
    assert [(line.action, line.outcome) for line in audit] == [
        ("revoke_tokens:nobody.here", "not_found"),
        (f"revoke_tokens:{org.nurse.staff_id}", "ok"),
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


async def test_where_the_provider_gives_role_and_teams_people_make_no_api_tokens(
    client: Client, settings: Settings, sqlite_engine: Engine, org: Org
) -> None:
    """A token would carry the staff table's role and teams, not the directory's: scripts use the provider's."""
    app = create_app(
        settings.model_copy(update={"oidc_role_claim": "groups"}), temporal_client=client, engine=sqlite_engine
    )
    async with serving(app) as api:
        refused = await api.post("/me/tokens", json={"label": "script"}, headers=org.nurse.auth)
    assert refused.status_code == 403 and "identity provider" in refused.json()["detail"]
