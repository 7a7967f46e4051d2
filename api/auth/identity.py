"""From the identity provider's claims to the staff member, in one place for access tokens and sign-ins.

The staff table says who may use the product (a person the identity provider knows is not staff until an
administrator adds them). A staff member is found only by the subject (`sub`) an administrator linked to
them (`PUT /staff/{id}/identity`, or `sign_in_subject` when adding them): a name claim such as
`preferred_username` is the user's to edit at many providers, so it never makes anyone staff. A sign-in with
no link is refused with its subject, for the person to give to an administrator. Role and teams come from
the staff table, or from claims when the deployment manages them in the identity provider
(`PATHWAYS_OIDC_ROLE_CLAIM`, `PATHWAYS_OIDC_TEAMS_CLAIM`).
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
        named = str(claims.get(settings.oidc_staff_id_claim, "")).strip()
        raise NotAuthenticatedError(
            f"you signed in as {named or 'an account'} (identity {subject}), which is not linked to a staff member "
            "of this service; give this identity to an administrator, who links it to your account once"
        )
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
