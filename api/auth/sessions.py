"""Browser sessions: a random id in an HttpOnly cookie, its hash and lifetime in the `staff_session` table.

Server-side, so a sign-out or a deactivation ends a session at once on every API replica, and nothing a
browser holds says more than "this random string". The cookie is `SameSite=Lax` (sent on navigation and
on same-site requests, such as the Temporal Web UI's codec calls from another localhost port or another
host of the same organisation's domain), `Secure` when the API is served over https.

The JSON API never takes the cookie: a script or a cross-site form could otherwise act with it. Only the
codec endpoints (read-only, behind CORS for the Web UI's origin) and the web app's pages (with a token
against cross-site requests) do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, delete

from api.errors import NotAuthenticatedError
from api.services.staff import StaffMember, aware, load_member
from models.tables import SignInMethod, SignInRequest, Staff, StaffRole, StaffSession

COOKIE = "pathways_session"
# Over https the cookie carries the __Host- prefix: the browser then keeps it only when set Secure, for path /,
# by this host itself (no Domain), so no sibling host can plant or read it.
SECURE_COOKIE = "__Host-" + COOKIE


def cookie_name(public_url: str) -> str:
    """The session cookie's name where the service is reached at `public_url`."""
    return SECURE_COOKIE if public_url.startswith("https://") else COOKIE


SIGN_IN_MINUTES = 10


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def safe_return_path(value: str | None) -> str:
    """Only a path on this site: an open redirect would hand the sign-in to anyone's page."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


# -- sign-ins on their way through the identity provider ------------------------------------------------------


def start_sign_in(session: Session, *, state: str, nonce: str, verifier: str, return_to: str) -> None:
    now = datetime.now(UTC)
    session.execute(delete(SignInRequest).where(col(SignInRequest.expires_at) < now))
    session.add(
        SignInRequest(
            state_hash=_hash(state),
            nonce=nonce,
            code_verifier=verifier,
            return_to=safe_return_path(return_to),
            created_at=now,
            expires_at=now + timedelta(minutes=SIGN_IN_MINUTES),
        )
    )
    session.commit()


@dataclass(frozen=True)
class PendingSignIn:
    nonce: str
    code_verifier: str
    return_to: str


def finish_sign_in(session: Session, state: str) -> PendingSignIn:
    """The sign-in this state belongs to, used up (a state is good for one callback only)."""
    request = session.get(SignInRequest, _hash(state))
    if request is None or aware(request.expires_at) <= datetime.now(UTC):
        raise NotAuthenticatedError("this sign-in is unknown or took too long; start again from the sign-in page")
    pending = PendingSignIn(request.nonce, request.code_verifier, request.return_to)
    session.delete(request)
    session.commit()
    return pending


# -- sessions --------------------------------------------------------------------------------------------------


def open_session(
    session: Session,
    *,
    staff_id: str,
    method: SignInMethod,
    hours: float,
    id_token_hint: str | None = None,
    role: StaffRole | None = None,
    teams: list[str] | None = None,
) -> tuple[str, datetime]:
    """A new session for the staff member: the cookie's value (shown once) and when it ends. `role` and `teams`
    are the identity provider's, where the deployment takes them from its claims."""
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires_at = now + timedelta(hours=hours)
    session.add(
        StaffSession(
            session_hash=_hash(secret),
            staff_id=staff_id,
            method=method,
            created_at=now,
            expires_at=expires_at,
            id_token_hint=id_token_hint,
            role=role,
            teams=teams,
            last_seen_at=now,
        )
    )
    session.commit()
    return secret, expires_at


# How often a session's last use is written down (it ends after PATHWAYS_SESSION_IDLE_MINUTES unused).
TOUCH_EVERY = timedelta(minutes=1)


def session_row(session: Session, secret: str, *, idle: timedelta | None = None) -> StaffSession | None:
    row = session.get(StaffSession, _hash(secret))
    now = datetime.now(UTC)
    if row is None or row.ended_at is not None or aware(row.expires_at) <= now:
        return None
    if idle is not None and row.last_seen_at is not None and aware(row.last_seen_at) + idle <= now:
        return None
    if row.last_seen_at is None or aware(row.last_seen_at) + TOUCH_EVERY <= now:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return row


def staff_for_session(session: Session, secret: str, *, idle: timedelta | None = None) -> StaffMember:
    row = session_row(session, secret, idle=idle)
    if row is None:
        raise NotAuthenticatedError("your sign-in has ended; sign in again")
    staff = session.get(Staff, row.staff_id)
    if staff is None:
        raise NotAuthenticatedError("your sign-in has ended; sign in again")
    member = load_member(session, staff)
    # As the identity provider said at sign-in, where it says: someone moved out of a team in the directory
    # loses that team's pathways at their next sign-in, in the browser as with a token.
    if row.role is not None:
        member = member.with_role(row.role)
    if row.teams is not None:
        member = member.with_teams(frozenset(row.teams))
    return member


def end_session(session: Session, secret: str) -> StaffSession | None:
    row = session_row(session, secret)
    if row is None:
        return None
    row.ended_at = datetime.now(UTC)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def csrf_token(secret: str) -> str:
    """A per-session token the web app's forms carry: a cross-site page cannot read it, so cannot post it."""
    return hmac.new(secret.encode(), b"pathways-form", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(csrf_token(secret), token)
