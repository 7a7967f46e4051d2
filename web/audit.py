"""Log monitoring as a page, for the data protection officer: the patterns worth a look first, then the log
across teams with its filters, and the same lines as CSV. The same service as `GET /audit`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from api.access import audited
from api.deps import SessionDep
from api.errors import ForbiddenError, InvalidInputError
from api.routes.audit import MONITORING, ActionFilter, OutcomeFilter, PathwayIdFilter, StaffIdFilter
from api.services import audit_monitoring
from api.services.audit import AuditOutcome
from api.services.audit_monitoring import LOCAL_TIME, AuditFilter
from web.deps import Page, PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
DateText = Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]


async def get_officer_page(page: PageDep) -> Page:
    if not page.staff.is_data_protection_officer:
        raise ForbiddenError("only the data protection officer reads the audit log across teams")
    return page


OfficerPage = Annotated[Page, Depends(get_officer_page)]


def _day(value: str | None, field: str) -> datetime | None:
    """A day of the form (yyyy-mm-dd) as the moment it starts in Finland."""
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(0), LOCAL_TIME)
    except ValueError:
        raise InvalidInputError(f"{value!r} is not a date (yyyy-mm-dd)", field=field) from None


def _filter(
    staff_id: StaffIdFilter = None,
    pathway_id: PathwayIdFilter = None,
    action: ActionFilter = None,
    outcome: OutcomeFilter = None,
    period_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    period_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> AuditFilter:
    since = _day(period_from, "from")
    last_day = _day(period_to, "to")
    until = last_day + timedelta(days=1) if last_day is not None else None
    if since is not None and until is not None and until <= since:
        raise InvalidInputError("the period ends before it starts", field="to")
    return AuditFilter(
        staff_id=staff_id,
        pathway_id=pathway_id,
        action=action,
        outcome=outcome.value if outcome else None,
        since=since,
        until=until,
    )


FilterDep = Annotated[AuditFilter, Depends(_filter)]


@router.get("/audit")
async def audit_page(
    request: Request,
    page: OfficerPage,
    session: SessionDep,
    where: FilterDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    end = where.until or datetime.now(UTC)
    start = where.since or end - timedelta(days=30)
    async with audited(session, page.staff, MONITORING):
        # The patterns head the first page only: the older pages are for reading on.
        signals = (
            await asyncio.to_thread(audit_monitoring.signals, session, since=start, until=end) if not offset else []
        )
        total, lines = await asyncio.to_thread(audit_monitoring.entries, session, where, limit=PAGE_SIZE, offset=offset)
    filters = [(name, value) for name, value in request.query_params.multi_items() if name != "offset" and value]
    return render(
        request,
        "audit.html",
        page.language,
        page=page,
        signals=signals,
        signal_period=(start, end),
        total=total,
        lines=lines,
        offset=offset,
        page_size=PAGE_SIZE,
        filters=dict(filters),
        query=urlencode(filters),
        outcomes=[outcome.value for outcome in AuditOutcome],
        nav="audit",
    )


@router.get("/audit/export.csv")
async def audit_csv(page: OfficerPage, session: SessionDep, where: FilterDep) -> Response:
    async with audited(session, page.staff, f"{MONITORING}_csv"):
        pass
    return StreamingResponse(
        iterate_in_threadpool(audit_monitoring.csv_lines(session, where)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"},
    )
