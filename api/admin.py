"""Staff and team administration from the command line, e.g. for the first administrator:

    python -m api.admin add-team --team-id eura-team --name "Eura work-ability team"
    python -m api.admin add-staff --staff-id admin.aalto --name "Aino Aalto" --role admin

`add-staff` prints the new bearer token once; only its hash is kept.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import engine_for, prepare_database
from api.errors import ApiError
from api.services import staff as staff_service
from core.db import OutdatedSchemaError
from core.settings import get_settings
from models.pathway import Language, StaffId, TeamId
from models.tables import StaffRole


def add_team(engine: Engine, *, team_id: str, name: str) -> None:
    """Add a work-ability team."""
    TypeAdapter(TeamId).validate_python(team_id)
    with Session(engine) as session:
        staff_service.create_team(session, team_id=team_id, name=name)


def add_staff(
    engine: Engine,
    *,
    staff_id: str,
    display_name: str,
    role: StaffRole,
    teams: Sequence[str],
    language: Language,
    email: str | None,
) -> str:
    """Add a staff member and return their new bearer token (shown once, stored only hashed)."""
    TypeAdapter(StaffId).validate_python(staff_id)
    with Session(engine) as session:
        _, token = staff_service.create_staff(
            session,
            staff_id=staff_id,
            display_name=display_name,
            role=role,
            teams=list(teams),
            language=language,
            email=email,
        )
    return token


def issue_token(engine: Engine, *, staff_id: str, revoke_existing: bool) -> str:
    """Another bearer token for an active staff member (shown once, stored only hashed)."""
    with Session(engine) as session:
        return staff_service.issue_token(session, staff_id=staff_id, revoke_existing=revoke_existing).token


def deactivate_staff(engine: Engine, *, staff_id: str) -> int:
    """Deactivate a staff member and revoke their tokens; the number revoked."""
    with Session(engine) as session:
        return staff_service.deactivate_staff(session, staff_id=staff_id)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m api.admin", description="Manage staff and teams.")
    commands = parser.add_subparsers(dest="command", required=True)
    team = commands.add_parser("add-team", help="add a work-ability team")
    team.add_argument("--team-id", required=True)
    team.add_argument("--name", required=True)
    staff = commands.add_parser("add-staff", help="add a staff member and print their token once")
    staff.add_argument("--staff-id", required=True)
    staff.add_argument("--name", required=True, help="display name")
    staff.add_argument("--role", required=True, choices=[role.value for role in StaffRole])
    staff.add_argument("--team", action="append", default=[], help="team id; repeat for several teams")
    staff.add_argument("--language", default=Language.FI.value, choices=[language.value for language in Language])
    staff.add_argument("--email")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = engine_for(get_settings())
    try:
        prepare_database(engine)
        if args.command == "add-team":
            add_team(engine, team_id=args.team_id, name=args.name)
            print(f"team {args.team_id} added")
        else:
            token = add_staff(
                engine,
                staff_id=args.staff_id,
                display_name=args.name,
                role=StaffRole(args.role),
                teams=args.team,
                language=Language(args.language),
                email=args.email,
            )
            print(f"staff member {args.staff_id} added; bearer token (shown only now, keep it safe):")
            print(token)
    except ApiError as err:
        print(f"error: {err.detail}", file=sys.stderr)
        return 1
    except OutdatedSchemaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValidationError as err:
        print(f"error: {err.errors()[0]['msg']}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
