"""Dependencies of the routes, as `Annotated` aliases: settings, database session, Temporal client and
the signed-in staff member."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator, WithJsonSchema
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.auth.identity import staff_for_claims
from api.auth.oidc import IdentityProvider, IdentityProviderError, InvalidToken, looks_like_jwt
from api.auth.sessions import cookie_name, staff_for_session
from api.errors import ForbiddenError, NotAuthenticatedError, TemporalUnavailableError
from api.security import hash_token
from api.services.staff import StaffMember, staff_for_token_hash
from api.services.token_cache import TokenCache
from core.crypto import RecordSealer
from core.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="The staff member's API token.")


# Dependencies that only read app state are `async def`: a plain `def` would cost each request a hop to
# FastAPI's thread pool, which under load waits for a free core (seen in the intake profile).


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Opening a session touches no database; the queries that follow go to a thread themselves.
    with Session(request.app.state.engine) as session:
        yield session


async def get_temporal_client(request: Request) -> Client:
    client: Client = request.app.state.temporal_client
    return client


async def get_sealer(request: Request) -> RecordSealer:
    sealer: RecordSealer = request.app.state.sealer
    return sealer


SettingsDep = Annotated[Settings, Depends(get_settings)]
SealerDep = Annotated[RecordSealer, Depends(get_sealer)]
SessionDep = Annotated[Session, Depends(get_session)]
TemporalClientDep = Annotated[Client, Depends(get_temporal_client)]


async def get_identity_provider(request: Request) -> IdentityProvider | None:
    provider: IdentityProvider | None = request.app.state.identity_provider
    return provider


IdentityProviderDep = Annotated[IdentityProvider | None, Depends(get_identity_provider)]


# The signed-in staff member is solved for every request: it reads the app's state itself instead of through
# four dependencies of its own, which FastAPI would solve (and check) again on each request.


async def get_current_staff(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> StaffMember:
    """The staff member of the request's bearer token: a JWT access token from the identity provider, or a
    token from the staff table (scripts and service accounts)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticatedError(
            "sign in: Authorization: Bearer <access token from the identity provider, or an API token>"
        )
    return await staff_for_bearer(request, credentials.credentials)


async def staff_for_bearer(request: Request, token: str) -> StaffMember:
    state = request.app.state
    engine: Engine = state.engine
    cache: TokenCache = state.token_cache
    settings: Settings = state.settings
    provider: IdentityProvider | None = state.identity_provider
    token_hash = hash_token(token)
    staff = cache.get(token_hash)
    if staff is not None:
        return staff
    if looks_like_jwt(token):
        if provider is None:
            raise NotAuthenticatedError("this API takes no identity provider tokens (PATHWAYS_OIDC_ISSUER is not set)")
        try:
            claims = await provider.access_token_claims(token)
        except InvalidToken as err:
            raise NotAuthenticatedError(str(err)) from None
        except IdentityProviderError as err:
            raise TemporalUnavailableError(f"cannot check the sign-in now: {err}") from None
        staff = await asyncio.to_thread(_staff_for_claims, engine, claims, settings)
        # Never trusted beyond the token's own expiry.
        cache.put(token_hash, staff, until=float(claims["exp"]))
        return staff
    staff = await asyncio.to_thread(_authenticate, engine, token_hash)
    cache.put(token_hash, staff)
    return staff


def _authenticate(engine: Engine, token_hash: str) -> StaffMember:
    with Session(engine) as session:
        return staff_for_token_hash(session, token_hash)


def _staff_for_claims(engine: Engine, claims: dict[str, Any], settings: Settings) -> StaffMember:
    with Session(engine) as session:
        return staff_for_claims(session, claims, settings)


async def get_signed_in_staff(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> StaffMember:
    """A bearer token, or else the browser's session cookie: for the codec endpoints and the web app only."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return await staff_for_bearer(request, credentials.credentials)
    secret = request.cookies.get(cookie_name(request.app.state.settings.effective_public_url))
    if not secret:
        settings: Settings = request.app.state.settings
        raise NotAuthenticatedError(f"sign in first: {settings.effective_public_url}/auth/login")
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    return await asyncio.to_thread(_staff_for_session, request.app.state.engine, secret, idle)


def _staff_for_session(engine: Engine, secret: str, idle: timedelta) -> StaffMember:
    with Session(engine) as session:
        return staff_for_session(session, secret, idle=idle)


SignedInStaff = Annotated[StaffMember, Depends(get_signed_in_staff)]


async def get_codec_reader(staff: SignedInStaff) -> StaffMember:
    """Who may call the codec server: signed in (the Web UI's cookie, or a token), not an administrator."""
    if not staff.reads_pathways:
        raise ForbiddenError(f"a {staff.role.value} reads no client data, in the Web UI either")
    if staff.is_service:
        raise ForbiddenError(f"{staff.staff_id} is a service account: the Temporal Web UI's codec is for people")
    return staff


CurrentStaff = Annotated[StaffMember, Depends(get_current_staff)]


async def get_current_person(staff: CurrentStaff) -> StaffMember:
    """A signed-in person: a service account uses only the pathway and team routes of the actions it was given
    (`api.access`), never the inbox, the registers or staff administration."""
    if staff.is_service:
        raise ForbiddenError(
            f"{staff.staff_id} is a service account: it may use only its actions "
            f"({', '.join(sorted(staff.allowed_actions))})"
        )
    return staff


CurrentPerson = Annotated[StaffMember, Depends(get_current_person)]


async def get_current_admin(staff: CurrentPerson) -> StaffMember:
    if not staff.is_admin:
        raise ForbiddenError("only an administrator can manage staff and teams")
    return staff


CurrentAdmin = Annotated[StaffMember, Depends(get_current_admin)]


async def get_current_data_protection_officer(staff: CurrentPerson) -> StaffMember:
    if not staff.is_data_protection_officer:
        raise ForbiddenError("only the data protection officer reads the audit log across teams")
    return staff


CurrentDataProtectionOfficer = Annotated[StaffMember, Depends(get_current_data_protection_officer)]


async def get_current_coordinator(staff: CurrentStaff) -> StaffMember:
    if not staff.is_coordinator:
        raise ForbiddenError("only a coordinator can do this")
    return staff


CurrentCoordinator = Annotated[StaffMember, Depends(get_current_coordinator)]

_IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{8,200}$"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=_IDEMPOTENCY_KEY_PATTERN,
        description="Makes a retried request apply once: send the same key when you retry the same action.",
    ),
    # An optional header is absent or a string, never JSON null (fuzzing sent the literal text "null").
    WithJsonSchema({"type": "string", "pattern": _IDEMPOTENCY_KEY_PATTERN}),
]


def _iso_8601_only(value: object) -> object:
    # Pydantic also reads a bare number as Unix time ("0.5" is 1970); in a query that is a typo, not a date.
    if isinstance(value, str) and not _ISO_DATE_START.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z")
    return value


_ISO_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A date-time query parameter: ISO 8601 text only (trust: found by fuzzing).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]
