"""`python -m core.cli migrate`, `team add` and `staff add` against a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from api.services.staff import authenticate
from core.db import build_engine
from models.tables import Staff
from tests.ops.helpers import REPO_ROOT, clean_env


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=REPO_ROOT,
        env=clean_env(PATHWAYS_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


def staff_ids(database_url: str) -> list[str]:
    engine = build_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Staff.staff_id)))
    finally:
        engine.dispose()


def test_migrate_then_team_and_staff_add_issue_a_token_that_signs_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    migrated = cli(url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "is at revision" in migrated.stdout
    team = cli(url, "team", "add", "--team-id", "eura-worktime", "--name", "Eura work-ability team")
    assert team.returncode == 0, team.stderr
    added = cli(
        url, "staff", "add", "--staff-id", "nurse.aalto", "--name", "Aino Aalto", "--role", "professional",
        "--team", "eura-worktime",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    engine = build_engine(url)
    try:
        with Session(engine) as session:
            member = authenticate(session, token=token)
    finally:
        engine.dispose()
    assert (member.staff_id, member.role.value, member.teams) == (
        "nurse.aalto",
        "professional",
        frozenset({"eura-worktime"}),
    )


def test_staff_add_to_an_unknown_team_says_so_and_adds_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    assert cli(url, "migrate").returncode == 0
    result = cli(url, "staff", "add", "--staff-id", "nurse.aalto", "--name", "Aino", "--role", "professional",
                 "--team", "no-such-team")  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown team(s): no-such-team; add the team first"
    assert staff_ids(url) == []


def test_staff_add_on_an_unmigrated_database_asks_for_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    result = cli(url, "staff", "add", "--staff-id", "admin.aalto", "--name", "Aino", "--role", "admin")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
