"""Security headers on every response: what a browser may load, frame and send along (OWASP secure headers).

Pages load nothing from elsewhere and run no script: their policy allows the service's own styles and images,
forms posted to the service (and the identity provider's sign-out page, which a form's redirect reaches), and
no framing at all. The interactive API docs (/docs, /redoc) run the installed Swagger UI and ReDoc scripts, so
they get a policy of their own. Over https, browsers are told to use https only (HSTS).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlparse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The inline <style> of the sign-in pages (api/routes/auth.py) is allowed by its hash, not by 'unsafe-inline'.
SIGN_IN_PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
    ".warning{background:#fff4ce;border:2px solid #8a6d00;padding:.75rem}ul.staff{list-style:none;padding:0}"
    "ul.staff li{margin:.5rem 0}button{font:inherit;padding:.5rem 1rem;cursor:pointer}"
    "button:focus-visible,a:focus-visible{outline:3px solid #0b5cad;outline-offset:2px}"
)
_STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(SIGN_IN_PAGE_STYLE.encode()).digest()).decode() + "'"

# style-src-attr: the plan's time line positions its bars with style="left: ..%" computed by the server from
# dates (never from text anyone typed); no other inline style or script runs.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self' " + _STYLE_HASH + "; style-src-attr 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'{sign_out}; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def page_policy(identity_provider: str) -> str:
    """The pages' policy; a sign-out form's redirect goes on to the identity provider's own page."""
    provider = urlparse(identity_provider)
    origin = f" {provider.scheme}://{provider.netloc}" if provider.scheme and provider.netloc else ""
    return PAGE_POLICY.format(sign_out=origin)


class SecurityHeaders:
    """Adds the headers to every HTTP response; a header a route set itself (the partner page's stricter
    Referrer-Policy) is left as it is."""

    def __init__(self, app: ASGIApp, *, public_url: str, identity_provider: str = "") -> None:
        self.app = app
        self._page_policy = page_policy(identity_provider).encode()
        self._common: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
        if urlparse(public_url).scheme == "https":
            self._common.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY.encode() if scope["path"] in DOCS_PATHS else self._page_policy

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self._common if name not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
