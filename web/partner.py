"""The page a partner organisation opens from its referral e-mail: the referral, and its answer.

`/partner/referrals/<signed token>`: no staff account and no cookie; the token in the address is the
credential (`core.links`), so the page is never cached and never sends a Referer. It shows what the client
consented to share, in the partner's language, and only while sharing holds; each view and answer is
audited on the pathway under the partner's name. A posted answer carries a one-time key, so a double click
or a reload applies it once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SealerDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import ApiError, ConflictError, NotFoundError
from api.services import partner_referrals
from api.services.audit import AuditOutcome
from core.links import InvalidLink, PartnerLinks
from models.pathway import ReferralAnswer, ReferralStatus
from web.labels import code_label
from web.templating import LANGUAGES, render, t

router = APIRouter(include_in_schema=False)
TokenPath = Annotated[str, "the signed token"]


def _private(response: HTMLResponse) -> HTMLResponse:
    # The token in the address is the key to the page: keep it out of caches and other sites' logs.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _problem(request: Request, language: str, status: int, detail: str) -> HTMLResponse:
    return _private(
        render(
            request,
            "partner_error.html",
            language,
            status,
            title=t(language, "The referral cannot be shown"),
            detail=detail,
        )
    )


def _language(request: Request, fallback: str) -> str:
    chosen = request.query_params.get("lang")
    return chosen if chosen in LANGUAGES else fallback


def _claims(settings: SettingsDep, token: str) -> tuple[str, str]:
    claims = PartnerLinks.from_settings(settings).verify(token)
    return claims.referral_id, claims.partner_id


async def _page(
    request: Request,
    token: str,
    session: SessionDep,
    sealer: SealerDep,
    settings: SettingsDep,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
    audit_read: bool = True,
) -> Response:
    language = _language(request, "fi")
    try:
        referral_id, partner_id = _claims(settings, token)
        view = await asyncio.to_thread(partner_referrals.view_of, session, sealer, referral_id, partner_id)
    except InvalidLink as err:
        return _problem(request, language, 403, t(language, str(err)))
    except NotFoundError:
        return _problem(request, language, 404, t(language, "no such referral for your organisation"))
    language = _language(request, view.partner.language.value)
    if audit_read:
        await asyncio.to_thread(
            partner_referrals.audit_partner,
            session,
            view,
            "read_partner_referral",
            AuditOutcome.OK,
            partner_referrals.READ_PURPOSE,
        )
    return _private(
        render(
            request,
            "partner_referral.html",
            language,
            status,
            view=view,
            token=token,
            answer_key=f"partner-web-{uuid.uuid4().hex}",
            notice=notice,
            error=error,
            answers=[(answer.value, code_label(answer, language)) for answer in view.possible_answers],
        )
    )


@router.get("/partner/referrals/{token}")
async def partner_referral(
    request: Request, token: str, session: SessionDep, sealer: SealerDep, settings: SettingsDep
) -> Response:
    return await _page(request, token, session, sealer, settings)


@router.post("/partner/referrals/{token}")
async def answer_partner_referral(
    request: Request,
    token: str,
    session: SessionDep,
    sealer: SealerDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    answer: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    answer_key: Annotated[str, Form(pattern=r"^partner-web-[0-9a-f]{32}$")] = "",
) -> Response:
    language = _language(request, "fi")
    try:
        referral_id, partner_id = _claims(settings, token)
        view = await asyncio.to_thread(partner_referrals.view_of, session, sealer, referral_id, partner_id)
    except InvalidLink as err:
        return _problem(request, language, 403, t(language, str(err)))
    except NotFoundError:
        return _problem(request, language, 404, t(language, "no such referral for your organisation"))
    language = _language(request, view.partner.language.value)
    problem = None
    if answer not in {a.value for a in ReferralAnswer}:
        problem = t(language, "Choose an answer.")
    elif answer == ReferralAnswer.DECLINED.value and not reason.strip():
        problem = t(language, "a declined referral needs the reason")
    elif not answer_key:
        problem = t(language, "The form is not complete: open the link again.")
    if problem is not None:
        return await _page(request, token, session, sealer, settings, status=422, error=problem, audit_read=False)
    try:
        await partner_referrals.answer(
            client=client,
            session=session,
            view=view,
            answer=ReferralAnswer(answer),
            reason=reason.strip() or None,
            update_id=f"{answer_key}:{referral_id}",
        )
    except ConflictError as err:
        return await _page(request, token, session, sealer, settings, status=409, error=err.detail, audit_read=False)
    except ApiError as err:
        return await _page(request, token, session, sealer, settings, status=503, error=err.detail, audit_read=False)
    await asyncio.to_thread(partner_referrals.wait_until_recorded, session, referral_id, ReferralStatus(answer))
    return await _page(
        request,
        token,
        session,
        sealer,
        settings,
        notice=t(language, "Thank you: your answer was recorded."),
        audit_read=False,
    )
