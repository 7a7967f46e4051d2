"""Staff and team administration: the CLI for the first admin, POST /staff, and tokens kept only hashed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.admin import main
from api.security import hash_token
from core.db import migrate_to_head
from models.tables import ApiToken

from .conftest import Org
from .helpers import ok


def test_cli_adds_a_team_and_the_first_admin_and_prints_the_token_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHWAYS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    migrate_to_head(f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["add-team", "--team-id", "eura-team", "--name", "Eura work-ability team"]) == 0
    assert main(["add-staff", "--staff-id", "admin.aalto", "--name", "Aino Aalto", "--role", "admin"]) == 0
    output = capsys.readouterr().out.splitlines()
    token = output[-1]
    assert output[-2].startswith("staff member admin.aalto added")
    assert len(token) >= 40

    assert main(["add-staff", "--staff-id", "admin.aalto", "--name", "Again", "--role", "admin"]) == 1
    assert "already exists" in capsys.readouterr().err
    args = ["add-staff", "--staff-id", "nurse.virtanen", "--name", "N", "--role", "professional", "--team", "nope"]
    assert main(args) == 1
    assert "unknown team(s): nope" in capsys.readouterr().err


def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    env = {**os.environ, "PATHWAYS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    migrate_to_head(f"sqlite:///{tmp_path / 'cli.db'}")
    command = [sys.executable, "-m", "api.admin", "add-staff", "--staff-id", "admin.first", "--name", "First"]
    result = subprocess.run([*command, "--role", "admin"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()[-1]) >= 40


async def test_staff_added_through_the_api_signs_in_with_the_token_shown_once(
    api: httpx.AsyncClient, org: Org, engine: Engine
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
    with Session(engine) as session:
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
