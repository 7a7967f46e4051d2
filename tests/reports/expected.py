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
