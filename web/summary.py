"""The client's plan summary as staff print it or send it: an accessible page in the client's language, and
the same as a PDF (`client.summary`). Each is a read of the pathway, audited with its purpose; giving it to the
client is recorded on the pathway by the `give_summary` action (its form is on the pathway page)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.access import PathwayGrant, pathway_access
from api.deps import SealerDep, TemporalClientDep
from api.services.plan_summary import summary_of
from client.summary import service_period, summary_pdf, texts
from models.pathway import ServiceKind
from web.deps import get_web_staff
from web.labels import code_label
from web.templating import render

router = APIRouter(include_in_schema=False)
SummaryGrant = Annotated[
    PathwayGrant, pathway_access("read_plan_summary", signed_in=get_web_staff, read=True, infer_purpose=True)
]


@router.get("/pathways/{pathway_id}/summary")
async def summary_page(request: Request, grant: SummaryGrant, client: TemporalClientDep, sealer: SealerDep) -> Response:
    summary = await summary_of(client=client, sealer=sealer, grant=grant)
    language = summary.language.value
    return render(
        request,
        "client_summary.html",
        language,
        summary=summary,
        words=texts(language),
        period=lambda service: service_period(service, language),
        pathway_id=grant.pathway_id,
    )


@router.get("/pathways/{pathway_id}/summary.pdf")
async def summary_pdf_file(grant: SummaryGrant, client: TemporalClientDep, sealer: SealerDep) -> Response:
    summary = await summary_of(client=client, sealer=sealer, grant=grant)
    language = summary.language.value
    kinds = {kind.value: code_label(kind, language) for kind in ServiceKind}
    pdf = await asyncio.to_thread(summary_pdf, summary, kinds)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="plan-{grant.pathway_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )
