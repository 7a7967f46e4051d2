"""Mounting the web app on the API process: its pages under /app, its own assets, HTML error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.errors import ApiError, ConflictError, ForbiddenError, NotAuthenticatedError, NotFoundError
from web import routes
from web.deps import SignInRequired, language_of
from web.templating import render, t

PREFIX = "/app"
STATIC = Path(__file__).resolve().parent / "static"


def is_page(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def error_page(request: Request, err: ApiError) -> Response:
    """A page's error as a page (the JSON API keeps its JSON): sign in, not yours, not found, not now."""
    if isinstance(err, SignInRequired | NotAuthenticatedError):
        back = err.return_to if isinstance(err, SignInRequired) else PREFIX + "/"
        return RedirectResponse(f"/auth/login?return_to={back}", status_code=303)
    language = language_of(request, None)
    status, title = 500, t(language, "Something went wrong")
    if isinstance(err, ForbiddenError):
        status, title = 403, t(language, "Not available to you")
    elif isinstance(err, NotFoundError):
        status, title = 404, t(language, "Not found")
    elif isinstance(err, ConflictError):
        status, title = 409, t(language, "Not possible now")
    return render(request, "error.html", language, status, title=title, detail=err.detail)


def mount_web(app: FastAPI) -> None:
    app.include_router(routes.router, prefix=PREFIX)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=303)
