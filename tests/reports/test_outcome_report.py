"""The programme's outcome report on a generated data set, checked against independently computed figures."""

from __future__ import annotations

import csv
import io
import statistics
import struct
import zlib
from datetime import timedelta
from typing import Any

import pytest

from models.tables import PathwayEventRow
from reports.chart import render_png
from reports.outcomes import CSV_HEADER, OutcomeReport, outcome_report, report_csv

from .dataset import START, generate
from .expected import cohort, expected_figures

SEED, COUNT = 20261124, 400
PERIOD_FROM, PERIOD_TO = START + timedelta(days=30), START + timedelta(days=120)


def assert_matches(report: OutcomeReport, expected: dict[str, Any]) -> None:
    approx = pytest.approx
    assert report.pathways == expected["pathways"]
    assert {k: v for k, v in report.referrals_by_source.items() if v} == expected["by_source"]
    assert report.referrals_by_organisation == expected["by_organisation"]
    for summary, (count, median, p90) in (
        (report.time_to_triage, expected["triage"]),
        (report.time_to_assessment_start, expected["assessment"]),
    ):
        assert summary.count == count
        assert summary.median_days == approx(median, abs=0.006)
        assert summary.p90_days == approx(p90, abs=0.006)
    assert report.routes == expected["routes"]
    changes = report.case_manager_changes
    assert changes.pathways_with_case_manager == expected["with_case_manager"]
    assert changes.changes == expected["handovers"]
    assert changes.mean_per_pathway == approx(expected["handovers"] / expected["with_case_manager"], abs=0.006)
    assert changes.distribution == expected["handover_distribution"]
    assert report.escalations_by_cause == expected["causes"]
    assert report.follow_ups.contacts_recorded == expected["contacts"]
    assert report.follow_ups.overdue_escalations == expected["overdue"]
    assert report.follow_ups.pathways_with_overdue_follow_up == expected["pathways_overdue"]
    outcomes = report.outcomes
    assert outcomes.closed_pathways == expected["closed"]
    assert outcomes.closure_reasons == expected["closure_reasons"]
    for solution, share in outcomes.reached.items():
        assert share.count == expected["reached"].get(solution, 0)
        assert share.share == approx(share.count / expected["closed"], abs=0.00006)
    assert outcomes.reached_any.count == expected["reached_any"]
    assert outcomes.held.count == expected["held"]
    assert outcomes.held.share == approx(expected["held"] / expected["reached_any"], abs=0.00006)
    for solution, share in outcomes.held_by_solution.items():
        assert share.count == expected["held_by_solution"].get(solution, 0)
    assert outcomes.solutions_that_did_not_hold == expected["did_not_hold"]
    ratings = expected["ratings"]
    assert report.feedback.count == len(ratings)
    assert report.feedback.mean_rating == approx(statistics.fmean(ratings), abs=0.006)
    assert report.feedback.distribution == {r: ratings.count(r) for r in range(1, 6)}


def test_report_for_one_team_and_period_matches_the_independently_computed_figures() -> None:
    rows, truths = generate(SEED, COUNT)
    expected = expected_figures(cohort(truths, "eura-team", PERIOD_FROM, PERIOD_TO))
    # The data set is rich enough that every figure is exercised.
    assert expected["pathways"] > 100 and expected["held"] > 3 and expected["did_not_hold"] > 3
    assert expected["overdue"] > 3 and len(expected["routes"]) == 4
    report = outcome_report(rows, team="eura-team", period_from=PERIOD_FROM, period_to=PERIOD_TO)
    assert (report.team, report.period_from, report.period_to) == ("eura-team", PERIOD_FROM, PERIOD_TO)
    assert_matches(report, expected)


def test_report_over_all_teams_and_all_time_matches_the_independently_computed_figures() -> None:
    rows, truths = generate(SEED + 1, COUNT)
    assert_matches(outcome_report(rows), expected_figures(truths))


def test_the_period_includes_its_start_and_excludes_its_end_by_referral_date() -> None:
    rows, truths = generate(SEED + 2, 60)
    first, second = truths[0], truths[1]
    report = outcome_report(rows, period_from=first.referred_at, period_to=second.referred_at)
    assert report.pathways == len(cohort(truths, None, first.referred_at, second.referred_at))
    inside = outcome_report(
        [r for r in rows if r.pathway_id in (first.pathway_id, second.pathway_id)],
        period_from=first.referred_at,
        period_to=second.referred_at,
    )
    assert inside.pathways == (1 if first.referred_at < second.referred_at else 0)


