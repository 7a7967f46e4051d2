"""GET /reports/outcomes: the programme outcome report for coordinators (logic in reports/)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError

from api.deps import CurrentStaff, IsoDateTime, SessionDep
from api.routes.responses import AUTHENTICATED
from reports.service import ReportForbidden, ReportFormat, ReportRequestError, coordinator_outcome_report, render

router = APIRouter(tags=["reports"])


@router.get("/reports/outcomes", response_class=Response, responses=AUTHENTICATED)
def outcomes_report(
    session: SessionDep,
    staff: CurrentStaff,
    team: str | None = None,
    period_from: Annotated[IsoDateTime | None, Query(alias="from", description="Referred at or after.")] = None,
    period_to: Annotated[IsoDateTime | None, Query(alias="to", description="Referred before.")] = None,
    report_format: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.JSON,
) -> Response:
    try:
        report = coordinator_outcome_report(
            session, staff_id=staff.staff_id, role=staff.role, team=team, period_from=period_from, period_to=period_to
        )
    except ReportForbidden as err:
        raise HTTPException(403, str(err)) from err
    except ReportRequestError as err:
        # The shape of every other 422, so clients handle them alike (found by fuzzing).
        raise RequestValidationError([{"loc": ("query",), "msg": str(err), "type": "value_error"}]) from err
    body, media_type = render(report, report_format)
    return Response(content=body, media_type=media_type)
