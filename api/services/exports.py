"""What leaves the product as a document: the FHIR export of a pathway and the outcome report.

The transforms are pure (`interop.fhir`, `reports`); this module reads what they need from the record,
for a caller the access path has let in.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from temporalio.client import Client

from api.access import PathwayGrant, TeamGrant
from api.errors import InvalidInputError
from api.services import pathways
from core.crypto import RecordSealer
from core.settings import Settings
from interop.fhir import FhirExportInput, FhirSystems, StageChange, pathway_bundle_json
from models.events import EventKind, FollowUpRecorded
from models.pathway import ClosureReason, DeadlineKind, Stage
from models.record import FollowUpRecord
from models.tables import Partner, Staff
from records import store
from records.store import aware
from reports.chart import Labeler, render_pdf, render_png
from reports.outcomes import OutcomeReport, outcome_report, report_csv

# The media type names the FHIR version (R4B), so a receiver need not guess.
FHIR_JSON = "application/fhir+json; fhirVersion=4.3"
# Every event of a pathway is read for its export; beyond this many, page by page.
_EVENT_PAGE = 2000


async def fhir_export(
    *, client: Client, sealer: RecordSealer, grant: PathwayGrant, settings: Settings
) -> dict[str, Any]:
    """The pathway as a FHIR R4B transaction Bundle, under the deployment's identifier systems."""
    view = await pathways.read(client=client, sealer=sealer, grant=grant)
    rows = await asyncio.to_thread(_all_event_rows, grant)
    changes: list[StageChange] = []
    contacts: list[FollowUpRecord] = []
    plan_first_set_at = None
    for row in rows:
        closure = row.details.get("closure_reason") if row.kind == EventKind.CLOSED else None
        changes.append(
            StageChange(
                at=aware(row.at), stage=Stage(row.stage), closure_reason=ClosureReason(closure) if closure else None
            )
        )
        if row.kind == EventKind.PLAN_SET and plan_first_set_at is None:
            plan_first_set_at = aware(row.at)
        if row.kind == EventKind.FOLLOW_UP_RECORDED:
            event = store.event_of_row(sealer, row)
            assert isinstance(event, FollowUpRecorded)
            contacts.append(
                FollowUpRecord(
                    sequence=row.sequence,
                    contacted_at=event.contacted_at,
                    channel=event.channel,
                    note="",
                    recorded_by=row.actor,
                )
            )
    # What the live process has decided but the database has not got yet is in the view's latest items.
    recorded = rows[-1].sequence if rows else 0
    contacts += [item for item in view.follow_ups if item.sequence > recorded]
    partner_names = await asyncio.to_thread(_partner_names, grant)
    named = {row.actor for row in rows} | {period.staff_id for period in view.case_manager_history}
    staff_names = await asyncio.to_thread(_staff_names, grant, named)
    return pathway_bundle_json(
        FhirExportInput(
            record=view,
            stage_changes=changes,
            follow_ups=contacts,
            plan_first_set_at=plan_first_set_at,
            follow_up_overdue=DeadlineKind.FOLLOW_UP_OVERDUE in view.overdue_deadlines,
            partner_names=partner_names,
            exported_at=datetime.now(UTC),
            systems=FhirSystems(
                base=settings.fhir_identifier_base,
                organisation_name=settings.fhir_organisation_name,
                organisation_identifier=settings.fhir_organisation_identifier,
            ),
            staff_names=staff_names,
        )
    )


def _staff_names(grant: PathwayGrant, staff_ids: set[str]) -> dict[str, str]:
    """Display names of the staff the export can name (whoever acted on the pathway, its case managers)."""
    rows = grant.session.exec(
        select(Staff.staff_id, Staff.display_name).where(col(Staff.staff_id).in_(sorted(staff_ids)))
    )
    return {staff_id: name for staff_id, name in rows}


def _partner_names(grant: PathwayGrant) -> dict[str, str]:
    return {
        partner.partner_id: partner.name
        for partner in grant.session.exec(select(Partner).where(col(Partner.team_id) == grant.pathway.team))
    }


def _all_event_rows(grant: PathwayGrant) -> list[Any]:
    rows: list[Any] = []
    after = 0
    while True:
        page = store.event_rows(grant.session, grant.pathway_id, after=after, limit=_EVENT_PAGE)
        rows += page
        if len(page) < _EVENT_PAGE:
            return rows
        after = page[-1].sequence


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    PNG = "png"
    PDF = "pdf"


MEDIA_TYPES = {
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.PNG: "image/png",
    ReportFormat.PDF: "application/pdf",
}


def as_utc(moment: datetime | None) -> datetime | None:
    """A query-string time without a zone is read as UTC, the zone everything is stored in."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def outcomes(
    *, grant: TeamGrant, team: str | None, period_from: datetime | None, period_to: datetime | None
) -> OutcomeReport:
    """The outcome report of one of the caller's teams, or all of them (aggregates only)."""
    period_from, period_to = as_utc(period_from), as_utc(period_to)
    if period_from is not None and period_to is not None and period_from >= period_to:
        raise InvalidInputError("'from' must be before 'to'", field="from")
    rows = await asyncio.to_thread(store.cohort_events, grant.session, grant.teams, period_from)
    return outcome_report(rows, team=team, period_from=period_from, period_to=period_to, as_of=datetime.now(UTC))


def render(
    report: OutcomeReport, report_format: ReportFormat, language: str = "en", code: Labeler = None
) -> tuple[bytes, str]:
    """The report body in the asked format, and its media type: a CSV in the language's spreadsheet style,
    charts in the language (`code` words the codes: the web app passes its labels)."""
    if report_format is ReportFormat.CSV:
        body = report_csv(report, language=language).encode()
    elif report_format is ReportFormat.PNG:
        body = render_png(report, language, code)
    elif report_format is ReportFormat.PDF:
        body = render_pdf(report, language, code)
    else:
        body = report.model_dump_json().encode()
    return body, MEDIA_TYPES[report_format]
