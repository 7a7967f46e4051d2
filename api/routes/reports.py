"""GET /reports/outcomes: the programme outcome report for coordinators (the transform is `reports`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.access import ReadPurpose, TeamGrant, team_access
from api.deps import IsoDateTime
from api.routes.responses import AUTHENTICATED
from api.services.exports import ReportFormat, outcomes, render
from models.pathway import Language

router = APIRouter(tags=["reports"])


@router.get("/reports/outcomes", response_class=Response, responses=AUTHENTICATED, summary="The outcome report")
async def outcomes_report(
    grant: Annotated[
        TeamGrant, team_access("report_outcomes", coordinator_only=True, purpose_in_context=ReadPurpose.REPORTING)
    ],
    period_from: Annotated[IsoDateTime | None, Query(alias="from", description="Referred at or after.")] = None,
    period_to: Annotated[IsoDateTime | None, Query(alias="to", description="Referred before.")] = None,
    report_format: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.JSON,
    language: Annotated[
        Language,
        Query(alias="lang", description="fi or sv: a CSV Finnish and Swedish Excel opens (; and decimal comma)"),
    ] = Language.EN,
) -> Response:
    """Aggregates over the pathways referred in the period, of one of your teams (`team`) or all of them."""
    report = await outcomes(grant=grant, team=grant.team, period_from=period_from, period_to=period_to)
    body, media_type = await asyncio.to_thread(render, report, report_format, language.value)
    headers = {}
    if report_format in (ReportFormat.CSV, ReportFormat.PDF):
        headers["Content-Disposition"] = f'attachment; filename="outcome-report.{report_format.value}"'
    return Response(content=body, media_type=media_type, headers=headers)
