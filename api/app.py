"""The staff HTTP API (`web.app:create_app` serves it together with the staff web app).

One Temporal client (with the worker's data converter) and one database engine per process, made in
the lifespan unless a test injects its own. Routes are thin; this module maps the services' errors to
HTTP statuses in one place.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy import exc as sqlalchemy_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from api.auth.oidc import IdentityProvider
from api.codec import CodecCORSMiddleware, codec_router
from api.deps import get_codec_reader
from api.errors import (
    ApiError,
    ConflictError,
    DatabaseUnavailableError,
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    UnavailableError,
)
from api.headers import SecurityHeaders
from api.limits import BodySizeLimitMiddleware
from api.openapi_links import add_links
from api.routes import api_router
from api.services.codec_access import PathwayCodecAccess
from api.services.token_cache import TokenCache
from api.timing import ServerTimingMiddleware, TemporalTimingInterceptor, time_database
from core.codec import EncryptionCodec
from core.crypto import RecordSealer
from core.db import build_engine, check_schema_current
from core.process import freeze_startup_heap
from core.settings import Settings, get_settings
from core.temporal import connect, data_converter

API_DESCRIPTION = """Start, act on and read work-ability support pathways.

Sign in with `Authorization: Bearer <token>`: an access token from the organisation's identity provider, or
an API token for scripts and service accounts. Clients appear only by their pseudonymous reference.
Every read and action on a pathway is written to the audit log."""

log = logging.getLogger("pathways.api")


def engine_for(settings: Settings) -> Engine:
    """The database engine of these settings; the default SQLite file's folder is made if missing."""
    if not settings.database_url:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    return build_engine(settings.effective_database_url)


def size_database_threads(threads: int) -> None:
    """`asyncio.to_thread` runs on the loop's default executor, which Python sizes by the cores (cores + 4):
    concurrent requests would queue for a thread while others wait on the database. Sized once per event
    loop (several apps may share one, as in the tests); the loop shuts it down when it closes."""
    loop = asyncio.get_running_loop()
    if loop not in _SIZED_LOOPS:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="api-db"))
        _SIZED_LOOPS.add(loop)


_SIZED_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def prepare_database(engine: Engine) -> None:
    """Refuse to serve on a schema the migrations have not brought up to date (`make migrate`)."""
    check_schema_current(engine)


