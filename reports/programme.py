"""What a programme manager asks of the outcome report beyond one snapshot: do pathways move?

Pure functions of the timeline rows (`PathwayEventRow`), like `reports.outcomes`, and with its cohort: the
pathways referred in the period. Definitions:
- trends: the cohort by the month (and quarter) of referral, in UTC: referrals, how many were triaged and
  the median days to triage, how many got a first service, closed with a long-term solution in place,
  and team reviews opened;
- teams side by side: per team, referrals, still open, median days to triage and to the first service,
  closed with a solution (share of closed) and held (share of those);
- time to a service: referral -> the first service that started (days, median and nearest-rank p90);
- services used by kind: services started, per kind (a pathway may use several);
- backlog by stage and caseload per case manager: the cohort's pathways still open, by their stage now
  and by their case manager now (named by the latest assignment or accepted hand-over; none yet: ``"-"``).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from models.events import EventKind
from models.tables import PathwayEventRow
from reports.measures import DurationSummary, Share, days_between, durations, in_period, referred_at_of, share

NO_CASE_MANAGER = "-"


class PeriodTrend(BaseModel):
    period: str = Field(description="2026-03 (a month) or 2026-Q1 (a quarter), by the referral's date in UTC.")
    referrals: int
    triaged: int
    median_days_to_triage: float | None
    reached_a_service: int = Field(description="Pathways whose first service has started.")
    closed_with_solution: int
    escalations: int = Field(description="Team reviews opened.")


class TeamFigures(BaseModel):
    team: str
    referrals: int
    open: int
    median_days_to_triage: float | None
    median_days_to_service: float | None
    closed: int
    reached_solution: Share = Field(description="Closed with a long-term solution, of the team's closed pathways.")
    held: Share = Field(description="Confirmed to hold, of those closed with a solution.")


class ProgrammeFigures(BaseModel):
    by_month: list[PeriodTrend]
    by_quarter: list[PeriodTrend]
    teams: list[TeamFigures]
    time_to_service: DurationSummary
    services_by_kind: dict[str, int]
    backlog_by_stage: dict[str, int]
    caseload_by_case_manager: dict[str, int]


class _Pathway:
    """One pathway's facts the figures need, read once from its rows."""

    def __init__(self, rows: list[PathwayEventRow]) -> None:
        rows.sort(key=lambda row: row.sequence)
        referral = next(row for row in rows if row.kind == EventKind.REFERRAL_RECEIVED)
        self.referred_at = referred_at_of(referral)
        self.team = referral.team
        triage = next((row for row in rows if row.kind == EventKind.TRIAGED), None)
        self.days_to_triage = days_between(self.referred_at, triage.at) if triage else None
        started = [row for row in rows if row.kind == EventKind.SERVICE_STARTED]
        self.days_to_service = days_between(self.referred_at, started[0].at) if started else None
        self.service_kinds = [row.details.get("service_kind", "") for row in started]
        closure = next((row for row in reversed(rows) if row.kind == EventKind.CLOSED), None)
        self.closed = closure is not None
        self.solution = (closure.details.get("solution") or None) if closure else None
        self.held = any(row.kind == EventKind.SUSTAINMENT_CONFIRMED for row in rows)
        self.escalations = sum(1 for row in rows if row.kind == EventKind.TEAM_REVIEW_OPENED)
        last = rows[-1]
        self.stage = last.stage
        named = [
            row.details.get("case_manager")
            for row in rows
            if row.kind in (EventKind.CASE_MANAGER_ASSIGNED, EventKind.CASE_MANAGER_CHANGED)
        ]
        self.case_manager = next((name for name in reversed(named) if name), NO_CASE_MANAGER)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _trend(period: str, pathways: list[_Pathway]) -> PeriodTrend:
    triage_days = [p.days_to_triage for p in pathways if p.days_to_triage is not None]
    return PeriodTrend(
        period=period,
        referrals=len(pathways),
        triaged=len(triage_days),
        median_days_to_triage=_median(triage_days),
        reached_a_service=sum(1 for p in pathways if p.days_to_service is not None),
        closed_with_solution=sum(1 for p in pathways if p.closed and p.solution),
        escalations=sum(p.escalations for p in pathways),
    )


def _team(team: str, pathways: list[_Pathway]) -> TeamFigures:
    closed = [p for p in pathways if p.closed]
    solved = [p for p in closed if p.solution]
    return TeamFigures(
        team=team,
        referrals=len(pathways),
        open=len(pathways) - len(closed),
        median_days_to_triage=_median([p.days_to_triage for p in pathways if p.days_to_triage is not None]),
        median_days_to_service=_median([p.days_to_service for p in pathways if p.days_to_service is not None]),
        closed=len(closed),
        reached_solution=share(len(solved), len(closed)),
        held=share(sum(1 for p in solved if p.held), len(solved)),
    )


def _grouped(pathways: list[_Pathway], key: str) -> dict[str, list[_Pathway]]:
    groups: dict[str, list[_Pathway]] = {}
    for pathway in sorted(pathways, key=lambda p: p.referred_at):
        moment = pathway.referred_at
        label = f"{moment:%Y-%m}" if key == "month" else f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
        groups.setdefault(label, []).append(pathway)
    return groups


def programme_figures(
    events: Iterable[PathwayEventRow],
    *,
    team: str | None = None,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
) -> ProgrammeFigures:
    by_pathway: dict[str, list[PathwayEventRow]] = {}
    for event in events:
        if team is None or event.team == team:
            by_pathway.setdefault(event.pathway_id, []).append(event)
    cohort = []
    for rows in by_pathway.values():
        if not any(row.kind == EventKind.REFERRAL_RECEIVED for row in rows):
            continue  # its referral row is not among the rows: left out, as in the outcome report
        pathway = _Pathway(rows)
        if in_period(pathway.referred_at, period_from, period_to):
            cohort.append(pathway)
    open_ones = [p for p in cohort if not p.closed]
    by_team: dict[str, list[_Pathway]] = {}
    for pathway in cohort:
        by_team.setdefault(pathway.team, []).append(pathway)
    return ProgrammeFigures(
        by_month=[_trend(label, group) for label, group in _grouped(cohort, "month").items()],
        by_quarter=[_trend(label, group) for label, group in _grouped(cohort, "quarter").items()],
        teams=[_team(name, by_team[name]) for name in sorted(by_team)],
        time_to_service=durations([p.days_to_service for p in cohort if p.days_to_service is not None]),
        services_by_kind=dict(sorted(Counter(kind for p in cohort for kind in p.service_kinds).items())),
        backlog_by_stage=dict(sorted(Counter(p.stage for p in open_ones).items())),
        caseload_by_case_manager=dict(sorted(Counter(p.case_manager for p in open_ones).items())),
    )
