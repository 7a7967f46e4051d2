"""`python -m ops.cli` migrate, team add, the staff and service-account commands against a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session, select

from api.errors import NotAuthenticatedError
from api.services.staff import authenticate
from core.db import build_engine
from models.tables import Staff
from tests.ops.helpers import REPO_ROOT, clean_env


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        cwd=REPO_ROOT,
        env=clean_env(PATHWAYS_DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def database_session(database_url: str) -> Iterator[Session]:
    engine = build_engine(database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def staff_ids(database_url: str) -> list[str]:
    with database_session(database_url) as session:
        return list(session.exec(select(Staff.staff_id)))


def test_migrate_then_the_first_administrator_gets_a_token_and_people_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    migrated = cli(url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "is at revision" in migrated.stdout
    team = cli(url, "team", "add", "--team-id", "eura-worktime", "--name", "Eura work-ability team")
    assert team.returncode == 0, team.stderr
    admin = cli(url, "staff", "add", "--staff-id", "admin.aalto", "--name", "Aino Aalto", "--role", "admin")
    assert admin.returncode == 0, admin.stderr
    token = admin.stdout.strip().splitlines()[-1]
    with database_session(url) as session:
        member = authenticate(session, token=token)
    assert (member.staff_id, member.role.value) == ("admin.aalto", "admin")
    nurse = cli(url, "staff", "add", "--staff-id", "nurse.aalto", "--name", "Aino", "--role", "professional",
                "--team", "eura-worktime")  # fmt: skip
    assert nurse.returncode == 0, nurse.stderr
    assert "make their own API tokens" in nurse.stdout and len(nurse.stdout.strip().splitlines()) == 1
    refused = cli(url, "staff", "token", "--staff-id", "nurse.aalto")
    assert refused.returncode == 2 and "people make their own API tokens" in refused.stderr


def test_linking_a_sign_in_identity_on_the_command_line_is_audited_and_told(tmp_path: Path) -> None:
    from models.tables import AuditLogEntry, Notification

    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    for args in (
        ("migrate",),
        ("team", "add", "--team-id", "eura-worktime", "--name", "Eura work-ability team"),
        ("staff", "add", "--staff-id", "nurse.aalto", "--name", "Aino", "--role", "professional", "--team",
         "eura-worktime"),
        ("staff", "add", "--staff-id", "coord.aalto", "--name", "Kari", "--role", "coordinator", "--team",
         "eura-worktime", "--sign-in-subject", "sub-coordinator"),
    ):  # fmt: skip
        done = cli(url, *args)
        assert done.returncode == 0, done.stderr
    linked = cli(url, "staff", "link", "--staff-id", "nurse.aalto", "--subject", "sub-nurse")
    assert linked.returncode == 0 and "they and their coordinators are told" in linked.stdout, linked.stderr
    taken = cli(url, "staff", "link", "--staff-id", "nurse.aalto", "--subject", "sub-coordinator")
    assert taken.returncode == 1 and "already linked to staff member coord.aalto" in taken.stderr
    with database_session(url) as session:
        lines = [(line.staff_id, line.action, line.outcome) for line in session.exec(select(AuditLogEntry))]
        told = sorted(row.recipient for row in session.exec(select(Notification)) if row.kind == "identity_linked")
    assert lines == [
        ("ops.cli", "link_identity:nurse.aalto", "ok"),
        ("ops.cli", "link_identity:nurse.aalto", "rejected"),
    ]
    assert told == ["coord.aalto", "nurse.aalto"]


def test_a_service_account_has_its_actions_and_purpose_and_an_unknown_action_is_refused(tmp_path: Path) -> None:
    url, token = _with_service(tmp_path)
    with database_session(url) as session:
        member = authenticate(session, token=token)
    assert member.is_service and member.allowed_actions == {"list_pathways", "read_record"}
    assert member.declared_purpose == "reporting: monthly statistics" and member.teams == {"eura-worktime"}
    bad = cli(url, "service", "add", "--id", "svc.bad", "--name", "Bad", "--team", "eura-worktime",
              "--action", "decode_everything", "--purpose", "x")  # fmt: skip
    assert bad.returncode == 2 and "unknown action(s) decode_everything" in bad.stderr and "read_record" in bad.stderr
    assert "svc.bad" not in staff_ids(url)


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


def _signs_in(database_url: str, token: str) -> bool:
    with database_session(database_url) as session:
        try:
            authenticate(session, token=token)
        except NotAuthenticatedError:
            return False
        return True


def _with_service(tmp_path: Path) -> tuple[str, str]:
    """A migrated database with one service account; its URL and the account's first token."""
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    assert cli(url, "migrate").returncode == 0
    assert cli(url, "team", "add", "--team-id", "eura-worktime", "--name", "Eura").returncode == 0
    added = cli(url, "service", "add", "--id", "svc.stats", "--name", "Statistics", "--team", "eura-worktime",
                "--action", "list_pathways", "--action", "read_record",
                "--purpose", "reporting: monthly statistics")  # fmt: skip
    assert added.returncode == 0, added.stderr
    return url, added.stdout.strip().splitlines()[-1]


def test_staff_token_issues_a_service_account_another_token_and_can_revoke_the_lost_ones(tmp_path: Path) -> None:
    url, first = _with_service(tmp_path)

    second = cli(url, "staff", "token", "--staff-id", "svc.stats")
    assert second.returncode == 0, second.stderr
    second_token = second.stdout.strip().splitlines()[-1]
    assert second_token != first
    assert _signs_in(url, first) and _signs_in(url, second_token)

    replaced = cli(url, "staff", "token", "--staff-id", "svc.stats", "--revoke-existing")
    assert replaced.returncode == 0, replaced.stderr
    assert "their other tokens are revoked" in replaced.stdout
    third_token = replaced.stdout.strip().splitlines()[-1]
    assert (_signs_in(url, first), _signs_in(url, second_token), _signs_in(url, third_token)) == (False, False, True)


def test_staff_deactivate_revokes_every_token_and_keeps_the_member_on_record(tmp_path: Path) -> None:
    url, first = _with_service(tmp_path)
    second = cli(url, "staff", "token", "--staff-id", "svc.stats").stdout.strip().splitlines()[-1]

    result = cli(url, "staff", "deactivate", "--staff-id", "svc.stats")
    assert result.returncode == 0, result.stderr
    assert "svc.stats deactivated, 2 token(s) revoked" in result.stdout
    assert "within 30 s" in result.stdout
    assert not _signs_in(url, first) and not _signs_in(url, second)
    with database_session(url) as session:
        member = session.get(Staff, "svc.stats")
        assert member is not None and member.active is False

    again = cli(url, "staff", "deactivate", "--staff-id", "svc.stats")
    assert again.returncode == 0 and "0 token(s) revoked" in again.stdout
    refused = cli(url, "staff", "token", "--staff-id", "svc.stats")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: staff member svc.stats is deactivated; a deactivated member gets no tokens"


def test_staff_commands_on_an_unknown_member_say_so_and_change_nothing(tmp_path: Path) -> None:
    url, token = _with_service(tmp_path)
    for command in ("deactivate", "token"):
        result = cli(url, "staff", command, "--staff-id", "nurse.unknown")
        assert result.returncode == 1
        assert result.stderr.strip() == "error: no staff member nurse.unknown"
    assert staff_ids(url) == ["svc.stats"]
    assert _signs_in(url, token)
