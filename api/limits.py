"""A limit on request body size, answered with a clear 413 before any route or validation runs.

The largest legitimate body (a plan of 30 services with notes) is some 150 KiB; anything far beyond that
is a mistake or an attempt to exhaust memory. The codec server has its own, larger limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024


class BodySizeLimitMiddleware:
    """Answer 413 to a body over `max_bytes`, whether announced by Content-Length or streamed in chunks.

    Paths under `exempt_prefixes` pass through untouched (they enforce their own limit).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await _answer(send, 400, "the Content-Length header is not a number")
                return
            if too_large:
                await _answer(send, 413, self._too_large())
                return
        # Without a trustworthy length (chunked), read the body here, bounded, and replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _answer(send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes} bytes"


async def _answer(send: Send, status: int, detail: str) -> None:
    content = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": content})


class SlidingWindowLimiter:
    """At most `limit` hits per `window` seconds for each key (a client's address, a link), counted in this
    process: a second API process counts its own, so the limit is per process (docs/operations.md)."""

    MAX_KEYS = 50_000

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, list[float]] = {}

    def retry_after(self, key: str, now: float) -> float | None:
        """None if the hit is allowed (and counted), else the seconds until it would be."""
        # Each hit moves its key to the end, so the dict is ordered by last use: under a flood of new keys the
        # least recently used one goes (memory stays bounded), never an active one.
        recent = [moment for moment in self._hits.pop(key, []) if now - moment < self.window]
        if len(recent) >= self.limit:
            self._hits[key] = recent
            return self.window - (now - recent[0])
        recent.append(now)
        if len(self._hits) >= self.MAX_KEYS:
            self._hits.pop(next(iter(self._hits)))
        self._hits[key] = recent
        return None
