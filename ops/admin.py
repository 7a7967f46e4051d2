"""Staff and team administration on a database engine: what `python -m ops.cli team|staff ...`, the demo
seed and the tests call. Each validates like the API and goes through the same services.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session

from api.services import staff as staff_service
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
    token_lifetime: timedelta = staff_service.DEFAULT_TOKEN_LIFETIME,
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
            token_lifetime=token_lifetime,
        )
    return token


def issue_token(
    engine: Engine,
    *,
    staff_id: str,
    revoke_existing: bool,
    lifetime: timedelta = staff_service.DEFAULT_TOKEN_LIFETIME,
) -> staff_service.IssuedToken:
    """Another bearer token for an active staff member (shown once, stored only hashed)."""
    with Session(engine) as session:
        return staff_service.issue_token(session, staff_id=staff_id, revoke_existing=revoke_existing, lifetime=lifetime)


def deactivate_staff(engine: Engine, *, staff_id: str) -> int:
    """Deactivate a staff member and revoke their tokens; the number revoked."""
    with Session(engine) as session:
        return staff_service.deactivate_staff(session, staff_id=staff_id)
