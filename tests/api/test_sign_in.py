"""Signing in with the organisation's identity provider, against a real OpenID provider (tests/support/oidc).

The browser's sign-in (authorization code with PKCE), JWT access tokens for scripts and apps checked
against the provider's published keys, the identity mapped to the staff table, sessions that end, the
development sign-in that only `make run` turns on, and API tokens that now expire.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.auth import oidc, sessions
from api.auth.oidc import IdentityProvider
from core.db import build_engine
from core.settings import Settings
from models.pathway import Language
from models.tables import ApiToken, AuditLogEntry, Staff, StaffRole, StaffSession
from ops.admin import add_staff, link_identity
from tests.support.fixtures import serving
from tests.support.helpers import COORDINATOR, NURSE, TEAM, seed_fixed_team
from tests.support.oidc import (
    ACCOUNTS,
    AUDIENCE,
    CLIENT_ID,
    SUBJECT_OF,
    OpenIdProvider,
    access_token_for,
    provider_login,
    start_provider,
    tokens_for,
)
from tests.support.oidc import oidc_provider as oidc_provider

API = "http://api.test"


@pytest.fixture
def staff_database(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The fixed team, each member linked to their account at the provider (as an administrator does once)."""
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    tokens = seed_fixed_team(url)
    link_subjects(url, {staff_id: SUBJECT_OF[staff_id] for staff_id in tokens if staff_id in SUBJECT_OF})
    return url, tokens


def link_subjects(database_url: str, subjects: dict[str, str]) -> None:
    engine = build_engine(database_url)
    try:
        for staff_id, subject in subjects.items():
            link_identity(engine, staff_id=staff_id, subject=subject)
    finally:
        engine.dispose()


def oidc_settings(provider: OpenIdProvider, database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path,
        public_url=API,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_audience=AUDIENCE,
        **overrides,
    )


