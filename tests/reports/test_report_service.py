"""Who may see which outcome report, bad periods, the audit trail and the response formats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from models.tables import StaffRole
from reports.outcomes import OutcomeReport
from reports.service import (
    ReportForbidden,
    ReportFormat,
    ReportRequestError,
    coordinator_outcome_report,
    render,
)

from .dataset import generate
from .staff import EURA, EURA_COORDINATOR, EURA_NURSE, PORI, PORI_COORDINATOR, audit_entries, staff_database
from .test_outcome_report import PERIOD_FROM, PERIOD_TO, SEED, records_copy


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = staff_database(tmp_path / "pathways.db")
    rows, _ = generate(SEED, 120)
    with Session(engine) as session:
        session.add_all(records_copy(rows))
        session.commit()
    yield engine
    engine.dispose()


def _report(engine: Engine, staff_id: str, role: StaffRole, team: str | None, **period: datetime) -> OutcomeReport:
    with Session(engine) as session:
        return coordinator_outcome_report(
            session,
            staff_id=staff_id,
            role=role,
            team=team,
            period_from=period.get("period_from"),
            period_to=period.get("period_to"),
        )


def test_a_coordinator_gets_their_teams_report_and_the_read_is_audited(engine: Engine) -> None:
    report = _report(engine, EURA_COORDINATOR, StaffRole.COORDINATOR, EURA, period_from=PERIOD_FROM)
    assert report.team == EURA and report.pathways > 0
    [entry] = audit_entries(engine)
    assert (entry.staff_id, entry.action, entry.pathway_id) == (EURA_COORDINATOR, "report.outcomes", None)
    assert f"team={EURA}" in (entry.purpose or "")


def test_without_a_team_the_report_covers_only_the_coordinators_own_teams(engine: Engine) -> None:
    own = _report(engine, PORI_COORDINATOR, StaffRole.COORDINATOR, None)
    explicit = _report(engine, PORI_COORDINATOR, StaffRole.COORDINATOR, PORI)
    assert own.model_dump(exclude={"team"}) == explicit.model_dump(exclude={"team"})


@pytest.mark.parametrize(
    ("staff_id", "role", "team", "reason"),
    [
        (EURA_NURSE, StaffRole.PROFESSIONAL, EURA, "outcome reports are for coordinators"),
        (PORI_COORDINATOR, StaffRole.COORDINATOR, EURA, f"you are not a coordinator of team {EURA}"),
        ("admin.root", StaffRole.ADMIN, None, "outcome reports are for coordinators"),
    ],
)
def test_others_are_refused_with_the_reason_and_nothing_is_logged_as_read(
    engine: Engine, staff_id: str, role: StaffRole, team: str | None, reason: str
) -> None:
    with pytest.raises(ReportForbidden, match=reason):
        _report(engine, staff_id, role, team)
    assert audit_entries(engine) == []


def test_a_period_that_ends_before_it_starts_is_rejected_and_changes_nothing(engine: Engine) -> None:
    with pytest.raises(ReportRequestError, match="'from' must be before 'to'"):
        _report(engine, EURA_COORDINATOR, StaffRole.COORDINATOR, EURA, period_from=PERIOD_TO, period_to=PERIOD_FROM)
    assert audit_entries(engine) == []


def test_a_period_without_a_time_zone_is_read_as_utc(engine: Engine) -> None:
    naive = _report(
        engine,
        EURA_COORDINATOR,
        StaffRole.COORDINATOR,
        EURA,
        period_from=PERIOD_FROM.replace(tzinfo=None),
        period_to=(PERIOD_TO + timedelta(0)).replace(tzinfo=None),
    )
    aware = _report(engine, EURA_COORDINATOR, StaffRole.COORDINATOR, EURA, period_from=PERIOD_FROM, period_to=PERIOD_TO)
    assert naive == aware


def test_each_format_renders_with_its_media_type(engine: Engine) -> None:
    report = _report(engine, EURA_COORDINATOR, StaffRole.COORDINATOR, EURA)
    body, media_type = render(report, ReportFormat.JSON)
    assert media_type == "application/json"
    assert OutcomeReport.model_validate_json(body) == report
    body, media_type = render(report, ReportFormat.CSV)
    assert media_type == "text/csv" and body.decode().startswith("section,measure,category,value\n")
    body, media_type = render(report, ReportFormat.PNG)
    assert media_type == "image/png" and body.startswith(b"\x89PNG")
