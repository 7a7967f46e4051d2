"""Expected report figures computed from the generated stories (`Truth`), not from events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .dataset import Truth


def cohort(
    truths: list[Truth], team: str | None, period_from: datetime | None, period_to: datetime | None
) -> list[Truth]:
    return [
        t
        for t in truths
        if (team is None or t.team == team)
        and (period_from is None or t.referred_at >= period_from)
        and (period_to is None or t.referred_at < period_to)
    ]


def p90(values: list[float]) -> float:
    # The smallest value with at least 90 % of the values at or below it.
    return min(v for v in values if sum(1 for w in values if w <= v) >= 0.9 * len(values))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def count_by(items: list[Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def expected_figures(truths: list[Truth]) -> dict[str, Any]:
    triage = [t.triage_days for t in truths if t.triage_days is not None]
    assessment = [t.assessment_days for t in truths if t.assessment_days is not None]
    with_cm = [t for t in truths if t.has_case_manager]
    closed = [t for t in truths if t.closed]
    reached = [t for t in closed if t.solution_at_close]
    ratings = [r for t in truths for r in t.ratings]
    return {
        "pathways": len(truths),
        "by_source": count_by([t.source for t in truths]),
        "by_organisation": count_by([t.organisation for t in truths if t.organisation]),
        "triage": (len(triage), median(triage) if triage else None, p90(triage) if triage else None),
        "assessment": (
            len(assessment),
            median(assessment) if assessment else None,
            p90(assessment) if assessment else None,
        ),
        "routes": count_by([t.route_key for t in truths if t.route_key]),
        "with_case_manager": len(with_cm),
        "handovers": sum(t.handovers for t in with_cm),
        "handover_distribution": count_by([t.handovers for t in with_cm]),
        "causes": count_by([c for t in truths for c in t.review_causes]),
        "contacts": sum(t.contacts for t in truths),
        "overdue": sum(t.review_causes.count("follow_up_overdue") for t in truths),
        "pathways_overdue": sum(1 for t in truths if "follow_up_overdue" in t.review_causes),
        "closed": len(closed),
        "closure_reasons": count_by([t.closure_reason for t in closed]),
        "reached": count_by([t.solution_at_close for t in reached]),
        "reached_any": len(reached),
        "held": sum(1 for t in reached if t.held),
        "held_by_solution": count_by([t.solution_at_close for t in reached if t.held]),
        "did_not_hold": sum(t.did_not_hold for t in truths),
        "ratings": ratings,
    }


def quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def expected_programme(truths: list[Truth]) -> dict[str, Any]:
    """The programme figures from the stories: trends by referral month and quarter, teams, services, the
    open pathways by stage and case manager now."""

    def trend(group: list[Truth]) -> dict[str, Any]:
        triaged = [t.triage_days for t in group if t.triage_days is not None]
        return {
            "referrals": len(group),
            "triaged": len(triaged),
            "median_days_to_triage": median(triaged) if triaged else None,
            "reached_a_service": sum(1 for t in group if t.service_days is not None),
            "closed_with_solution": sum(1 for t in group if t.closed and t.solution_at_close),
            "escalations": sum(len(t.review_causes) for t in group),
        }

    def grouped(label: Any) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[Truth]] = {}
        for t in truths:
            groups.setdefault(label(t.referred_at), []).append(t)
        return {name: trend(group) for name, group in sorted(groups.items())}

    teams = {}
    for team in sorted({t.team for t in truths}):
        mine = [t for t in truths if t.team == team]
        closed = [t for t in mine if t.closed]
        solved = [t for t in closed if t.solution_at_close]
        services = [t.service_days for t in mine if t.service_days is not None]
        triage = [t.triage_days for t in mine if t.triage_days is not None]
        teams[team] = {
            "referrals": len(mine),
            "open": len(mine) - len(closed),
            "median_days_to_triage": median(triage) if triage else None,
            "median_days_to_service": median(services) if services else None,
            "closed": len(closed),
            "reached_solution": len(solved),
            "held": sum(1 for t in solved if t.held),
        }
    services = [t.service_days for t in truths if t.service_days is not None]
    open_ones = [t for t in truths if not t.closed]
    return {
        "by_month": grouped(lambda moment: f"{moment:%Y-%m}"),
        "by_quarter": grouped(quarter),
        "teams": teams,
        "time_to_service": (len(services), median(services), p90(services)),
        "services_by_kind": count_by([kind for t in truths for kind in t.service_kinds]),
        "backlog_by_stage": count_by([t.stage_now for t in open_ones]),
        "caseload": count_by([t.case_manager_now or "-" for t in open_ones]),
    }
