"""What the outcome-report route does, kept out of the route: who may see which team, and the formats."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Session, select

from models.tables import AuditLogEntry, StaffRole, StaffTeam
from reports.outcomes import OutcomeReport, load_events, outcome_report, report_csv, report_png


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    PNG = "png"


MEDIA_TYPES = {ReportFormat.JSON: "application/json", ReportFormat.CSV: "text/csv", ReportFormat.PNG: "image/png"}


class ReportRequestError(ValueError):
    """The request cannot be answered as asked; the message says why (HTTP 422)."""


class ReportForbidden(PermissionError):
    """The staff member may not see this report (HTTP 403)."""


def staff_teams(session: Session, staff_id: str) -> set[str]:
    return set(session.exec(select(StaffTeam.team_id).where(StaffTeam.staff_id == staff_id)).all())


def as_utc(moment: datetime | None) -> datetime | None:
    """A query-string time without a zone is read as UTC, the zone everything is stored in."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def coordinator_outcome_report(
    session: Session,
    *,
    staff_id: str,
    role: StaffRole,
    team: str | None,
    period_from: datetime | None,
    period_to: datetime | None,
) -> OutcomeReport:
    """The report for a coordinator: one of their teams, or all of them when no team is given; audited."""
    if role is not StaffRole.COORDINATOR:
        raise ReportForbidden("outcome reports are for coordinators")
    teams: Collection[str] = staff_teams(session, staff_id)
    if team is not None and team not in teams:
        raise ReportForbidden(f"you are not a coordinator of team {team}")
    if not teams:
        raise ReportForbidden("you coordinate no team")
    period_from, period_to = as_utc(period_from), as_utc(period_to)
    if period_from is not None and period_to is not None and period_from >= period_to:
        raise ReportRequestError("'from' must be before 'to'")
    rows = load_events(session, team or teams, period_from, period_to)
    # Aggregates only, but they are computed from client pathways: the read is logged like any other.
    session.add(
        AuditLogEntry(
            staff_id=staff_id,
            action="report.outcomes",
            purpose=f"team={team or ','.join(sorted(teams))} from={period_from} to={period_to}",
        )
    )
    session.commit()
    return outcome_report(rows, team=team, period_from=period_from, period_to=period_to)


def render(report: OutcomeReport, report_format: ReportFormat) -> tuple[bytes, str]:
    """The report body in the asked format, and its media type."""
    if report_format is ReportFormat.CSV:
        body = report_csv(report).encode()
    elif report_format is ReportFormat.PNG:
        body = report_png(report)
    else:
        body = report.model_dump_json().encode()
    return body, MEDIA_TYPES[report_format]
