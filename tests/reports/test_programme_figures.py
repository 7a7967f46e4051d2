"""The programme figures (trends, teams side by side, time to a service, services used, backlog and caseload)
against values computed independently from the generated stories."""

from __future__ import annotations

from datetime import UTC, datetime

from pytest import approx

from models.tables import PathwayEventRow
from reports.outcomes import outcome_report, report_rows

from .dataset import Truth, generate
from .expected import cohort, expected_programme

SEED, COUNT = 20261201, 900
PERIOD_FROM, PERIOD_TO = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)


def _check(
    rows: list[PathwayEventRow],
    truths: list[Truth],
    team: str | None,
    period_from: datetime | None,
    period_to: datetime | None,
) -> None:
    expected = expected_programme(cohort(truths, team, period_from, period_to))
    figures = outcome_report(rows, team=team, period_from=period_from, period_to=period_to).programme
    for trends, wanted in ((figures.by_month, expected["by_month"]), (figures.by_quarter, expected["by_quarter"])):
        assert [trend.period for trend in trends] == list(wanted)
        for trend in trends:
            got = trend.model_dump(exclude={"period"})
            want = wanted[trend.period]
            assert got["median_days_to_triage"] == approx(want.pop("median_days_to_triage"), abs=0.006)
            assert {k: v for k, v in got.items() if k != "median_days_to_triage"} == want, trend.period
    assert [team_figures.team for team_figures in figures.teams] == list(expected["teams"])
    for team_figures in figures.teams:
        want = expected["teams"][team_figures.team]
        assert (team_figures.referrals, team_figures.open, team_figures.closed) == (
            want["referrals"],
            want["open"],
            want["closed"],
        )
        assert team_figures.median_days_to_triage == approx(want["median_days_to_triage"], abs=0.006)
        assert team_figures.median_days_to_service == approx(want["median_days_to_service"], abs=0.006)
        assert (team_figures.reached_solution.count, team_figures.held.count) == (
            want["reached_solution"],
            want["held"],
        )
    count, median_days, p90_days = expected["time_to_service"]
    assert figures.time_to_service.count == count
    assert figures.time_to_service.median_days == approx(median_days, abs=0.006)
    assert figures.time_to_service.p90_days == approx(p90_days, abs=0.006)
    assert figures.services_by_kind == expected["services_by_kind"]
    assert figures.backlog_by_stage == expected["backlog_by_stage"]
    assert figures.caseload_by_case_manager == expected["caseload"]


def test_programme_figures_for_one_team_and_a_quarter_match_the_stories() -> None:
    rows, truths = generate(SEED, COUNT)
    expected = expected_programme(cohort(truths, "eura-team", PERIOD_FROM, PERIOD_TO))
    # Rich enough that every figure is exercised: three months, open pathways in two stages.
    assert len(expected["by_month"]) == 3 and len(expected["backlog_by_stage"]) >= 2
    assert len(expected["services_by_kind"]) == 2 and len(expected["caseload"]) >= 4
    _check(rows, truths, "eura-team", PERIOD_FROM, PERIOD_TO)


def test_programme_figures_over_all_teams_put_the_teams_side_by_side() -> None:
    rows, truths = generate(SEED + 1, COUNT)
    _check(rows, truths, None, None, None)
    assert len(outcome_report(rows).programme.teams) == 2


def test_the_csv_carries_the_programme_figures() -> None:
    rows, _ = generate(SEED, 200)
    sections = {row[0] for row in report_rows(outcome_report(rows))}
    assert {
        "trend_by_month",
        "trend_by_quarter",
        "teams",
        "time_to_service",
        "services",
        "backlog",
        "caseload",
    } <= sections
