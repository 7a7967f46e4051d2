"""The product's HTTP application: the staff API with the staff web app beside it, in one process.

`uvicorn web.app:create_app --factory` (what `python -m ops.cli api` runs): the JSON API of `api.app`, the
pages under /app with their own assets, and errors answered as pages on the pages and as JSON elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.client import Client

from api.access import PurposeRequired, ReadPurpose
from api.app import api_error_response, log_unavailable
from api.app import create_app as create_api
from api.errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    UnavailableError,
)
from core.settings import Settings
from web import accessibility, audit, client_feedback, me, partner, register, routes, summary, tokens
from web.deps import ElsewhereForRole, SignInRequired, language_of
from web.templating import render, t

PREFIX = "/app"
# The purposes a member can give for opening a pathway whose context gives none.
PURPOSE_LABELS = {
    ReadPurpose.CLIENT_WORK: "I work with this client",
    ReadPurpose.SUPERVISION: "I supervise the team's work",
    ReadPurpose.TEAM_REVIEW: "The team reviews the case",
    ReadPurpose.HANDOVER: "I take over or hand over the case",
    ReadPurpose.REPORTING: "Reports and statistics",
    ReadPurpose.CLIENT_REQUEST: "The client asked what is recorded about them",
}
STATIC = Path(__file__).resolve().parent / "static"


def is_page(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def error_page(request: Request, err: ApiError) -> Response:
    """A page's error as a page (the JSON API keeps its JSON): sign in, not yours, not found, not now."""
    if isinstance(err, ElsewhereForRole):
        return RedirectResponse(err.location, status_code=303)
    if isinstance(err, SignInRequired | NotAuthenticatedError):
        back = err.return_to if isinstance(err, SignInRequired) else PREFIX + "/"
        return RedirectResponse(f"/auth/login?return_to={back}", status_code=303)
    language = language_of(request, None)
    if isinstance(err, PurposeRequired) and request.method == "GET":
        # The context gives no purpose (a pathway of one's team that is not one's own case): ask for it.
        purposes = [(purpose.value, t(language, PURPOSE_LABELS[purpose])) for purpose in ReadPurpose]
        kept = [(name, value) for name, value in request.query_params.multi_items() if name != "purpose"]
        return render(
            request,
            "purpose.html",
            language,
            200,
            path=request.url.path,
            purposes=purposes,
            keep=kept,
            detail=err.detail,
        )
    status, title = 500, t(language, "Something went wrong")
    if isinstance(err, ForbiddenError):
        status, title = 403, t(language, "Not available to you")
    elif isinstance(err, NotFoundError):
        status, title = 404, t(language, "Not found")
    elif isinstance(err, ConflictError):
        status, title = 409, t(language, "Not possible now")
    elif isinstance(err, InvalidInputError):
        status, title = 422, t(language, "Please check what was entered")
    elif isinstance(err, UnavailableError):
        response = render(
            request, "error.html", language, 503, title=t(language, "Not available right now"), detail=err.detail
        )
        response.headers["Retry-After"] = str(err.retry_after_seconds)
        return response
    return render(request, "error.html", language, status, title=title, detail=err.detail)


class DropEmptyQuery:
    """A filter form sends `team=` for "all teams": on the pages an empty query parameter is no parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(PREFIX) and scope.get("query_string"):
            pairs = [(name, value) for name, value in parse_qsl(scope["query_string"].decode("latin-1")) if value]
            scope = {**scope, "query_string": urlencode(pairs).encode("latin-1")}
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    temporal_client: Client | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    app = create_api(settings, temporal_client=temporal_client, engine=engine)
    app.include_router(routes.router, prefix=PREFIX)
    app.include_router(register.router, prefix=PREFIX)
    app.include_router(tokens.router, prefix=PREFIX)
    app.include_router(me.router, prefix=PREFIX)
    app.include_router(summary.router, prefix=PREFIX)
    app.include_router(audit.router, prefix=PREFIX)
    app.include_router(partner.router)
    app.include_router(client_feedback.router)
    app.include_router(accessibility.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")

    async def errors(request: Request, err: Exception) -> Response:
        assert isinstance(err, ApiError)
        if not is_page(request):
            return await api_error_response(request, err)
        if isinstance(err, UnavailableError):
            log_unavailable(request, err)
        return error_page(request, err)

    app.add_exception_handler(ApiError, errors)
    app.add_middleware(DropEmptyQuery)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    return app
