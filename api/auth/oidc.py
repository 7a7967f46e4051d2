"""The identity provider, as an OpenID Connect relying party sees it.

Discovery (`/.well-known/openid-configuration`), the provider's signing keys (JWKS, cached and refetched
for a key id it has not seen: the provider rotates keys), the authorization code flow with PKCE for
browsers, and validation of the JWTs it signs: ID tokens (audience: this client, with the nonce of the
sign-in) and access tokens (audience: this API). Only asymmetric algorithms are accepted; `none` and the
HMAC family never are (a public client has no secret to share, and a token signed with a key anyone can
read would pass).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from core.settings import Settings

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
DISCOVERY_SECONDS = 3600.0
# A token naming a key id the cached set lacks makes one refetch, at most this often (a flood of tokens
# with made-up key ids must not turn into a flood of requests to the provider).
JWKS_REFETCH_SECONDS = 30.0
# The whole key set is read again this often: a key the provider withdrew is not trusted for longer.
JWKS_MAX_AGE_SECONDS = 3600.0
# The `typ` headers an access token may carry (RFC 9068; many providers write "JWT"); an ID token's differ.
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
HTTP_TIMEOUT = 10.0


class IdentityProviderError(Exception):
    """The provider could not be reached or answered something unusable; the message says what."""


class InvalidToken(Exception):
    """A token that is not valid for this API: the message says why (expired, wrong audience ...)."""


@dataclass(frozen=True)
class PkceChallenge:
    verifier: str
    challenge: str

    @staticmethod
    def new() -> PkceChallenge:
        verifier = secrets.token_urlsafe(64)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return PkceChallenge(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@dataclass(frozen=True)
class SignedIn:
    """What the token endpoint answered for an authorization code, the ID token validated."""

    claims: dict[str, Any]
    id_token: str


class IdentityProvider:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self._client_secret = settings.oidc_client_secret
        self.audiences = settings.effective_oidc_audiences
        self.scopes = settings.oidc_scopes
        self.leeway = settings.oidc_clock_skew_seconds
        # The claims sign-in needs: when the ID token lacks one, the UserInfo endpoint is asked (OpenID Connect
        # Core's default for the code flow gives profile claims there only).
        self.needed_claims = tuple(
            claim
            for claim in (settings.oidc_staff_id_claim, settings.oidc_role_claim, settings.oidc_teams_claim)
            if claim
        )
        self._http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, PyJWK] = {}
        self._keys_fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    # -- discovery and keys ----------------------------------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._discovered_at > DISCOVERY_SECONDS:
            document = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if document.get("issuer", "").rstrip("/") != self.issuer:
                raise IdentityProviderError(
                    f"the provider's discovery document names issuer {document.get('issuer')!r}, not "
                    f"{self.issuer!r}: check PATHWAYS_OIDC_ISSUER"
                )
            self._discovery, self._discovered_at = document, time.monotonic()
        return self._discovery

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as err:
            raise IdentityProviderError(f"the identity provider did not answer {url} usefully: {err}") from err
        if not isinstance(document, dict):
            raise IdentityProviderError(f"the identity provider's {url} is not a JSON object")
        return document

    async def _signing_key(self, key_id: str | None) -> PyJWK:
        async with self._lock:
            age = time.monotonic() - self._keys_fetched_at
            # A key not seen yet (a rotation) is looked up at most every JWKS_REFETCH_SECONDS; the whole set is
            # read again every JWKS_MAX_AGE_SECONDS, so a key the provider withdrew stops being trusted.
            if age > JWKS_MAX_AGE_SECONDS or (key_id not in self._keys and age > JWKS_REFETCH_SECONDS):
                try:
                    document = await self._get_json((await self.metadata())["jwks_uri"])
                except IdentityProviderError:
                    if (key_id or "") not in self._keys:
                        raise
                    # The provider is away: the keys it last published stay trusted, and it is asked again soon.
                    self._keys_fetched_at = time.monotonic() - JWKS_MAX_AGE_SECONDS + JWKS_REFETCH_SECONDS
                else:
                    try:
                        keys = PyJWKSet.from_dict(document).keys
                    except jwt.PyJWKSetError:
                        keys = []  # the provider publishes no usable key (all withdrawn): nothing is trusted
                    self._keys = {key.key_id or "": key for key in keys if key.public_key_use in (None, "sig")}
                    self._keys_fetched_at = time.monotonic()
        key = self._keys.get(key_id or "")
        if key is None and key_id is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))
        if key is None:
            raise InvalidToken(f"the token is signed with a key the identity provider does not publish ({key_id})")
        return key

    # -- tokens ----------------------------------------------------------------------------------------------

    async def _decode(self, token: str, *, audience: str | list[str], required: list[str]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise InvalidToken(f"not a JWT: {err}") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise InvalidToken(f"the token's algorithm {algorithm!r} is not accepted")
        key = await self._signing_key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired: sign in again") from None
        except jwt.InvalidAudienceError:
            expected = audience if isinstance(audience, str) else " or ".join(repr(name) for name in audience)
            raise InvalidToken(f"the token is not meant for this API (audience {expected})") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"the token was not issued by {self.issuer}") from None
        except jwt.PyJWTError as err:
            raise InvalidToken(f"the token is not valid: {err}") from None
        return claims

    async def access_token_claims(self, token: str) -> dict[str, Any]:
        """The claims of a JWT access token for this API: signature, issuer, audience, expiry (with skew), and
        that it is an access token: an ID token (typed as one, or carrying the sign-in's nonce) is refused even
        where its audience, a client id, is accepted."""
        try:
            kind = str(jwt.get_unverified_header(token).get("typ", "")).lower()
        except jwt.PyJWTError as err:
            raise InvalidToken(f"not a JWT: {err}") from None
        if kind and kind not in ACCESS_TOKEN_TYPES:
            raise InvalidToken(f"the token is not an access token (typ {kind!r})")
        claims = await self._decode(token, audience=self.audiences, required=["exp", "iat", "sub"])
        if "nonce" in claims:
            raise InvalidToken("the token is an ID token, not an access token: send the access token")
        return claims

    # -- the browser's sign-in ---------------------------------------------------------------------------------

    async def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, pkce: PkceChallenge) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        # No `resource` (RFC 8707): the browser's sign-in keeps a session, not an access token for the API, and its
        # access token serves UserInfo only; a provider that does not know resource indicators refuses the
        # parameter ("resource indicator is missing, or unknown", oidc-provider at its defaults).
        return f"{endpoint}?{urlencode(query)}"

    async def exchange_code(self, *, code: str, redirect_uri: str, verifier: str, nonce: str) -> SignedIn:
        endpoint = (await self.metadata())["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self._client_secret is not None:
            # A confidential client sends its secret in the form (client_secret_post).
            form["client_secret"] = self._client_secret.get_secret_value()
        try:
            response = await self._http.post(endpoint, data=form)
        except httpx.HTTPError as err:
            raise IdentityProviderError(f"the identity provider's token endpoint did not answer: {err}") from err
        if response.status_code != 200:
            # Its status only: the provider's answer may quote what it was sent.
            raise IdentityProviderError(f"the identity provider refused the sign-in code ({response.status_code})")
        tokens = response.json()
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise IdentityProviderError("the identity provider answered without an ID token")
        claims = await self._decode(id_token, audience=self.client_id, required=["exp", "iat", "sub"])
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise InvalidToken("the ID token does not answer this sign-in (nonce mismatch): sign in again")
        access_token = tokens.get("access_token")
        if any(claim not in claims for claim in self.needed_claims) and isinstance(access_token, str):
            # The ID token's own claims win; UserInfo only adds what it lacks, and must be about the same subject.
            claims = {**await self.userinfo(access_token, subject=str(claims["sub"])), **claims}
        return SignedIn(claims=claims, id_token=id_token)

    async def userinfo(self, access_token: str, *, subject: str) -> dict[str, Any]:
        """The UserInfo endpoint's claims for this access token (OpenID Connect Core 5.3), whose `sub` must be
        the ID token's (5.3.2): otherwise they may be another person's."""
        endpoint = (await self.metadata()).get("userinfo_endpoint")
        if not endpoint:
            return {}
        try:
            response = await self._http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError as err:
            raise IdentityProviderError(f"the identity provider's UserInfo endpoint did not answer: {err}") from err
        if response.status_code != 200 or not response.headers.get("content-type", "").startswith("application/json"):
            raise IdentityProviderError(
                f"the identity provider's UserInfo endpoint did not give the claims ({response.status_code})"
            )
        info = response.json()
        if not isinstance(info, dict) or not secrets.compare_digest(str(info.get("sub", "")), subject):
            raise InvalidToken("the identity provider's UserInfo is about another subject than the ID token")
        return info

    async def end_session_url(self, *, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"post_logout_redirect_uri": post_logout_redirect_uri, "client_id": self.client_id}
        if id_token_hint:
            query["id_token_hint"] = id_token_hint
        return f"{endpoint}?{urlencode(query)}"


def looks_like_jwt(token: str) -> bool:
    """A JWT is three base64url parts; the opaque tokens the staff table issues have no dots."""
    return token.count(".") == 2 and token.startswith("eyJ")
