"""Delivery of notifications outside the system: e-mail over SMTP and signed team webhooks.

Each sender either returns (delivered), raises `PermanentDeliveryError` (a retry can never succeed:
the address is refused, the webhook answers 4xx) or raises `TransientDeliveryError` (the server is down,
times out or asks to try later). The store marks a permanent failure on the notification row and lets
Temporal retry the activity on a transient one.

Webhook signature: `X-Pathways-Signature: sha256=<hex>` where hex is HMAC-SHA256 with the team's
webhook secret over `<X-Pathways-Timestamp>.<raw body>`; receivers recompute it and reject old timestamps.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import httpx

from core import net
from core.links import webhook_signature
from core.settings import Settings

SIGNATURE_HEADER = "X-Pathways-Signature"
TIMESTAMP_HEADER = "X-Pathways-Timestamp"
DELIVERY_ID_HEADER = "X-Pathways-Delivery"
# Status codes a webhook receiver uses for "try again later"; every other 4xx is the request's own fault.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})


class PermanentDeliveryError(Exception):
    """A retry cannot succeed; the notification is marked failed for operations to see."""


class TransientDeliveryError(Exception):
    """The channel is unavailable for now; the activity raises so Temporal retries it."""


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str
    language: str
    delivery_id: str


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for a webhook body sent at `timestamp` (Unix seconds)."""
    return webhook_signature(secret, timestamp, body)


def _is_permanent_smtp_code(code: int) -> bool:
    return 500 <= code < 600


def _looks_like_address(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    return bool(local) and bool(domain) and not any(c.isspace() for c in address)


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._security = settings.smtp_security
        self._username = settings.smtp_username
        self._password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self._from = settings.smtp_from_address
        self._timeout = settings.smtp_timeout_seconds

    def _message(self, email: OutgoingEmail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        # The same id on every attempt lets mail systems drop a duplicate after a retry.
        domain = self._from.rpartition("@")[2] or "pathways.invalid"
        message["Message-ID"] = f"<{hashlib.sha256(email.delivery_id.encode()).hexdigest()[:32]}@{domain}>"
        message.set_content(email.body)
        # After set_content, which replaces every Content-* header.
        message["Content-Language"] = email.language
        return message

    async def send(self, email: OutgoingEmail) -> None:
        if not _looks_like_address(email.to):
            raise PermanentDeliveryError("the recipient's e-mail address is not a valid address")
        try:
            await aiosmtplib.send(
                self._message(email),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = [refused.code for refused in err.recipients]
            text = "; ".join(f"{refused.code} {refused.message}" for refused in err.recipients)
            if codes and all(_is_permanent_smtp_code(code) for code in codes):
                raise PermanentDeliveryError(f"SMTP server refused the recipient: {text}") from err
            raise TransientDeliveryError(f"SMTP server deferred the recipient: {text}") from err
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as err:
            # A refused recipient or a rejected message gets the same answer on every retry.
            if _is_permanent_smtp_code(err.code):
                raise PermanentDeliveryError(f"SMTP server refused the message: {err.code} {err.message}") from err
            raise TransientDeliveryError(f"SMTP server deferred the message: {err.code} {err.message}") from err
        except (aiosmtplib.SMTPException, OSError) as err:
            # Connection, TLS, authentication or sender problems: operations can fix them, so keep retrying.
            raise TransientDeliveryError(f"SMTP delivery failed: {type(err).__name__}: {err}") from err


class WebhookSender:
    """Posts signed webhooks, only to addresses `core.net` allows, checked again right before each call and
    connected to by the checked address (the name still goes in Host and in TLS, which verifies it)."""

    def __init__(self, timeout_seconds: float, *, loopback: bool = False) -> None:
        self._timeout = timeout_seconds
        self._loopback = loopback

    async def post(self, url: str, secret: str, payload: dict[str, Any], delivery_id: str) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_webhook(secret, timestamp, body),
            # Delivery is at least once: the receiver can drop a repeated id.
            DELIVERY_ID_HEADER: delivery_id,
        }
        try:
            target = await asyncio.to_thread(net.resolve, url, loopback=self._loopback)
        except net.AddressRefused as err:
            if isinstance(err.__cause__, OSError):  # the name did not resolve now (a DNS hiccup): try again later
                raise TransientDeliveryError(f"the webhook address did not resolve: {err}") from err
            raise PermanentDeliveryError(f"the webhook address is not allowed: {err}") from err
        headers["Host"] = target.host_header
        try:
            # No proxy from the environment, no redirects: the call goes to the address just checked, and only there.
            async with httpx.AsyncClient(timeout=self._timeout, trust_env=False, follow_redirects=False) as client:
                response = await client.post(
                    target.ip_url, content=body, headers=headers, extensions={"sni_hostname": target.host}
                )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
            raise PermanentDeliveryError(f"the team's webhook URL is not usable: {err}") from err
        except httpx.HTTPError as err:
            raise TransientDeliveryError(f"webhook request failed: {type(err).__name__}: {err}") from err
        status = response.status_code
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in _RETRYABLE_CLIENT_STATUSES:
            raise PermanentDeliveryError(f"webhook receiver answered {status}: {response.text[:200]}")
        raise TransientDeliveryError(f"webhook receiver answered {status}")


class Delivery:
    """The outside channels a store delivers through; `email` is None when SMTP is disabled."""

    def __init__(self, email: SmtpSender | None, webhook: WebhookSender) -> None:
        self.email = email
        self.webhook = webhook

    @classmethod
    def from_settings(cls, settings: Settings) -> Delivery:
        return cls(
            email=SmtpSender(settings) if settings.smtp_enabled else None,
            webhook=WebhookSender(settings.webhook_timeout_seconds, loopback=settings.webhook_loopback),
        )
