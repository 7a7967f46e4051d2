"""The benchmark's HTTP side: staff (and the reference's anonymous caller) over real connections."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx

from bench.stack import Deployment

NOTE = (
    "Phoned the client about the work trial at the garden centre: two days a week so far, mornings suit "
    "better than afternoons, the supervisor is pleased. Next step is to agree on a third day with the "
    "employment services coach; the client wants to wait until the physiotherapy series ends in a month."
)


def http(base_url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # Staff read their own cases: every read names its purpose (the API refuses one without).
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=300.0, params={"purpose": "client_work"})


def auth(deployment: Deployment, staff_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {deployment.tokens[staff_id]}"}


# Requests answered 503 and sent again, by path kind: the report says how many, since a user met each one.
RETRIED: Counter[str] = Counter()
RETRIES = 5


def request_kind(method: str, path: str) -> str:
    """How the report groups requests: the method and the first path segment (`POST pathways`)."""
    return f"{method} {path.split('/')[1]}"


def is_reference_kind(kind: str) -> bool:
    """Whether a request kind is the reference's (its bare endpoints live under /raw)."""
    return kind.endswith(" raw")


async def send_as_staff(send: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> httpx.Response:
    """One request as a staff client would send it: a POST carries an Idempotency-Key, and a 503 (the
    worker did not answer in time, or Temporal could not be reached) is sent again with the same key after
    the Retry-After the API named, as the web app does. The caller's latency includes the retries."""
    headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[call-overload]
    if method == "POST":
        headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
    for attempt in range(RETRIES + 1):
        try:
            response = await send.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:
            # A dropped connection: a client sends the request again with the same key.
            if attempt == RETRIES:
                raise
            RETRIED[f"{request_kind(method, url)} (connection)"] += 1
            await asyncio.sleep(1.0)
            continue
        if response.status_code != 503 or attempt == RETRIES:
            return response
        RETRIED[request_kind(method, url)] += 1
        await asyncio.sleep(min(2.0, float(response.headers.get("retry-after", "1") or 1)))
    return response


# Requests that still failed with a server error after the retries, by path kind:
# counted (the report has a row for them) rather than ending a run of tens of thousands of requests.
FAILED: Counter[str] = Counter()
# The first few answers of each kind, so a kind that failed rarely is not hidden by one that failed often.
FIRST_FAILURES: list[str] = []
FIRST_FAILURES_PER_KIND = 3


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code >= 500 and status < 500:
        request = response.request
        kind = request_kind(request.method, request.url.path)
        FAILED[kind] += 1
        if FAILED[kind] <= FIRST_FAILURES_PER_KIND:
            FIRST_FAILURES.append(f"{request.method} {request.url.path}: {response.status_code} {response.text[:300]}")
        return response
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:500]}"
        )
    return response


@dataclass(frozen=True)
class Timed:
    """One request's latency as the caller saw it, and the API's own share from its Server-Timing header."""

    milliseconds: float
    own_milliseconds: float | None


def server_timing(response: httpx.Response) -> dict[str, float]:
    timings: dict[str, float] = {}
    for part in response.headers.get("server-timing", "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name and rest:
            timings[name] = float(rest)
    return timings


async def timed(send: httpx.AsyncClient, method: str, url: str, status: int, **kwargs: object) -> Timed:
    began = time.perf_counter()
    response = await send_as_staff(send, method, url, **kwargs)
    elapsed = (time.perf_counter() - began) * 1000
    expect(response, status)
    return Timed(elapsed, server_timing(response).get("app"))
