"""Service continuity in the outcome report: days without a service and transitions closed without a gap,
on timelines whose answer is counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.events import EventKind
from models.pathway import Stage
from models.tables import PathwayEventRow
from reports.outcomes import days_without_service, outcome_report, report_rows

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Timeline:
    def __init__(self, pathway_id: str) -> None:
        self.pathway_id = pathway_id
        self.rows: list[PathwayEventRow] = []

    def add(self, day: float, kind: EventKind, stage: Stage, **details: Any) -> Timeline:
        self.rows.append(
            PathwayEventRow(
                pathway_id=self.pathway_id,
                sequence=len(self.rows) + 1,
                team="eura-team",
                at=T0 + timedelta(days=day),
                actor="nurse.virtanen",
                kind=kind.value,
                summary="",
                stage=stage.value,
                details=details,
            )
        )
        return self


def _planned(pathway_id: str) -> Timeline:
    return (
        Timeline(pathway_id)
        .add(0, EventKind.REFERRAL_RECEIVED, Stage.AWAITING_TRIAGE, referral_source="self_referral")
        .add(1, EventKind.TRIAGED, Stage.ASSESSMENT, route="health_check")
        .add(2, EventKind.ASSESSMENT_COMPLETED, Stage.PLANNING)
        .add(3, EventKind.PLAN_SET, Stage.IN_SERVICES)
    )


def test_days_without_a_service_count_the_wait_for_the_first_and_the_gap_between_two() -> None:
    timeline = (
        _planned("pathway-a")
        .add(8, EventKind.SERVICE_STARTED, Stage.IN_SERVICES, service_id="s1")  # 5 days waiting for the first
        .add(30, EventKind.SERVICE_COMPLETED, Stage.IN_SERVICES, service_id="s1")
        .add(40, EventKind.SERVICE_STARTED, Stage.IN_SERVICES, service_id="s2")  # a 10-day gap
        .add(50, EventKind.SERVICE_STARTED, Stage.IN_SERVICES, service_id="s3")
        .add(55, EventKind.SERVICE_INTERRUPTED, Stage.IN_SERVICES, service_id="s2")  # s3 still active: no gap
        .add(60, EventKind.OUTCOME_RECORDED, Stage.SUSTAINMENT)
        .add(61, EventKind.SERVICE_COMPLETED, Stage.SUSTAINMENT, service_id="s3")  # sustainment: not counted
    )
    assert days_without_service(timeline.rows, T0 + timedelta(days=100)) == pytest.approx(15)


def test_an_open_stretch_runs_until_the_report_and_a_pathway_without_a_plan_has_none() -> None:
    waiting = _planned("pathway-b")
    assert days_without_service(waiting.rows, T0 + timedelta(days=13)) == pytest.approx(10)
    unplanned = Timeline("pathway-c").add(0, EventKind.REFERRAL_RECEIVED, Stage.AWAITING_TRIAGE)
    assert days_without_service(unplanned.rows, T0 + timedelta(days=13)) is None


def test_the_report_counts_transitions_and_those_closed_without_a_gap() -> None:
    with_gap = (
        _planned("pathway-d")
        .add(4, EventKind.SERVICE_STARTED, Stage.IN_SERVICES, service_id="s1")
        .add(10, EventKind.SERVICE_INTERRUPTED, Stage.IN_SERVICES, service_id="s1")
        .add(10, EventKind.TRANSITION_OPENED, Stage.IN_SERVICES, cause="interrupted")
        .add(20, EventKind.TRANSITION_DECIDED, Stage.IN_SERVICES, decision="replace", without_gap=False)
    )
    without_gap = (
        _planned("pathway-e")
        .add(4, EventKind.SERVICE_STARTED, Stage.IN_SERVICES, service_id="s1")
        .add(4, EventKind.SERVICE_STARTED, Stage.IN_SERVICES, service_id="s2")
        .add(9, EventKind.SERVICE_CANCELLED, Stage.IN_SERVICES, service_id="s2")
        .add(9, EventKind.TRANSITION_OPENED, Stage.IN_SERVICES, cause="cancelled")
        .add(12, EventKind.TRANSITION_DECIDED, Stage.IN_SERVICES, decision="accept", without_gap=True)
        .add(13, EventKind.TRANSITION_OPENED, Stage.IN_SERVICES, cause="declined_by_provider")
    )
    report = outcome_report([*with_gap.rows, *without_gap.rows], as_of=T0 + timedelta(days=30))
    continuity = report.continuity
    assert continuity.pathways_with_plan == 2
    # d: 1 day waiting + 20 days after the interruption (to day 30); e: 1 day waiting.
    assert continuity.total_days_without_service == pytest.approx(22)
    assert continuity.pathways_with_days_without_service == 2
    assert continuity.transitions_opened == 3 and continuity.transitions_decided == 2
    assert continuity.transitions_by_cause == {"cancelled": 1, "declined_by_provider": 1, "interrupted": 1}
    assert continuity.transitions_by_decision == {"accept": 1, "replace": 1}
    assert (continuity.transitions_without_gap.count, continuity.transitions_without_gap.share) == (1, 0.5)
    rows = {(section, measure, category): value for section, measure, category, value in report_rows(report)}
    assert rows[("continuity", "transitions_without_gap_share", "")] == "0.5"
    assert rows[("continuity", "days_without_service_total", "")] == "22.0"
