"""`make run`'s Temporal Web UI, so that it decodes for the signed-in staff member.

The dev server's embedded UI has no switch for sending the browser's credentials to the codec endpoint
(a cluster's UI has `TEMPORAL_CODEC_INCLUDE_CREDENTIALS`, set in deploy/). This proxy stands on the UI's
public port in front of the embedded UI on an internal one and changes one thing: the UI's settings
(`/api/v1/settings`) say to include credentials, so the browser's session cookie from signing in on the
API goes along with every `/codec/decode` (cookies are shared across localhost ports). It also names the
sign-in page in the UI's codec error message, and turns off the UI's news feed (nothing is fetched from
the internet). Every other request and response passes through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

SETTINGS_PATH = "/api/v1/settings"
# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy's own server sets.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def ui_settings(settings: dict[str, object], *, sign_in_url: str) -> dict[str, object]:
    """The UI's settings with credentials sent to the codec endpoint."""
    codec = dict(settings.get("Codec") or {})  # type: ignore[call-overload]
    codec["IncludeCredentials"] = True
    codec.setdefault("PassAccessToken", False)
    codec["DefaultErrorMessage"] = f"Sign in on the API to read the pathways' data: {sign_in_url}"
    codec["DefaultErrorLink"] = sign_in_url
    return {**settings, "Codec": codec, "DisableNewsFetch": True}


def create_app(upstream: str, *, sign_in_url: str) -> Starlette:
    """The proxy for the embedded UI at `upstream` (http://127.0.0.1:<internal port>)."""
    client = httpx.AsyncClient(base_url=upstream, timeout=httpx.Timeout(60.0, connect=5.0))
    upstream_origin = upstream.rstrip("/")

    async def forward(request: Request) -> Response:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _NOT_FORWARDED and name.lower() != "origin"
        ]
        if "origin" in request.headers:
            # The UI server checks that a state-changing request comes from its own origin.
            headers.append(("origin", upstream_origin))
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        try:
            response = await client.send(upstream_request, stream=True)
        except httpx.TransportError as err:
            return Response(f"the Temporal Web UI is not answering yet: {err}", status_code=502)
        passed = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in _NOT_FORWARDED]
        if request.url.path == SETTINGS_PATH and response.status_code == 200:
            body = json.loads(await response.aread())
            await response.aclose()
            settings = Response(
                json.dumps(ui_settings(body, sign_in_url=sign_in_url)), status_code=200, media_type="application/json"
            )
            kept = [(n, v) for n, v in passed if n.lower() not in ("content-encoding", "etag", "content-type")]
            settings.raw_headers.extend(_raw(kept))
            return settings
        streamed = StreamingResponse(
            response.aiter_raw(), status_code=response.status_code, background=BackgroundTask(response.aclose)
        )
        # Raw headers: several Set-Cookie lines (the UI's CSRF cookie among them) must all pass.
        streamed.raw_headers = [
            (name, value) for name, value in streamed.raw_headers if name != b"content-type"
        ] + _raw(passed)
        return streamed

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
