"""From the identity provider's claims to the staff member, in one place for access tokens and sign-ins.

The staff table says who may use the product (a person the identity provider knows is not staff until an
administrator adds them). A staff member is found by the subject (`sub`) bound at their first sign-in,
or, the first time, by the claim that names the staff id (`PATHWAYS_OIDC_STAFF_ID_CLAIM`), which then
binds the subject. Role and teams come from the staff table, or from claims when the deployment manages
them in the identity provider (`PATHWAYS_OIDC_ROLE_CLAIM`, `PATHWAYS_OIDC_TEAMS_CLAIM`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from api.errors import NotAuthenticatedError
from api.services.staff import StaffMember, load_member
from core.settings import Settings
from models.tables import Staff, StaffRole, Team

TEAM_VALUE_PREFIX = "team:"


def _values(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def role_from_claims(claims: dict[str, Any], settings: Settings) -> StaffRole | None:
    held = set(_values(claims, settings.oidc_role_claim))
    for pair in settings.oidc_role_values.split(","):
        role, _, value = pair.strip().partition("=")
        if value and value in held:
            return StaffRole(role)
    return None


def staff_for_claims(session: Session, claims: dict[str, Any], settings: Settings) -> StaffMember:
    subject = str(claims.get("sub", ""))
    if not subject:
        raise NotAuthenticatedError("the identity provider's token names no subject")
    staff = session.exec(select(Staff).where(col(Staff.oidc_subject) == subject)).first()
    if staff is None:
        named = str(claims.get(settings.oidc_staff_id_claim, "")).strip().lower()
        staff = session.get(Staff, named) if named else None
        if staff is None:
            raise NotAuthenticatedError(
                f"you signed in as {named or subject}, who is not a staff member of this service; "
                "ask an administrator to add you"
            )
        if staff.oidc_subject not in (None, subject):
            raise NotAuthenticatedError(f"staff member {staff.staff_id} signs in as another identity")
        staff.oidc_subject = subject
        session.add(staff)
        session.commit()
    member = load_member(session, staff)
    if settings.oidc_role_claim:
        role = role_from_claims(claims, settings)
        if role is None:
            raise NotAuthenticatedError(
                f"your identity provider account has no role for this service (claim {settings.oidc_role_claim})"
            )
        member = member.with_role(role)
    if settings.oidc_teams_claim:
        named_teams = {
            value.removeprefix(TEAM_VALUE_PREFIX)
            for value in _values(claims, settings.oidc_teams_claim)
            if value.startswith(TEAM_VALUE_PREFIX)
        }
        known = set(session.exec(select(Team.team_id).where(col(Team.team_id).in_(named_teams))).all())
        member = member.with_teams(frozenset(known))
    return member
