"""The client's own copy and voice as staff handle them: the plan summary as an accessible page in the client's
language and as a PDF (`client.summary`), each a read of the pathway audited with its purpose (giving it is
the `give_summary` action, its form on the pathway page); and the client's feedback links, made and withdrawn
here (`api.services.client_feedback`), their QR code on the summary."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from api.access import PathwayGrant, pathway_access
from api.deps import SealerDep, SettingsDep, TemporalClientDep
from api.errors import InvalidInputError
from api.services import client_feedback
from api.services.client_feedback import LinkState
from api.services.plan_summary import summary_of
from client.qr import qr_svg
from client.summary import service_period, summary_pdf, texts
from core.i18n import gettext
from core.links import FeedbackLinks
from core.settings import Settings
from models.pathway import Language, ServiceKind
from records.store import open_record
from web.deps import FormToken, get_web_staff
from web.labels import code_label
from web.templating import render

router = APIRouter(include_in_schema=False)
SummaryGrant = Annotated[
    PathwayGrant, pathway_access("read_plan_summary", signed_in=get_web_staff, read=True, infer_purpose=True)
]
MAX_LINKS_SHOWN = 10


@dataclass(frozen=True)
class ShownLink:
    link_id: str
    state: LinkState
    url: str | None  # while it is open
    qr: str | None
    created_at: datetime
    expires_at: datetime
    created_by: str


def feedback_links_of(session: Session, pathway_id: str, settings: Settings, language: str) -> list[ShownLink]:
    """The pathway's feedback links as the pathway page shows them, newest first; an open one with its QR."""
    links, now = FeedbackLinks.from_settings(settings), datetime.now(UTC)
    shown = []
    for row in reversed(client_feedback.list_links(session, pathway_id)):
        state = client_feedback.state_of(row, now)
        url = client_feedback.url_of(links, row) if state is LinkState.OPEN else None
        qr = qr_svg(url, gettext(language, "QR code of the feedback link")) if url else None
        shown.append(ShownLink(row.link_id, state, url, qr, row.created_at, row.expires_at, row.created_by))
    return shown[:MAX_LINKS_SHOWN]


@router.get("/pathways/{pathway_id}/summary")
async def summary_page(
    request: Request, grant: SummaryGrant, client: TemporalClientDep, sealer: SealerDep, settings: SettingsDep
) -> Response:
    summary = await summary_of(client=client, sealer=sealer, grant=grant)
    language = summary.language.value
    shown = await asyncio.to_thread(feedback_links_of, grant.session, grant.pathway_id, settings, language)
    # The newest open link goes on the client's copy (with its QR code, so a phone can open it from paper).
    feedback_url = next((link.url for link in shown if link.url), None)
    return render(
        request,
        "client_summary.html",
        language,
        summary=summary,
        words=texts(language),
        period=lambda service: service_period(service, language),
        pathway_id=grant.pathway_id,
        feedback_url=feedback_url,
        feedback_qr=qr_svg(feedback_url, gettext(language, "QR code of your feedback link")) if feedback_url else None,
    )


@router.get("/pathways/{pathway_id}/summary.pdf")
async def summary_pdf_file(
    grant: SummaryGrant, client: TemporalClientDep, sealer: SealerDep, settings: SettingsDep
) -> Response:
    summary = await summary_of(client=client, sealer=sealer, grant=grant)
    language = summary.language.value
    kinds = {kind.value: code_label(kind, language) for kind in ServiceKind}
    shown = await asyncio.to_thread(feedback_links_of, grant.session, grant.pathway_id, settings, language)
    feedback_url = next((link.url for link in shown if link.url), None)
    pdf = await asyncio.to_thread(summary_pdf, summary, kinds, feedback_url)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            # No client reference in the file's name: it is saved and mailed as it is.
            "Content-Disposition": 'inline; filename="plan-summary.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/pathways/{pathway_id}/feedback-links", dependencies=[FormToken])
async def make_feedback_link(
    grant: Annotated[PathwayGrant, pathway_access("create_feedback_link", signed_in=get_web_staff)],
    sealer: SealerDep,
    settings: SettingsDep,
    valid_days: Annotated[str, Form()] = "14",
) -> Response:
    days = int(valid_days) if valid_days.strip().isdigit() else 0
    if not 1 <= days <= 60:
        raise InvalidInputError(
            f"valid_days: a whole number of days from 1 to 60, not {valid_days[:20]!r}", field="valid_days"
        )
    record = await asyncio.to_thread(open_record, sealer, grant.pathway)
    language = record.referral.client_language if record else Language.FI
    await asyncio.to_thread(
        client_feedback.create_link,
        grant.session,
        FeedbackLinks.from_settings(settings),
        pathway=grant.pathway,
        language=language,
        created_by=grant.staff.staff_id,
        valid_for=timedelta(days=days),
        now=datetime.now(UTC),
    )
    return RedirectResponse(f"/app/pathways/{grant.pathway_id}?done=feedback_link#feedback-links", status_code=303)


@router.post("/pathways/{pathway_id}/feedback-links/{link_id}/withdraw", dependencies=[FormToken])
async def withdraw_feedback_link(
    grant: Annotated[PathwayGrant, pathway_access("withdraw_feedback_link", signed_in=get_web_staff)],
    link_id: Annotated[str, Path(pattern=r"^[a-f0-9]{16}$")],
) -> Response:
    await asyncio.to_thread(
        client_feedback.withdraw_link,
        grant.session,
        pathway_id=grant.pathway_id,
        link_id=link_id,
        by=grant.staff.staff_id,
        now=datetime.now(UTC),
    )
    return RedirectResponse(f"/app/pathways/{grant.pathway_id}?done=feedback_link#feedback-links", status_code=303)
