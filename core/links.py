"""Signed, expiring links for partner organisations, and the signature on their webhook callbacks.

A provider has no staff account: the outbox e-mails it a link to `/partner/referrals/<token>`, where it reads
the referral (shared under the client's consent) and answers. The token names only the referral and the
partner, with an expiry, signed with HMAC-SHA256 (`PATHWAYS_PARTNER_LINK_SECRETS`; the first secret signs,
every one verifies, so a secret can be rotated without breaking the links already sent). It carries no
pathway id and nothing about the client: a link copied elsewhere shows only what the consent allows, and
only until it expires or the consent is withdrawn (the page checks the referral's state on every read).

A partner with a system of its own gets the referral by a webhook signed with its own secret (the same
scheme as the team webhooks, `activities.delivery.sign_webhook`) and answers by calling back, signed the
same way; `verify_callback` checks that signature and that its timestamp is recent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.settings import Settings

PARTNER_PAGE_PATH = "/partner/referrals/"
PARTNER_CALLBACK_PATH = "/partner/callbacks/referrals"
PARTNER_HEADER = "X-Pathways-Partner"


class InvalidLink(ValueError):
    """The token was not made by us, was altered, or has expired; the message says which."""


@dataclass(frozen=True)
class LinkClaims:
    referral_id: str
    partner_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PartnerLinks:
    def __init__(self, secrets: list[str], public_url: str, valid_for: timedelta) -> None:
        self._secrets = [secret.encode() for secret in secrets]
        self._public_url = public_url.rstrip("/")
        self.valid_for = valid_for

    @classmethod
    def from_settings(cls, settings: Settings) -> PartnerLinks:
        return cls(
            settings.partner_link_secret_list,
            settings.effective_public_url,
            timedelta(days=settings.partner_link_days),
        )

    @property
    def enabled(self) -> bool:
        return bool(self._secrets)

    @property
    def callback_url(self) -> str:
        return self._public_url + PARTNER_CALLBACK_PATH

    def _signature(self, secret: bytes, payload: str) -> str:
        return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())

    def token(self, referral_id: str, partner_id: str, expires_at: datetime) -> str:
        if not self._secrets:
            raise InvalidLink("partner links are not configured (PATHWAYS_PARTNER_LINK_SECRETS is empty)")
        payload = _b64(f"{referral_id}|{partner_id}|{int(expires_at.timestamp())}".encode())
        return f"{payload}.{self._signature(self._secrets[0], payload)}"

    def link(self, referral_id: str, partner_id: str, now: datetime) -> tuple[str, datetime]:
        """The provider's link to a referral, and when it stops working."""
        expires_at = (now + self.valid_for).replace(microsecond=0)
        return f"{self._public_url}{PARTNER_PAGE_PATH}{self.token(referral_id, partner_id, expires_at)}", expires_at

    def verify(self, token: str, now: datetime | None = None) -> LinkClaims:
        payload, dot, signature = token.partition(".")
        if not dot or not payload or not signature:
            raise InvalidLink("the link is not complete: copy the whole address from the message")
        if not any(hmac.compare_digest(self._signature(secret, payload), signature) for secret in self._secrets):
            raise InvalidLink("the link is not valid: it was altered, or it was not sent by this service")
        try:
            referral_id, partner_id, expires = _unb64(payload).decode().split("|")
            expires_at = datetime.fromtimestamp(int(expires), UTC)
        except (ValueError, UnicodeDecodeError):
            raise InvalidLink("the link is not valid") from None
        if (now or datetime.now(UTC)) >= expires_at:
            raise InvalidLink(
                "the link has expired: ask the case manager of the work-ability team to send the referral again"
            )
        return LinkClaims(referral_id=referral_id, partner_id=partner_id, expires_at=expires_at)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`: what signs our webhooks and partners'
    callbacks alike."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_callback(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: datetime, tolerance: timedelta
) -> None:
    """A partner's signed callback: `X-Pathways-Signature: sha256=<hex of HMAC(secret, timestamp.body)>`."""
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError):
        raise InvalidLink("X-Pathways-Timestamp must be the Unix time the callback was signed at") from None
    if abs(now - sent_at) > tolerance:
        raise InvalidLink(f"the callback's timestamp is more than {int(tolerance.total_seconds())} s from our clock")
    if not hmac.compare_digest(webhook_signature(secret, timestamp, body), signature):
        raise InvalidLink("the callback's signature does not match the partner's webhook secret")


CLIENT_FEEDBACK_PATH = "/feedback/"


class FeedbackLinks:
    """The client's feedback links: `/feedback/<token>`, the token naming only the link's id and its expiry,
    signed with the partner link secrets under a purpose of its own (a partner's token is never a client's)."""

    PURPOSE = b"client-feedback|"

    def __init__(self, secrets: list[str], public_url: str) -> None:
        self._secrets = [secret.encode() for secret in secrets]
        self._public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackLinks:
        return cls(settings.partner_link_secret_list, settings.effective_public_url)

    @property
    def enabled(self) -> bool:
        return bool(self._secrets)

    def _signature(self, secret: bytes, payload: str) -> str:
        return _b64(hmac.new(secret, self.PURPOSE + payload.encode(), hashlib.sha256).digest())

    def url(self, link_id: str, expires_at: datetime) -> str:
        if not self._secrets:
            raise InvalidLink("feedback links need PATHWAYS_PARTNER_LINK_SECRETS, which is empty")
        payload = _b64(f"{link_id}|{int(expires_at.timestamp())}".encode())
        return f"{self._public_url}{CLIENT_FEEDBACK_PATH}{payload}.{self._signature(self._secrets[0], payload)}"

    def verify(self, token: str) -> tuple[str, datetime]:
        """The link id and expiry the token names, if it is ours and unaltered (expiry is the caller's to
        judge, with the link's row: used and withdrawn links have their own answer)."""
        payload, dot, signature = token.partition(".")
        if not dot or not payload or not signature or len(token) > 200:
            raise InvalidLink("the link is not complete")
        if not any(hmac.compare_digest(self._signature(secret, payload), signature) for secret in self._secrets):
            raise InvalidLink("the link is not valid")
        try:
            link_id, expires = _unb64(payload).decode().split("|")
            return link_id, datetime.fromtimestamp(int(expires), UTC)
        except (ValueError, UnicodeDecodeError, OverflowError):
            raise InvalidLink("the link is not valid") from None
