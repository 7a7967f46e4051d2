"""Staff, teams and their bearer tokens."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.errors import ConflictError, ForbiddenError, InvalidInputError, NotAuthenticatedError, NotFoundError
from api.security import hash_token, new_token
from models.pathway import Language, NotificationKind
from models.tables import ApiToken, Staff, StaffRole, StaffSession, StaffTeam, Team

# Who can be named case manager: the team's professionals and coordinators, never an administrator.
CASE_MANAGER_ROLES = frozenset({StaffRole.PROFESSIONAL, StaffRole.COORDINATOR})


@dataclass(frozen=True)
class StaffMember:
    """The signed-in staff member, as the routes and services see them."""

    staff_id: str
    display_name: str
    role: StaffRole
    teams: frozenset[str]
    language: Language = Language.FI
    # A service account's: the actions it may use and the purpose its reads are audited with.
    allowed_actions: frozenset[str] = frozenset()
    declared_purpose: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is StaffRole.ADMIN

    @property
    def reads_pathways(self) -> bool:
        """Whether the role reads client pathways at all (then only its teams'): administrators and the data
        protection officer never do."""
        return self.role in (StaffRole.PROFESSIONAL, StaffRole.COORDINATOR, StaffRole.SERVICE)

    @property
    def is_data_protection_officer(self) -> bool:
        return self.role is StaffRole.DPO

    @property
    def is_service(self) -> bool:
        return self.role is StaffRole.SERVICE

    @property
    def is_coordinator(self) -> bool:
        return self.role is StaffRole.COORDINATOR

    def with_role(self, role: StaffRole) -> StaffMember:
        return dataclasses.replace(self, role=role)

    def with_teams(self, teams: frozenset[str]) -> StaffMember:
        return dataclasses.replace(self, teams=teams)


# A bearer token's lifetime unless the settings say otherwise (PATHWAYS_API_TOKEN_DAYS).
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)


def aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; everything the product writes is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def authenticate(session: Session, *, token: str) -> StaffMember:
    """The active staff member a bearer token belongs to, with their teams."""
    return staff_for_token_hash(session, hash_token(token))


def staff_for_token_hash(session: Session, token_hash: str) -> StaffMember:
    """The active staff member whose token has this hash, with their teams (one query: every request that
    misses the API's token cache comes here)."""
    rows = session.exec(
        select(Staff, StaffTeam.team_id, ApiToken.expires_at)
        .join(ApiToken, col(ApiToken.staff_id) == col(Staff.staff_id))
        .join(StaffTeam, col(StaffTeam.staff_id) == col(Staff.staff_id), isouter=True)
        .where(ApiToken.token_hash == token_hash, col(ApiToken.revoked_at).is_(None))
    ).all()
    staff = rows[0][0] if rows else None
    if staff is None or not staff.active:
        raise NotAuthenticatedError("the bearer token is unknown, revoked or belongs to an inactive staff member")
    expires_at = rows[0][2]
    if expires_at is not None and aware(expires_at) <= datetime.now(UTC):
        raise NotAuthenticatedError(
            f"the bearer token expired on {aware(expires_at):%Y-%m-%d %H:%M} UTC; sign in with your organisation's "
            "account, or ask an administrator for a new token"
        )
    return StaffMember(
        staff_id=staff.staff_id,
        display_name=staff.display_name,
        role=staff.role,
        teams=frozenset(team_id for _staff, team_id, _expires in rows if team_id is not None),
        language=staff.language,
        allowed_actions=frozenset(staff.service_actions or ()),
        declared_purpose=staff.service_purpose,
    )


def load_member(session: Session, staff: Staff) -> StaffMember:
    """The staff member as the access path sees them, with their teams from the table."""
    if not staff.active:
        raise NotAuthenticatedError(f"staff member {staff.staff_id} is deactivated")
    if staff.role is StaffRole.SERVICE:
        raise NotAuthenticatedError(f"{staff.staff_id} is a service account: it signs in with its token only")
    teams = session.exec(select(StaffTeam.team_id).where(StaffTeam.staff_id == staff.staff_id)).all()
    return StaffMember(
        staff_id=staff.staff_id,
        display_name=staff.display_name,
        role=staff.role,
        teams=frozenset(teams),
        language=staff.language,
    )


def create_team(session: Session, *, team_id: str, name: str) -> Team:
    """Add a work-ability team."""
    if session.get(Team, team_id) is not None:
        raise ConflictError(f"team {team_id} already exists")
    team = Team(team_id=team_id, name=name)
    session.add(team)
    session.commit()
    session.refresh(team)
    return team


def list_teams(session: Session) -> list[Team]:
    """Every team, by id."""
    return list(session.exec(select(Team).order_by(col(Team.team_id))))


def create_staff(
    session: Session,
    *,
    staff_id: str,
    display_name: str,
    role: StaffRole,
    teams: list[str],
    language: Language,
    email: str | None,
    service_actions: list[str] | None = None,
    service_purpose: str | None = None,
    oidc_subject: str | None = None,
) -> Staff:
    """Add a staff member. A person gets no token here: they sign in, and make their own API tokens; a
    service account (`service_actions`, `service_purpose`) gets its token from `issue_token`, on the command
    line."""
    if (role is StaffRole.SERVICE) != (service_actions is not None and service_purpose is not None):
        raise InvalidInputError(
            "a service account is made from the command line, with the actions it may use and its purpose",
            field="role",
        )
    if service_actions is not None and not service_actions:
        raise InvalidInputError("a service account needs at least one action it may use", field="actions")
    if session.get(Staff, staff_id) is not None:
        raise ConflictError(f"staff member {staff_id} already exists")
    if oidc_subject is not None and session.exec(select(Staff).where(col(Staff.oidc_subject) == oidc_subject)).first():
        raise ConflictError("that sign-in identity is already linked to another staff member")
    unknown = sorted(team for team in set(teams) if session.get(Team, team) is None)
    if unknown:
        raise InvalidInputError(f"unknown team(s): {', '.join(unknown)}; add the team first", field="teams")
    if role is StaffRole.DPO:
        if teams:
            raise InvalidInputError(
                "a data protection officer belongs to no team: the role reads no pathways", field="teams"
            )
    elif role is not StaffRole.ADMIN and not teams:
        raise InvalidInputError(f"a {role.value} must belong to at least one team", field="teams")
    staff = Staff(
        staff_id=staff_id,
        display_name=display_name,
        role=role,
        language=language,
        email=email,
        service_actions=sorted(set(service_actions)) if service_actions is not None else None,
        service_purpose=service_purpose,
        oidc_subject=oidc_subject,
    )
    session.add(staff)
    # The staff row must exist before the rows that refer to it (foreign keys are on).
    session.flush()
    for team in sorted(set(teams)):
        session.add(StaffTeam(staff_id=staff_id, team_id=team))
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise ConflictError(f"staff member {staff_id} could not be added: {type(err.orig).__name__}") from err
    session.refresh(staff)
    return staff


def _existing_staff(session: Session, staff_id: str) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFoundError(f"no staff member {staff_id}")
    return staff


def _revoke_tokens(session: Session, staff_id: str, at: datetime) -> int:
    tokens = session.exec(
        select(ApiToken).where(ApiToken.staff_id == staff_id, col(ApiToken.revoked_at).is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = at
    return len(tokens)


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; only its hash is kept
    revoked: int  # the member's other tokens revoked with it
    expires_at: datetime
    row: ApiToken | None = None


def issue_token(
    session: Session,
    *,
    staff_id: str,
    revoke_existing: bool,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    label: str = "",
) -> IssuedToken:
    """A new bearer token for an active staff member (a lost or leaked one is replaced with
    `revoke_existing`); returned once and kept only hashed."""
    staff = _existing_staff(session, staff_id)
    if not staff.active:
        raise ConflictError(f"staff member {staff_id} is deactivated; a deactivated member gets no tokens")
    now = datetime.now(UTC)
    revoked = _revoke_tokens(session, staff_id, now) if revoke_existing else 0
    token = new_token()
    expires_at = now + lifetime
    row = ApiToken(
        token_hash=hash_token(token),
        staff_id=staff_id,
        label=label or f"issued {now:%Y-%m-%d %H:%M} UTC",
        expires_at=expires_at,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    session.expunge(row)
    return IssuedToken(token=token, revoked=revoked, expires_at=expires_at, row=row)


def issue_own_token(
    session: Session, member: StaffMember, *, label: str, lifetime: timedelta, roles_from_provider: bool = False
) -> IssuedToken:
    """A bearer token the signed-in person makes for themselves (their scripts act as them, and are audited
    so); shown once. A service account's tokens come from the command line."""
    if member.is_service:
        raise ForbiddenError("a service account's tokens are made on the command line by operations")
    if roles_from_provider:
        # A token would carry the staff table's role and teams, not the provider's: scripts use its tokens.
        raise ForbiddenError(
            "here your role and teams come from the identity provider: scripts use its access tokens, not API tokens"
        )
    return issue_token(session, staff_id=member.staff_id, revoke_existing=False, lifetime=lifetime, label=label)


def list_tokens(session: Session, staff_id: str) -> list[ApiToken]:
    """A member's tokens, newest first (the hashes stay in the database)."""
    return list(
        session.exec(select(ApiToken).where(ApiToken.staff_id == staff_id).order_by(col(ApiToken.created_at).desc()))
    )


def revoke_own_token(session: Session, staff_id: str, token_id: str) -> ApiToken:
    token = session.exec(select(ApiToken).where(ApiToken.staff_id == staff_id, ApiToken.token_id == token_id)).first()
    if token is None:
        raise NotFoundError(f"you have no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
        session.commit()
        session.refresh(token)
    return token


def revoke_all_tokens(session: Session, *, staff_id: str) -> int:
    """Revoke every token of a member (an administrator's way to stop a leaked one); how many."""
    _existing_staff(session, staff_id)
    revoked = _revoke_tokens(session, staff_id, datetime.now(UTC))
    session.commit()
    return revoked


def _end_sessions(session: Session, staff_id: str, at: datetime) -> None:
    # Signed-in browsers end too (the session is checked on every request, so at once).
    for open_session in session.exec(
        select(StaffSession).where(StaffSession.staff_id == staff_id, col(StaffSession.ended_at).is_(None))
    ):
        open_session.ended_at = at
        session.add(open_session)


def link_identity(
    session: Session, *, staff_id: str, subject: str, linked_by: str, email_enabled: bool = False
) -> Staff:
    """Link a staff member to the identity provider's subject (`sub`) they sign in as: the only way a sign-in
    becomes a staff member. Linking a new subject ends the sessions of the old one. The member and their teams'
    coordinators are told, in the same transaction: a link is what an administrator would misuse to act as
    someone, and they are who would notice."""
    staff = _existing_staff(session, staff_id)
    if staff.role is StaffRole.SERVICE:
        raise InvalidInputError(
            "a service account signs in with its token only; it has no identity to link", field="staff_id"
        )
    holder = session.exec(select(Staff).where(col(Staff.oidc_subject) == subject)).first()
    if holder is not None and holder.staff_id != staff_id:
        raise ConflictError(f"that identity is already linked to staff member {holder.staff_id}; unlink it first")
    if staff.oidc_subject not in (None, subject):
        _end_sessions(session, staff_id, datetime.now(UTC))
    staff.oidc_subject = subject
    session.add(staff)
    _tell_of_link(session, staff, linked_by=linked_by, email_enabled=email_enabled)
    session.commit()
    return staff


def _tell_of_link(session: Session, staff: Staff, *, linked_by: str, email_enabled: bool) -> None:
    tell_member_and_coordinators(
        session, staff, NotificationKind.IDENTITY_LINKED, changed_by=linked_by, email_enabled=email_enabled
    )


def tell_member_and_coordinators(
    session: Session, staff: Staff, kind: NotificationKind, *, changed_by: str, email_enabled: bool
) -> None:
    """An administrator changed something that lets someone act as, or reach people as, the member: the member
    and their teams' coordinators are told (a change nobody asked for is seen)."""
    from records.outbox import Contact, coordinator_staff, write_team_notice

    teams = sorted(session.exec(select(StaffTeam.team_id).where(StaffTeam.staff_id == staff.staff_id)).all())
    recipients: list[tuple[Contact, str]] = [(staff, teams[0] if teams else "")]
    told = {staff.staff_id, changed_by}
    for team in teams:
        for coordinator in coordinator_staff(session, team):
            if coordinator.staff_id not in told:
                told.add(coordinator.staff_id)
                recipients.append((coordinator, team))
    write_team_notice(
        session,
        kind,
        recipients=recipients,
        key=f"{kind.value}:{staff.staff_id}:{secrets.token_hex(8)}",
        email_enabled=email_enabled,
        staff=staff.staff_id,
        changed_by=changed_by,
    )


def unlink_identity(session: Session, *, staff_id: str) -> Staff:
    """Unlink a staff member's identity (a wrong link, an account the provider re-issued): their sign-ins stop
    at once, their API tokens keep working until revoked."""
    staff = _existing_staff(session, staff_id)
    staff.oidc_subject = None
    _end_sessions(session, staff_id, datetime.now(UTC))
    session.add(staff)
    session.commit()
    return staff


def deactivate_staff(session: Session, *, staff_id: str) -> int:
    """Mark a staff member inactive and revoke all their tokens; the number revoked (0 when repeated).

    Their history stays: audit lines and pathway timelines keep naming them. Pathways that still have them
    as case manager must be handed over by a coordinator; they can no longer be named case manager.
    """
    staff = _existing_staff(session, staff_id)
    staff.active = False
    now = datetime.now(UTC)
    revoked = _revoke_tokens(session, staff_id, now)
    _end_sessions(session, staff_id, now)
    session.commit()
    return revoked


CONTACT_FIELDS = ("email", "work_phone", "contact_hours")


def update_contact(session: Session, *, staff_id: str, changes: dict[str, str | None]) -> tuple[Staff, list[str]]:
    """Change how a member is reached (their own, or an administrator's correction): only the fields given
    (None clears one). The e-mail is also where their notifications go. The member and their teams."""
    staff = _existing_staff(session, staff_id)
    for name, value in changes.items():
        if name in CONTACT_FIELDS:
            setattr(staff, name, value)
    session.add(staff)
    session.commit()
    session.refresh(staff)
    return staff, teams_of(session, staff_id)


def set_team_contact(session: Session, *, team_id: str, phone: str | None, email: str | None) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    team.contact_phone, team.contact_email = phone, email
    session.add(team)
    session.commit()
    session.refresh(team)
    return team


def teams_of(session: Session, staff_id: str) -> list[str]:
    return sorted(session.exec(select(StaffTeam.team_id).where(StaffTeam.staff_id == staff_id)))


def get_member(session: Session, staff_id: str) -> tuple[Staff, list[str]]:
    return _existing_staff(session, staff_id), teams_of(session, staff_id)


def display_names(session: Session, staff_ids: set[str]) -> dict[str, str]:
    """Staff ids -> display names, for pages that show people (names, not ids, where a person reads)."""
    if not staff_ids:
        return {}
    rows = session.exec(select(Staff.staff_id, Staff.display_name).where(col(Staff.staff_id).in_(sorted(staff_ids))))
    return dict(rows.all())


def list_staff(session: Session) -> list[tuple[Staff, list[str]]]:
    """Every staff member with their teams, by id."""
    memberships: dict[str, list[str]] = {}
    for membership in session.exec(select(StaffTeam)):
        memberships.setdefault(membership.staff_id, []).append(membership.team_id)
    return [
        (staff, sorted(memberships.get(staff.staff_id, [])))
        for staff in session.exec(select(Staff).order_by(col(Staff.staff_id)))
    ]


def check_team_member(session: Session, *, staff_id: str, team: str, field: str) -> None:
    """A staff member named as taking part (e.g. in a network meeting) must be a member of the pathway's team."""
    staff = session.get(Staff, staff_id)
    if staff is None or session.get(StaffTeam, (staff_id, team)) is None:
        raise InvalidInputError(f"{field}: {staff_id} is not a member of the pathway's team {team}", field=field)


def check_case_manager(session: Session, *, staff_id: str, team: str, field: str) -> None:
    """A case manager named in an action must be an active professional or coordinator of the pathway's team."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise InvalidInputError(f"{field}: no active staff member {staff_id}", field=field)
    if staff.role not in CASE_MANAGER_ROLES:
        raise InvalidInputError(
            f"{field}: {staff_id} is an {staff.role.value} and cannot be a case manager", field=field
        )
    if session.get(StaffTeam, (staff_id, team)) is None:
        raise InvalidInputError(f"{field}: {staff_id} is not a member of the pathway's team {team}", field=field)
