"""Where a request's time went: a `Server-Timing` header with the database, Temporal and the API's own share.

On when `PATHWAYS_SERVER_TIMING=true` (the benchmarks turn it on; a browser's developer tools and load
balancers show the header). The database share is the time SQL statements ran (the engine's cursor
events), Temporal's the time the client's calls took (a client interceptor); `app` is the rest: the API's
own work (authentication, validation, JSON, audit bookkeeping, thread hops).

A request's `RequestTiming` lives in a context variable set before the route runs; `asyncio.to_thread`
copies the context into the database thread, and the copy holds the same object, so the threads' time
adds up in it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import client as temporal

HEADER = b"server-timing"


@dataclass
class RequestTiming:
    database: float = 0.0
    temporal: float = 0.0

    def header(self, total: float) -> bytes:
        own = max(0.0, total - self.database - self.temporal)
        parts = (("db", self.database), ("temporal", self.temporal), ("app", own), ("total", total))
        return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in parts).encode()


_current: ContextVar[RequestTiming | None] = ContextVar("request_timing", default=None)


@contextmanager
def _counting(attribute: str) -> Iterator[None]:
    timing = _current.get()
    began = time.perf_counter()
    try:
        yield
    finally:
        if timing is not None:
            setattr(timing, attribute, getattr(timing, attribute) + time.perf_counter() - began)


class ServerTimingMiddleware:
    """Adds `Server-Timing` to every HTTP response (pure ASGI, so the route runs in this context)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timing = RequestTiming()
        token = _current.set(timing)
        began = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER, timing.header(time.perf_counter() - began)))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _current.reset(token)


# Set by a timed engine's `commit` event (after the session's flush, just before the DBAPI commit) and read by
# the one session-wide `after_commit` listener below, in the same thread and context.
_commit_started: ContextVar[float | None] = ContextVar("commit_started", default=None)


def _count_database(since: float) -> None:
    timing = _current.get()
    if timing is not None:
        timing.database += time.perf_counter() - since


@event.listens_for(Session, "after_commit")
def _committed(_session: Session) -> None:
    since = _commit_started.get()
    if since is not None:
        _commit_started.set(None)
        _count_database(since)


def time_database(engine: Engine) -> None:
    """Count the engine's statement and commit time towards the current request.

    A commit is the database's work too (with SQLite the WAL write and its sync): without it an audited read's
    commit counted as the API's own time."""
    started: ContextVar[float] = ContextVar(f"statement_started_{id(engine)}", default=0.0)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        started.set(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_args: Any) -> None:
        _count_database(started.get())

    @event.listens_for(engine, "commit")
    def _committing(*_args: Any) -> None:
        _commit_started.set(time.perf_counter())


class TemporalTimingInterceptor(temporal.Interceptor):
    """Counts the Temporal client's calls towards the current request."""

    def intercept_client(self, next: temporal.OutboundInterceptor) -> temporal.OutboundInterceptor:
        return _TimedOutbound(next)


class _TimedOutbound(temporal.OutboundInterceptor):
    async def start_workflow(self, input: temporal.StartWorkflowInput) -> temporal.WorkflowHandle[Any, Any]:
        with _counting("temporal"):
            return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: temporal.StartWorkflowUpdateInput
    ) -> temporal.WorkflowUpdateHandle[Any]:
        with _counting("temporal"):
            return await super().start_workflow_update(input)

    async def query_workflow(self, input: temporal.QueryWorkflowInput) -> Any:
        with _counting("temporal"):
            return await super().query_workflow(input)

    async def describe_workflow(self, input: temporal.DescribeWorkflowInput) -> temporal.WorkflowExecutionDescription:
        with _counting("temporal"):
            return await super().describe_workflow(input)
