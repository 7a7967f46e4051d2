"""A real OpenID provider for the sign-in tests: panva's `oidc-provider` (OpenID Certified) on Node.js,
installed from the npm registry with the test dependencies (`make test` runs `npm ci` in
tests/support/oidc), started by the test on a free port. Skipped, with the reason shown, where Node.js or
the installed package is missing.

Signing in is done as a browser does it, with httpx: the API's /auth/login redirects to the provider, its
login form is filled in (the provider's development interactions take any password), the provider
redirects back to the API's callback with the code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.support.helpers import COORDINATOR, NURSE, PHYSICIAN, SOCIAL_WORKER

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "pathways-web"
AUDIENCE = "urn:pathways:api"
# A redirect URI the tests use to take a code for themselves (an API token for a script, as a client would).
TEST_REDIRECT = "http://127.0.0.1:9/test-callback"

# Subjects as an identity provider gives them (opaque), with the claims a county's directory would carry.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "a1f0c2-coordinator": {
        "preferred_username": COORDINATOR,
        "name": "Aino Aalto",
        "groups": ["pathways-coordinators", "team:eura-team"],
    },
    "b2e1d3-nurse": {
        "preferred_username": NURSE,
        "name": "Niina Virtanen",
        "groups": ["pathways-professionals", "team:eura-team"],
    },
    "c3d2e4-social": {
        "preferred_username": SOCIAL_WORKER,
        "name": "Sami Nieminen",
        "groups": ["pathways-professionals", "team:eura-team"],
    },
    "d4e3f5-physician": {
        "preferred_username": PHYSICIAN,
        "name": "Pekka Korhonen",
        "groups": ["pathways-professionals", "team:eura-team"],
    },
    "e5f4a6-stranger": {"preferred_username": "stranger.someone", "name": "Not Staff", "groups": []},
}
SUBJECT_OF = {claims["preferred_username"]: subject for subject, claims in ACCOUNTS.items()}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def provider_available() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (the sign-in tests run a real OpenID provider on it)"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        return "tests/support/oidc/node_modules is missing: run `npm ci --prefix tests/support/oidc` (make test does)"
    return None


@dataclass
class OpenIdProvider:
    issuer: str
    process: subprocess.Popen[bytes]
    redirect_uris: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_provider(
    tmp: Path,
    redirect_uris: list[str],
    *,
    access_token_ttl: int = 600,
    accounts: dict[str, dict[str, Any]] | None = None,
    defaults: bool = False,
) -> OpenIdProvider:
    """`defaults`: the provider left at oidc-provider's defaults (profile claims from UserInfo only)."""
    reason = provider_available()
    if reason:
        pytest.skip(reason)
    port = free_port()
    config = {
        "port": port,
        "clientId": CLIENT_ID,
        "redirectUris": [*redirect_uris, TEST_REDIRECT],
        "postLogoutRedirectUris": [uri.replace("/auth/callback", "/auth/signed-out") for uri in redirect_uris],
        "audience": AUDIENCE,
        "accessTokenTtl": access_token_ttl,
        "accounts": accounts or ACCOUNTS,
        "defaults": defaults,
    }
    config_path = tmp / f"oidc-{port}.json"
    config_path.write_text(json.dumps(config))
    log = (tmp / f"oidc-{port}.log").open("wb")
    process = subprocess.Popen(["node", str(PROVIDER_DIR / "provider.mjs"), str(config_path)], stdout=log, stderr=log)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the OpenID provider exited: {(tmp / f'oidc-{port}.log').read_text()}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the OpenID provider did not start within 30 s")
        time.sleep(0.1)
    return OpenIdProvider(issuer, process, redirect_uris)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    """One provider per test module; the API under test redirects to http://api.test/auth/callback."""
    provider = start_provider(tmp_path_factory.mktemp("oidc"), ["http://api.test/auth/callback"])
    yield provider
    provider.stop()


class _LoginForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("name") and values.get("type") == "hidden":
            self.fields[str(values["name"])] = values.get("value") or ""


async def provider_login(http: httpx.AsyncClient, authorize_url: str, username: str) -> httpx.Response:
    """Follow the provider's sign-in from its authorization URL as a browser would: its login form, filled
    in with the account of `username` (its subject, as the provider's account store knows it); returns the
    provider's final redirect back to the client (not followed)."""
    login = SUBJECT_OF.get(username, username)
    response = await http.get(authorize_url)
    for _ in range(10):
        if response.status_code in (302, 303) and "/interaction/" in response.headers["location"]:
            response = await http.get(urljoin(str(response.url), response.headers["location"]))
            continue
        if response.status_code == 200 and "<form" in response.text:
            form = _LoginForm()
            form.feed(response.text)
            assert form.action, response.text[:500]
            data = {**form.fields, "login": login, "password": "any"}
            response = await http.post(urljoin(str(response.url), form.action), data=data)
            continue
        if response.status_code in (302, 303):
            location = urljoin(str(response.url), response.headers["location"])
            if urlsplit(location).netloc == urlsplit(str(response.url)).netloc:
                response = await http.get(location)
                continue
        return response
    raise AssertionError("the provider's sign-in did not end in a redirect back to the client")


async def access_token_for(provider: OpenIdProvider, login: str) -> str:
    """A JWT access token for this API, for `login`, by the code flow with PKCE as a public client."""
    return (await tokens_for(provider, login))["access_token"]


async def tokens_for(provider: OpenIdProvider, login: str) -> dict[str, str]:
    """The token endpoint's answer (access and ID token) for `login`, by the code flow with PKCE."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as http:
        metadata = (await http.get(f"{provider.issuer}/.well-known/openid-configuration")).json()
        authorize = httpx.URL(
            metadata["authorization_endpoint"],
            params={
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": TEST_REDIRECT,
                "scope": "openid profile email",
                "state": secrets.token_urlsafe(16),
                "nonce": secrets.token_urlsafe(16),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": AUDIENCE,
            },
        )
        back = await provider_login(http, str(authorize), login)
        location = back.headers["location"]
        assert location.startswith(TEST_REDIRECT), location
        code = parse_qs(urlsplit(location).query)["code"][0]
        tokens = await http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": TEST_REDIRECT,
                "client_id": CLIENT_ID,
                "code_verifier": verifier,
                "resource": AUDIENCE,
            },
        )
        assert tokens.status_code == 200, tokens.text
        answer: dict[str, str] = tokens.json()
        return answer
