"""The client's feedback page, without an account: `/feedback/<token>` from the link the team gave them.

A short page in the client's language: a rating 1-5, "Do you know whom to contact?" and an optional comment. It
shows no client data. A used, expired, withdrawn or wrong link gets a page that says so and changes nothing;
requests are rate-limited per address and per link. The answer goes to the pathway as its `record_feedback`
update (`api.services.client_feedback`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep, SettingsDep, TemporalClientDep
from api.errors import ConflictError, NotFoundError, TemporalUnavailableError
from api.limits import SlidingWindowLimiter
from api.services import client_feedback
from api.services.client_feedback import LinkState
from core.i18n import gettext
from core.links import FeedbackLinks
from models.actions import RecordFeedback
from web.deps import browser_language
from web.templating import render

router = APIRouter(include_in_schema=False)
COMMENT_MAX = 1000
# A person answers once or twice; anything faster is a script trying tokens or flooding the pathway.
PER_ADDRESS_LIMIT, PER_ADDRESS_WINDOW = 30, 60.0
PER_LINK_LIMIT, PER_LINK_WINDOW = 5, 600.0


@dataclass
class FeedbackLimits:
    """The app's limiters (one set per app, so two apps in one process, as in the tests, do not share)."""

    per_address: SlidingWindowLimiter
    per_link: SlidingWindowLimiter


def _limits(request: Request) -> FeedbackLimits:
    state = request.app.state
    if not hasattr(state, "feedback_limits"):
        state.feedback_limits = FeedbackLimits(
            SlidingWindowLimiter(PER_ADDRESS_LIMIT, PER_ADDRESS_WINDOW),
            SlidingWindowLimiter(PER_LINK_LIMIT, PER_LINK_WINDOW),
        )
    limits: FeedbackLimits = state.feedback_limits
    return limits


STATUS = {LinkState.OPEN: 200, LinkState.USED: 410, LinkState.EXPIRED: 410, LinkState.WITHDRAWN: 410}
# Any length is read (a token too long is simply not valid, and gets that page, not a bare 422).
TokenPath = Annotated[str, Path()]


def _language(request: Request, row_language: str | None) -> str:
    # A wrong link names no client: the browser's language then.
    return row_language or browser_language(request)


def _page(request: Request, language: str, status: int, **context: object) -> Response:
    response = render(request, "client_feedback.html", language, status, **context)
    # The token is in the address: never sent on to another site, never indexed.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _limited(request: Request, language: str, wait: float) -> Response:
    response = _page(request, language, 429, state="limited", values={}, errors={})
    response.headers["Retry-After"] = str(max(1, int(wait + 0.5)))
    return response


def _address_wait(request: Request) -> float | None:
    address = request.client.host if request.client else "unknown"
    return _limits(request).per_address.retry_after(address, time.monotonic())


def _closed_or(request: Request, language: str, state: LinkState) -> Response:
    """The page for the link's state: the form while it is open, else why it cannot be used."""
    return _page(request, language, STATUS.get(state, 404), state=state.value, values={}, errors={})


@router.get("/feedback/{token}")
async def feedback_page(request: Request, token: TokenPath, session: SessionDep, settings: SettingsDep) -> Response:
    if (wait := _address_wait(request)) is not None:
        return _limited(request, _language(request, None), wait)
    resolved = client_feedback.resolve(session, FeedbackLinks.from_settings(settings), token, datetime.now(UTC))
    language = _language(request, resolved.row.language.value if resolved.row else None)
    return _closed_or(request, language, resolved.state)


@router.post("/feedback/{token}")
async def send_feedback(
    request: Request,
    token: TokenPath,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    rating: Annotated[str, Form(max_length=10)] = "",
    knows: Annotated[str, Form(max_length=10)] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    if (wait := _address_wait(request)) is not None:
        return _limited(request, _language(request, None), wait)
    now = datetime.now(UTC)
    resolved = client_feedback.resolve(session, FeedbackLinks.from_settings(settings), token, now)
    language = _language(request, resolved.row.language.value if resolved.row else None)
    if resolved.state is not LinkState.OPEN or resolved.row is None:
        return _closed_or(request, language, resolved.state)
    if (wait := _limits(request).per_link.retry_after(resolved.row.link_id, time.monotonic())) is not None:
        return _limited(request, language, wait)
    values = {"rating": rating, "knows": knows, "comment": comment}
    errors: dict[str, str] = {}
    if rating not in {"1", "2", "3", "4", "5"}:
        errors["rating"] = gettext(language, "Choose a rating from 1 to 5.")
    if knows not in {"yes", "no"}:
        errors["knows"] = gettext(language, "Answer yes or no.")
    if len(comment.strip()) > COMMENT_MAX:
        errors["comment"] = gettext(language, "The comment is too long: at most 1000 characters.")
    if errors:
        return _page(request, language, 422, state="open", values=values, errors=errors)
    try:
        feedback = RecordFeedback(
            rating=int(rating), knows_whom_to_contact=knows == "yes", comment=comment.strip() or None
        )
    except ValidationError:
        errors["comment"] = gettext(language, "The comment could not be taken: shorten it, or leave it out.")
        return _page(request, language, 422, state="open", values=values, errors=errors)
    try:
        first = await client_feedback.submit(client, session, resolved.row, feedback, now)
    except NotFoundError:
        return _closed_or(request, language, LinkState.WITHDRAWN)
    except ConflictError as err:
        if "is closed" in err.detail:
            # The pathway has closed since the link was made: nothing to answer to any more.
            return _closed_or(request, language, LinkState.WITHDRAWN)
        # Refused for now (the pathway's record is catching up): the link stays open; nothing was saved.
        response = _page(request, language, 503, state="unavailable", values=values, errors={})
        response.headers["Retry-After"] = "60"
        return response
    except TemporalUnavailableError:
        response = _page(request, language, 503, state="unavailable", values=values, errors={})
        response.headers["Retry-After"] = "30"
        return response
    if not first:  # the same answer sent twice at once: taken once; this one says the link is used
        return _closed_or(request, language, LinkState.USED)
    return _page(request, language, 200, state="thanks", values={}, errors={})
