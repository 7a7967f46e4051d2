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
from models.tables import Staff, StaffRole


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
    """Add a staff member and return a bearer token for them (shown once, stored only hashed): the first
    administrator's from the command line, and the demo's and the tests' staff (development conveniences).
    People in production sign in, and make their own tokens."""
    add_person(
        engine, staff_id=staff_id, display_name=display_name, role=role, teams=teams, language=language, email=email
    )
    return _first_token(engine, staff_id, token_lifetime)


def _first_token(engine: Engine, staff_id: str, lifetime: timedelta) -> str:
    with Session(engine) as session:
        issued = staff_service.issue_token(
            session, staff_id=staff_id, revoke_existing=False, lifetime=lifetime, label="issued at creation"
        )
    return issued.token


def add_person(
    engine: Engine,
    *,
    staff_id: str,
    display_name: str,
    role: StaffRole,
    teams: Sequence[str],
    language: Language,
    email: str | None,
    sign_in_subject: str | None = None,
) -> None:
    """Add a person without a token: they sign in with the identity provider (as `sign_in_subject`, or an
    identity linked later with `link_identity`) and make their own."""
    TypeAdapter(StaffId).validate_python(staff_id)
    with Session(engine) as session:
        staff_service.create_staff(
            session,
            staff_id=staff_id,
            display_name=display_name,
            role=role,
            teams=list(teams),
            language=language,
            email=email,
            oidc_subject=sign_in_subject,
        )


# Who the audit and the notices name for what operations do on the command line.
COMMAND_LINE = "ops.cli"


def link_identity(engine: Engine, *, staff_id: str, subject: str, email_enabled: bool = False) -> None:
    """Link the identity provider's subject a member signs in as (the refusal of their first sign-in shows it);
    audited and told as the API's link is, under the command line's name."""
    from api.services import audit

    with Session(engine) as session:
        outcome = audit.AuditOutcome.REJECTED
        try:
            staff_service.link_identity(
                session, staff_id=staff_id, subject=subject, linked_by=COMMAND_LINE, email_enabled=email_enabled
            )
            outcome = audit.AuditOutcome.OK
        finally:
            session.rollback()  # nothing pending after a commit; a refusal's half-done change goes
            audit.record(
                session, staff_id=COMMAND_LINE, pathway_id=None, action=f"link_identity:{staff_id}", outcome=outcome
            )


def add_service_account(
    engine: Engine,
    *,
    staff_id: str,
    display_name: str,
    teams: Sequence[str],
    actions: Sequence[str],
    purpose: str,
    token_lifetime: timedelta = staff_service.DEFAULT_TOKEN_LIFETIME,
) -> str:
    """Add a service account (a script or an integration: its teams, the actions it may use, the purpose its
    reads are audited with) and return its first token (shown once)."""
    from api.access import SERVICE_ACCOUNT_ACTIONS, read_purpose
    from api.errors import InvalidInputError

    TypeAdapter(StaffId).validate_python(staff_id)
    unknown = sorted(set(actions) - SERVICE_ACCOUNT_ACTIONS)
    if unknown:
        raise ValueError(
            f"unknown action(s) {', '.join(unknown)}; a service account may be given: "
            f"{', '.join(sorted(SERVICE_ACCOUNT_ACTIONS))}"
        )
    try:
        purpose = read_purpose(purpose.strip())
    except InvalidInputError as err:
        raise ValueError(f"--purpose: {err.detail}") from None
    with Session(engine) as session:
        staff_service.create_staff(
            session,
            staff_id=staff_id,
            display_name=display_name,
            role=StaffRole.SERVICE,
            teams=list(teams),
            language=Language.FI,
            email=None,
            service_actions=list(actions),
            service_purpose=purpose,
        )
    return _first_token(engine, staff_id, token_lifetime)


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


def role_of(engine: Engine, staff_id: str) -> StaffRole | None:
    with Session(engine) as session:
        staff = session.get(Staff, staff_id)
        return staff.role if staff is not None else None


def deactivate_staff(engine: Engine, *, staff_id: str) -> int:
    """Deactivate a staff member and revoke their tokens; the number revoked."""
    with Session(engine) as session:
        return staff_service.deactivate_staff(session, staff_id=staff_id)