def test_an_empty_cohort_reports_zeros_and_no_medians_rather_than_failing() -> None:
    report = outcome_report([])
    assert report.pathways == 0
    assert report.time_to_triage.median_days is None and report.time_to_triage.p90_days is None
    assert report.outcomes.held.share is None and report.feedback.mean_rating is None
    assert report.referrals_by_source == {"self_referral": 0, "professional_referral": 0}
    assert report_csv(report).startswith(",".join(CSV_HEADER))
    _check_png(render_png(report))


def test_pathways_without_their_referral_row_are_left_out() -> None:
    rows, truths = generate(SEED + 3, 50)
    lost = truths[0].pathway_id
    kept = [r for r in rows if not (r.pathway_id == lost and r.kind == "referral_received")]
    assert outcome_report(kept).pathways == 49


def test_csv_parses_back_to_the_same_figures() -> None:
    rows, _ = generate(SEED, COUNT)
    report = outcome_report(rows, team="eura-team", period_from=PERIOD_FROM, period_to=PERIOD_TO)
    parsed = list(csv.reader(io.StringIO(report_csv(report))))
    assert tuple(parsed[0]) == CSV_HEADER
    assert all(len(row) == 4 for row in parsed)
    cells = {(s, m, c): v for s, m, c, v in parsed[1:]}
    assert len(cells) == len(parsed) - 1, "one figure a row, no duplicates"
    assert cells[("report", "team", "")] == "eura-team"
    assert cells[("report", "period_from", "")] == PERIOD_FROM.isoformat()
    assert int(cells[("report", "pathways", "")]) == report.pathways
    for source, count in report.referrals_by_source.items():
        assert int(cells[("referrals", "by_source", source)]) == count
    assert float(cells[("time_to_triage", "median_days", "")]) == report.time_to_triage.median_days
    assert float(cells[("time_to_assessment_start", "p90_days", "")]) == report.time_to_assessment_start.p90_days
    for route, count in report.routes.items():
        assert int(cells[("routes", "chosen", route)]) == count
    for cause, count in report.escalations_by_cause.items():
        assert int(cells[("escalations", "by_cause", cause)]) == count
    for changes, count in report.case_manager_changes.distribution.items():
        assert int(cells[("case_manager_changes", "pathways_with_changes", str(changes))]) == count
    assert int(cells[("follow_ups", "overdue_escalations", "")]) == report.follow_ups.overdue_escalations
    for solution, share in report.outcomes.reached.items():
        assert int(cells[("outcomes", "reached", solution)]) == share.count
        assert float(cells[("outcomes", "reached_share", solution)]) == share.share
    assert float(cells[("outcomes", "held_share", "")]) == report.outcomes.held.share
    assert float(cells[("feedback", "mean_rating", "")]) == report.feedback.mean_rating
    for rating, count in report.feedback.distribution.items():
        assert int(cells[("feedback", "rating", str(rating))]) == count


def _check_png(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, chunk = struct.unpack(">I4s", png[8:16])
    assert chunk == b"IHDR" and length == 13
    width, height = struct.unpack(">II", png[16:24])
    # Every chunk's CRC is right and the file ends with IEND: a complete, valid PNG.
    offset = 8
    while offset < len(png):
        (size,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        body = png[offset + 8 : offset + 8 + size]
        (crc,) = struct.unpack(">I", png[offset + 8 + size : offset + 12 + size])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        offset += 12 + size
        last = kind
    assert last == b"IEND" and offset == len(png)
    return width, height


def test_png_chart_is_a_valid_readable_image_of_sensible_size() -> None:
    from matplotlib.image import imread

    rows, _ = generate(SEED, COUNT)
    report = outcome_report(rows, team="eura-team", period_from=PERIOD_FROM, period_to=PERIOD_TO)
    png = render_png(report)
    width, height = _check_png(png)
    # Wide enough to read when pasted on a page, small enough to paste.
    assert (width, height) == (1400, 900)
    assert 30_000 < len(png) < 1_000_000
    pixels = imread(io.BytesIO(png))
    assert pixels.shape[:2] == (900, 1400)
    # Not a blank page: a good share of pixels are not white.
    assert (pixels[:, :, :3].mean(axis=2) < 0.9).mean() > 0.02


def records_copy(rows: list[PathwayEventRow]) -> list[PathwayEventRow]:
    """Fresh, unattached rows for inserting into a database."""
    return [PathwayEventRow.model_validate(row.model_dump(exclude={"id"})) for row in rows]