def _lifespan(
    settings: Settings, temporal_client: Client | None, engine: Engine | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.require_keys("the API")
        own_engine = engine is None
        size_database_threads(settings.api_threads)
        app.state.settings = settings
        app.state.engine = engine or engine_for(settings)
        app.state.token_cache = TokenCache(settings.token_cache_seconds)
        app.state.identity_provider = IdentityProvider(settings) if settings.oidc_enabled else None
        app.state.sealer = RecordSealer.from_settings(settings)
        prepare_database(app.state.engine)
        interceptors = []
        if settings.server_timing:
            time_database(app.state.engine)
            interceptors.append(TemporalTimingInterceptor())
        app.state.temporal_client = temporal_client or await connect(settings, lazy=True, interceptors=interceptors)
        freeze_startup_heap()
        try:
            yield
        finally:
            if own_engine:
                app.state.engine.dispose()
            if app.state.identity_provider is not None:
                await app.state.identity_provider.close()

    return lifespan


def _error_response(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def log_unavailable(request: Request, err: UnavailableError) -> None:
    """Why staff were asked to retry, for the operators: the reason and the error behind it (its type only, as
    a driver's message can quote the statement's values)."""
    cause = type(err.__cause__).__name__ if err.__cause__ is not None else "-"
    log.warning("%s %s answered 503: %s (%s)", request.method, request.url.path, err.detail, cause)


async def api_error_response(request: Request, err: Exception) -> Response:
    """The JSON answer for a service's error (the one place that maps them to HTTP statuses)."""
    assert isinstance(err, ApiError)
    if isinstance(err, NotAuthenticatedError):
        return _error_response(401, err.detail, {"WWW-Authenticate": "Bearer"})
    if isinstance(err, ForbiddenError):
        return _error_response(403, err.detail)
    if isinstance(err, NotFoundError):
        return _error_response(404, err.detail)
    if isinstance(err, ConflictError):
        return _error_response(409, err.detail)
    if isinstance(err, InvalidInputError):
        # The same shape as FastAPI's own validation errors, so clients handle every 422 alike.
        body = {"detail": [{"loc": ["body", err.field], "msg": err.detail, "type": "value_error"}]}
        return JSONResponse(body, status_code=422)
    if isinstance(err, UnavailableError):
        log_unavailable(request, err)
        return _error_response(503, err.detail, {"Retry-After": str(err.retry_after_seconds)})
    return _error_response(500, err.detail)


# What a database that is away raises (connection refused or dropped, the pool waiting in vain, SQLite busy
# past its timeout): the request answers 503 with Retry-After, never 500.
DATABASE_AWAY = (sqlalchemy_exc.OperationalError, sqlalchemy_exc.InterfaceError, sqlalchemy_exc.TimeoutError)


async def _database_away(request: Request, err: Exception) -> Response:
    unavailable = DatabaseUnavailableError()
    unavailable.__cause__ = err  # logged by its type only: a driver's message can quote the statement's values
    handler = request.app.exception_handlers[ApiError]  # the web app answers pages with a page
    response: Response = await handler(request, unavailable)
    return response


async def _validation_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    # Location and reason only: the rejected input is not echoed back, as it may be exactly the client
    # data (e.g. an identity code) that must not travel further or end up in a proxy's logs.
    # A model's own check says "Value error, <reason>": the reason is what staff need.
    errors = [
        {"loc": list(error["loc"]), "msg": str(error["msg"]).removeprefix("Value error, "), "type": error["type"]}
        for error in err.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


# What FastAPI raises (as a 400 no route documents) when a body cannot even be decoded, e.g. not UTF-8.
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, err: Exception) -> Response:
    assert isinstance(err, StarletteHTTPException)
    if err.status_code == 400 and err.detail == _UNPARSABLE_BODY:
        # The same 422 shape as any other malformed body (found by fuzzing with non-UTF-8 bytes).
        body = {"detail": [{"loc": ["body"], "msg": "the body is not JSON text in UTF-8", "type": "json_invalid"}]}
        return JSONResponse(body, status_code=422)
    if err.status_code != 405:
        return await http_exception_handler(request, err)
    # Starlette names only the first matching route's methods; a path served by several routes (GET and
    # POST /pathways) must list them all in Allow (RFC 9110; found by fuzzing). The OpenAPI document is
    # the public list of every path and its methods.
    path = request.url.path
    allowed = sorted(
        method.upper()
        for template, operations in request.app.openapi().get("paths", {}).items()
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path)
        for method in operations
    )
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allowed)})


def _mount_codec_server(app: FastAPI, settings: Settings) -> None:
    """/codec/encode and /codec/decode for the Temporal Web UI, only when payloads are encrypted."""
    codec = data_converter(settings).payload_codec
    if not isinstance(codec, EncryptionCodec):
        return
    access = PathwayCodecAccess(lambda: app.state.engine)
    app.include_router(codec_router(codec, authorize=get_codec_reader, access=access))
    app.add_middleware(CodecCORSMiddleware, origins=settings.codec_cors_origin_list)


def _publish_links(app: FastAPI) -> None:
    """The published document carries the links between answers and the requests they feed (`api.openapi_links`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None,
    *,
    temporal_client: Client | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """The API application; injected client and engine are used as they are (tests, embedding)."""
    settings = settings or get_settings()
    # The interactive docs (/docs, /redoc) from assets installed with the package, never a CDN.
    app = FastAPIOffline(
        title="Work-ability pathways: staff API",
        version=version("workability-pathways"),
        description=API_DESCRIPTION,
        lifespan=_lifespan(settings, temporal_client, engine),
    )
    _mount_codec_server(app, settings)
    # trust: oversized bodies get a clear 413 before validation; the codec server has its own limit.
    app.add_middleware(BodySizeLimitMiddleware, exempt_prefixes=("/codec",))
    app.add_middleware(
        SecurityHeaders, public_url=settings.effective_public_url, identity_provider=settings.oidc_issuer
    )
    app.add_exception_handler(ApiError, api_error_response)
    for away in DATABASE_AWAY:
        app.add_exception_handler(away, _database_away)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(api_router)
    _publish_links(app)
    if settings.server_timing:
        # Outermost, so the header covers everything the request went through.
        app.add_middleware(ServerTimingMiddleware)
    return app