@pytest.fixture
async def browser(
    oidc_provider: OpenIdProvider, staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client: the API in-process at http://api.test, the provider over the network."""
    app = create_app(oidc_settings(oidc_provider, staff_database[0], tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(mounts={API: transport}, follow_redirects=False, timeout=30) as http:
            yield http


async def sign_in(http: httpx.AsyncClient, login: str, return_to: str = "/auth/session") -> httpx.Response:
    return await sign_in_as_subject(http, SUBJECT_OF.get(login, login), return_to)


async def sign_in_as_subject(http: httpx.AsyncClient, subject: str, return_to: str = "/auth/session") -> httpx.Response:
    start = await http.get(f"{API}/auth/login", params={"return_to": return_to})
    assert start.status_code == 303, start.text
    assert start.headers["location"].startswith("http://127.0.0.1:")
    back = await provider_login(http, start.headers["location"], subject)
    assert back.headers["location"].startswith(f"{API}/auth/callback"), back.headers["location"]
    return await http.get(back.headers["location"])


async def test_a_coordinator_signs_in_in_the_browser_and_the_session_knows_who_they_are(
    browser: httpx.AsyncClient, staff_database: tuple[str, dict[str, str]]
) -> None:
    callback = await sign_in(browser, COORDINATOR, return_to="/auth/session")
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == "/auth/session"
    cookie = callback.headers["set-cookie"]
    assert f"{sessions.COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    me = await browser.get(f"{API}/auth/session")
    assert me.status_code == 200, me.text
    assert me.json() == {
        "staff_id": COORDINATOR,
        "display_name": me.json()["display_name"],
        "role": "coordinator",
        "teams": [TEAM],
    }
    # The session is the linked subject's member.
    engine_url = staff_database[0]

    engine = build_engine(engine_url)
    with Session(engine) as session:
        staff = session.get(Staff, COORDINATOR)
        assert staff is not None and staff.oidc_subject == SUBJECT_OF[COORDINATOR]
        [row] = session.exec(select(StaffSession)).all()
        assert row.staff_id == COORDINATOR and row.id_token_hint
    engine.dispose()


async def test_the_json_api_does_not_take_the_session_cookie(browser: httpx.AsyncClient) -> None:
    """A cross-site form or script must not act with the browser's cookie: the API wants a bearer token."""
    await sign_in(browser, NURSE)
    response = await browser.get(f"{API}/me/caseload")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_sign_out_ends_the_session_everywhere(browser: httpx.AsyncClient) -> None:
    await sign_in(browser, NURSE)
    assert (await browser.get(f"{API}/auth/session")).status_code == 200
    secret = browser.cookies.get(sessions.COOKIE, domain="api.test")
    out = await browser.post(f"{API}/auth/logout")
    assert out.status_code == 303
    # To the provider's sign-out, which comes back to the signed-out page.
    assert "/session/end" in out.headers["location"]
    assert "post_logout_redirect_uri=http%3A%2F%2Fapi.test%2Fauth%2Fsigned-out" in out.headers["location"]
    # The old cookie, replayed, no longer signs anyone in.
    browser.cookies.clear()
    replayed = await browser.get(f"{API}/auth/session", headers={"Cookie": f"{sessions.COOKIE}={secret}"})
    assert replayed.status_code == 401
    assert "sign in again" in replayed.json()["detail"]


async def test_a_state_is_good_for_one_callback_and_a_return_path_stays_on_the_site(browser: httpx.AsyncClient) -> None:
    start = await browser.get(f"{API}/auth/login", params={"return_to": "https://evil.example/steal"})
    back = await provider_login(browser, start.headers["location"], NURSE)
    callback_url = back.headers["location"]
    first = await browser.get(callback_url)
    assert first.status_code == 303 and first.headers["location"] == "/"
    again = await browser.get(callback_url)
    assert again.status_code == 401
    assert "start again" in again.json()["detail"]
    forged = await browser.get(f"{API}/auth/callback", params={"state": "made-up", "code": "x"})
    assert forged.status_code == 401


async def test_a_sign_in_finishes_only_in_the_browser_that_started_it(
    browser: httpx.AsyncClient,
    oidc_provider: OpenIdProvider,
    staff_database: tuple[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    """Login CSRF: an attacker signs in as themselves up to the provider's answer and sends the callback link to
    a victim. The victim's browser never started that sign-in, so it is refused and nobody is signed in there;
    the browser that started it can still finish."""
    start = await browser.get(f"{API}/auth/login")
    assert "pathways_sign_in=" in start.headers["set-cookie"] and "HttpOnly" in start.headers["set-cookie"]
    back = await provider_login(browser, start.headers["location"], NURSE)
    callback_url = back.headers["location"]
    app = create_app(oidc_settings(oidc_provider, staff_database[0], tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(mounts={API: transport}, follow_redirects=False, timeout=30) as victim:
            replayed = await victim.get(callback_url)
            assert replayed.status_code == 401, replayed.text
            assert "not started in this browser" in replayed.json()["detail"]
            assert sessions.COOKIE not in replayed.headers.get("set-cookie", "")
            assert (await victim.get(f"{API}/auth/session")).status_code == 401
    finished = await browser.get(callback_url)
    assert finished.status_code == 303, finished.text
    assert (await browser.get(f"{API}/auth/session")).json()["staff_id"] == NURSE


async def test_someone_the_provider_knows_but_who_is_not_staff_is_told_so(browser: httpx.AsyncClient) -> None:
    callback = await sign_in(browser, "stranger.someone")
    assert callback.status_code == 401
    assert callback.json()["detail"] == (
        "you signed in as stranger.someone (identity e5f4a6-stranger), which is not linked to a staff member of "
        "this service; give this identity to an administrator, who links it to your account once"
    )


async def test_a_name_claim_never_makes_anyone_staff_an_administrator_links_the_identity_once(
    staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """The first sign-in bound whoever's `preferred_username` named a staff id: at a provider where users edit
    their own username, anyone could become the not-yet-signed-in nurse. Now only a subject an administrator
    linked signs in; the nurse's name claimed by another account gets nothing."""
    database_url, tokens = staff_database
    impostor = {"f6a5b7-impostor": {"preferred_username": NURSE, "name": "Not the nurse", "groups": []}}
    provider = start_provider(tmp_path, [f"{API}/auth/callback"], accounts={**ACCOUNTS, **impostor})
    engine = build_engine(database_url)
    admin_token = add_staff(
        engine,
        staff_id="it.admin",
        display_name="IT admin",
        role=StaffRole.ADMIN,
        teams=[],
        language=Language.FI,
        email=None,
    )
    engine.dispose()
    admin = {"Authorization": f"Bearer {admin_token}"}
    try:
        app = create_app(oidc_settings(provider, database_url, tmp_path))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(mounts={API: transport}, follow_redirects=False, timeout=30) as http:
                # The nurse is linked (the fixture); the impostor's account claims the nurse's name.
                refused = await sign_in_as_subject(http, "f6a5b7-impostor")
                assert refused.status_code == 401
                assert "identity f6a5b7-impostor" in refused.json()["detail"]
                assert (await http.get(f"{API}/auth/session")).status_code == 401

                # Unlinked, the nurse's own account is refused too, until an administrator links it again.
                unlinked = await http.delete(f"{API}/staff/{NURSE}/identity", headers=admin)
                assert unlinked.status_code == 200 and unlinked.json() == {"staff_id": NURSE, "sign_in_linked": False}
                http.cookies.clear()  # the provider would otherwise remember the impostor's sign-in
                assert (await sign_in(http, NURSE)).status_code == 401
                bad = await http.put(f"{API}/staff/{NURSE}/identity", headers=admin, json={"subject": "has space"})
                assert bad.status_code == 422
                taken = await http.put(
                    f"{API}/staff/{NURSE}/identity", headers=admin, json={"subject": SUBJECT_OF[COORDINATOR]}
                )
                assert taken.status_code == 409 and COORDINATOR in taken.json()["detail"]
                nurse = {"Authorization": f"Bearer {tokens[NURSE]}"}
                not_admin = await http.put(
                    f"{API}/staff/{NURSE}/identity", headers=nurse, json={"subject": "f6a5b7-impostor"}
                )
                assert not_admin.status_code == 403
                linked = await http.put(
                    f"{API}/staff/{NURSE}/identity", headers=admin, json={"subject": SUBJECT_OF[NURSE]}
                )
                assert linked.status_code == 200 and linked.json()["sign_in_linked"] is True
                again = await sign_in(http, NURSE)
                assert again.status_code == 303, again.text
                assert (await http.get(f"{API}/auth/session")).json()["staff_id"] == NURSE
                listed = (await http.get(f"{API}/staff", headers=nurse)).json()
                assert all("subject" not in str(member) for member in listed)
                # The member and the team's coordinators are told of each link; the identity itself is not shown.
                coordinator = {"Authorization": f"Bearer {tokens[COORDINATOR]}"}
                for who in (nurse, coordinator):
                    told = [
                        item
                        for item in (await http.get(f"{API}/notifications", headers=who)).json()
                        if item["kind"] == "identity_linked" and NURSE in item["subject"]
                    ]
                    # Newest first: this link by the administrator, then the fixture's on the command line.
                    assert ["it.admin" in item["body"] for item in told] == [True, False]
                    assert "ops.cli" in told[1]["body"]
                    assert SUBJECT_OF[NURSE] not in str(told)

                # Relinking the nurse to another account ends the sessions of the old one at once.
                moved = await http.put(f"{API}/staff/{NURSE}/identity", headers=admin, json={"subject": "new-sub-1"})
                assert moved.status_code == 200
                assert (await http.get(f"{API}/auth/session")).status_code == 401
    finally:
        provider.stop()
    engine = build_engine(database_url)
    with Session(engine) as session:
        lines = [(row.staff_id, row.action, row.outcome) for row in session.exec(select(AuditLogEntry)).all()]
    engine.dispose()
    # Each change is audited under the administrator, the refused one too; never the subject.
    assert lines.count(("it.admin", f"link_identity:{NURSE}", "ok")) == 2
    assert ("it.admin", f"unlink_identity:{NURSE}", "ok") in lines
    assert len([line for line in lines if line[1] == f"link_identity:{NURSE}" and line[2] != "ok"]) == 1
    assert not any(SUBJECT_OF[NURSE] in str(line) for line in lines)


async def test_an_access_token_from_the_provider_signs_in_to_the_api(
    oidc_provider: OpenIdProvider, staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    token = await access_token_for(oidc_provider, NURSE)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE and claims["iss"] == oidc_provider.issuer
    app = create_app(oidc_settings(oidc_provider, staff_database[0], tmp_path))
    async with serving(app) as api:
        response = await api.get("/me/caseload", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        me = await api.get("/auth/session", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["staff_id"] == NURSE and me.json()["role"] == "professional"


async def test_tokens_for_another_audience_signed_by_another_key_or_unsigned_are_refused(
    oidc_provider: OpenIdProvider, staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    token = await access_token_for(oidc_provider, NURSE)
    header, payload, _signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": kid})
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    hmac_signed = jwt.encode(claims, "a secret anyone could know, 32 bytes+", algorithm="HS256", headers={"kid": kid})
    # The audience is part of the signed claims, so another API's token is the provider's, for another audience.
    other_api = Settings(
        database_url=staff_database[0],
        var_dir=tmp_path,
        public_url=API,
        oidc_issuer=oidc_provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_audience="urn:another:api",
    )
    async with serving(create_app(oidc_settings(oidc_provider, staff_database[0], tmp_path))) as api:
        for bad, reason in (
            (forged, "the token is not valid: Signature verification failed"),
            (unsigned, "the token's algorithm 'none' is not accepted"),
            (hmac_signed, "the token's algorithm 'HS256' is not accepted"),
            (token[:-4] + "AAAA", "the token is not valid: Signature verification failed"),
        ):
            response = await api.get("/me/caseload", headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401
            assert response.json()["detail"] == reason
    async with serving(create_app(other_api)) as api:
        response = await api.get("/me/caseload", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["detail"] == "the token is not meant for this API (audience 'urn:another:api')"
    # Several audiences may be accepted (the API's own, and the Temporal Web UI's client for its codec calls).
    both = other_api.model_copy(update={"oidc_audience": f"urn:another:api, {AUDIENCE}"})
    async with serving(create_app(both)) as api:
        response = await api.get("/me/caseload", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


async def test_an_id_token_is_not_taken_for_an_access_token(
    oidc_provider: OpenIdProvider, staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """One audience set for every client: the ID token of the client (its audience, the client id, accepted as
    well) worked as a bearer token on the API."""
    tokens = await tokens_for(oidc_provider, NURSE)
    both = oidc_settings(oidc_provider, staff_database[0], tmp_path).model_copy(
        update={"oidc_audience": f"{AUDIENCE}, {CLIENT_ID}"}
    )
    async with serving(create_app(both)) as api:
        refused = await api.get("/me/caseload", headers={"Authorization": f"Bearer {tokens['id_token']}"})
        assert refused.status_code == 401 and "not an access token" in refused.json()["detail"]
        accepted = await api.get("/me/caseload", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert accepted.status_code == 200, accepted.text


async def test_a_signing_key_the_provider_withdrew_stops_being_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys were cached forever: a key withdrawn after a compromise stayed trusted until a restart."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    published = {"keys": [{**jwk, "kid": "old-key", "use": "sig", "alg": "RS256"}]}
    issuer = "https://login.example.org"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": issuer, "jwks_uri": f"{issuer}/jwks"})
        return httpx.Response(200, json=published)

    settings = Settings(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_audience=AUDIENCE)
    provider = IdentityProvider(settings, http=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "s1", "iat": now, "exp": now + 600}
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "old-key", "typ": "at+jwt"})
    assert (await provider.access_token_claims(token))["sub"] == "s1"
    published["keys"] = []  # withdrawn
    monkeypatch.setattr(oidc, "JWKS_MAX_AGE_SECONDS", 0.0)
    with pytest.raises(oidc.InvalidToken, match="does not publish"):
        await provider.access_token_claims(token)
    await provider.close()


async def test_an_expired_access_token_is_refused_with_the_reason(
    staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    provider = start_provider(tmp_path, ["http://api.test/auth/callback"], access_token_ttl=5)
    try:
        token = await access_token_for(provider, NURSE)
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        settings = oidc_settings(provider, staff_database[0], tmp_path, oidc_clock_skew_seconds=0)
        async with serving(create_app(settings)) as api:
            assert (await api.get("/me/caseload", headers={"Authorization": f"Bearer {token}"})).status_code == 200
            await asyncio.sleep(max(0.0, expires - time.time()) + 1.0)
            # A fresh process (no token cache): the signature is fine, the expiry is not.
        async with serving(create_app(settings)) as api:
            response = await api.get("/me/caseload", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401
            assert response.json()["detail"] == "the token has expired: sign in again"
    finally:
        provider.stop()


async def test_role_and_teams_can_come_from_the_providers_claims(
    oidc_provider: OpenIdProvider, staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """A county that manages roles and teams in its directory: the staff table names the person, the
    groups claim their role and teams (here the nurse's directory entry says coordinator of no team)."""
    token = await access_token_for(oidc_provider, COORDINATOR)
    settings = oidc_settings(
        oidc_provider, staff_database[0], tmp_path, oidc_role_claim="groups", oidc_teams_claim="groups"
    )
    async with serving(create_app(settings)) as api:
        me = await api.get("/auth/session", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "coordinator" and me.json()["teams"] == [TEAM]
    stranger_groups = oidc_settings(
        oidc_provider, staff_database[0], tmp_path, oidc_role_claim="groups", oidc_role_values="admin=nobody-has-this"
    )
    async with serving(create_app(stranger_groups)) as api:
        refused = await api.get("/auth/session", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
        assert refused.json()["detail"] == "your identity provider account has no role for this service (claim groups)"


async def test_a_browser_session_has_the_role_and_teams_the_provider_gave_at_sign_in(
    staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """The callback kept only the staff id, and the browser read role and teams from the table: someone moved
    out of a team in the directory kept its pathways in the web app and the codec. Here the directory says the
    nurse coordinates no team; the table still says professional of eura-team."""
    moved = {
        subject: ({**claims, "groups": ["pathways-coordinators"]} if claims["preferred_username"] == NURSE else claims)
        for subject, claims in ACCOUNTS.items()
    }
    provider = start_provider(tmp_path, [f"{API}/auth/callback"], accounts=moved)
    try:
        settings = oidc_settings(
            provider, staff_database[0], tmp_path, oidc_role_claim="groups", oidc_teams_claim="groups"
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(mounts={API: transport}, follow_redirects=False, timeout=30) as browser:
                assert (await sign_in(browser, NURSE)).status_code == 303
                me = (await browser.get(f"{API}/auth/session")).json()
                assert (me["role"], me["teams"]) == ("coordinator", [])
    finally:
        provider.stop()


async def test_a_browser_session_left_unused_ends(
    browser: httpx.AsyncClient, staff_database: tuple[str, dict[str, str]]
) -> None:
    await sign_in(browser, NURSE)
    assert (await browser.get(f"{API}/auth/session")).status_code == 200

    engine = build_engine(staff_database[0])
    with Session(engine) as session:
        [row] = session.exec(select(StaffSession)).all()
        row.last_seen_at = datetime.now(UTC) - timedelta(minutes=31)
        session.add(row)
        session.commit()
    engine.dispose()
    ended = await browser.get(f"{API}/auth/session")
    assert ended.status_code == 401 and "sign in again" in ended.json()["detail"]


async def test_sign_in_works_with_a_provider_that_gives_profile_claims_from_userinfo_only(
    staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """oidc-provider at its defaults puts only `sub` in the ID token: the product read no preferred_username and
    told the nurse they were not staff. It now asks UserInfo, for the same subject."""
    provider = start_provider(tmp_path, [f"{API}/auth/callback"], defaults=True)
    try:
        app = create_app(oidc_settings(provider, staff_database[0], tmp_path))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(mounts={API: transport}, follow_redirects=False, timeout=30) as browser:
                callback = await sign_in(browser, NURSE)
                assert callback.status_code == 303, callback.text
                me = (await browser.get(f"{API}/auth/session")).json()
                assert (me["staff_id"], me["role"], me["teams"]) == (NURSE, "professional", [TEAM])
    finally:
        provider.stop()


async def test_the_development_sign_in_is_off_unless_make_run_turns_it_on(
    staff_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    database_url, _ = staff_database
    async with serving(create_app(Settings(database_url=database_url, var_dir=tmp_path))) as api:
        for path in ("/auth/dev", "/auth/login"):
            response = await api.get(path)
            assert response.status_code == 404
            assert "sign-in" in response.json()["detail"]
    settings = Settings(database_url=database_url, var_dir=tmp_path, dev_sign_in=True)
    async with serving(create_app(settings)) as api:
        page = await api.get("/auth/dev")
        assert page.status_code == 200
        assert "Development sign-in." in page.text and "make run" in page.text
        assert f"value='{NURSE}'" in page.text
        signed = await api.post("/auth/dev", data={"staff_id": NURSE, "return_to": "https://evil.example"})
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        me = await api.get("/auth/session", headers={"Cookie": f"{sessions.COOKIE}={signed.cookies[sessions.COOKIE]}"})
        assert me.json()["staff_id"] == NURSE
        unknown = await api.post("/auth/dev", data={"staff_id": "nobody.here"})
        assert unknown.status_code == 401


async def test_an_api_token_expires_and_says_when(staff_database: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    database_url, tokens = staff_database

    engine: Engine = build_engine(database_url)
    async with serving(create_app(Settings(database_url=database_url, var_dir=tmp_path, token_cache_seconds=0))) as api:
        headers = {"Authorization": f"Bearer {tokens[NURSE]}"}
        assert (await api.get("/me/caseload", headers=headers)).status_code == 200
        with Session(engine) as session:
            for row in session.exec(select(ApiToken).where(ApiToken.staff_id == NURSE)):
                assert row.expires_at is not None  # every issued token has an expiry
                row.expires_at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
                session.add(row)
            session.commit()
        response = await api.get("/me/caseload", headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"].startswith("the bearer token expired on 2026-11-30 08:00 UTC")
    engine.dispose()


def test_a_new_token_lasts_the_configured_days(staff_database: tuple[str, dict[str, str]]) -> None:
    from ops.admin import issue_token

    engine = build_engine(staff_database[0])
    issued = issue_token(engine, staff_id=NURSE, revoke_existing=False, lifetime=timedelta(days=30))
    assert timedelta(days=29, hours=23) < issued.expires_at - datetime.now(UTC) <= timedelta(days=30)
    engine.dispose()


def test_only_paths_on_this_site_are_returned_to() -> None:
    for unsafe in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""):
        assert sessions.safe_return_path(unsafe) == "/"
    assert sessions.safe_return_path("/pathways/pathway-x?tab=plan") == "/pathways/pathway-x?tab=plan"


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def test_the_authorization_request_uses_pkce_s256_a_nonce_and_no_resource(
    browser: httpx.AsyncClient,
) -> None:
    start = await browser.get(f"{API}/auth/login")
    query = _query(start.headers["location"])
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["nonce"] and query["state"] and "resource" not in query
    assert query["redirect_uri"] == [f"{API}/auth/callback"] and query["client_id"] == [CLIENT_ID]
