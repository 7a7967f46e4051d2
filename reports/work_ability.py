"""Work ability measured, over a referral cohort (issue 36): did clients' work ability improve, and for whom
did it not? Pure functions of the timeline rows' coded facts, like `reports.outcomes`, with its cohort.

Definitions (the rules of one measure are in `models.measures`):
- Work Ability Score at the start: the pathway's first scored answer asked at referral, triage or the
  assessment; at the end: its last scored answer asked at the long-term solution (answers in the order they
  were asked). An answer the client declined to give is counted as declined, never as a value.
- change, over the pathways with both: improved by 2 points or more, worsened by any point, unchanged.
- after a solution: the last scored answer at the end of following the solution (the sustainment check,
  about 12 months on where the team's sustainment period is that long), and its change from the start.
- by route (the triage route with its level), by team and by quarter of referral (UTC).
- GAS: per pathway with scored GAS goals its T-score (Kiresuk and Sherman); of the scored goals, the share
  attained at or above the expected level (a goal's closing score if it has one, else its latest review).
- without a measure: pathways with no scored Work Ability Score at all, with none at the start, those that
  reached a long-term solution with none at it, and pathways with no scored GAS goal.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from models.events import EventKind
from models.measures import (
    AFTER_SOLUTION_OCCASION,
    END_OCCASIONS,
    START_OCCASIONS,
    GasOccasion,
    WorkAbilityBand,
    WorkAbilityChange,
    WorkAbilityOccasion,
    at_or_above_expected,
    gas_t_score,
    work_ability_band,
    work_ability_change,
)
from models.tables import PathwayEventRow
from reports.measures import Share, aware, referred_at_of, share


class ScoreSummary(BaseModel):
    count: int = Field(description="Pathways with a scored answer here.")
    median: float | None = None
    bands: dict[str, int] = Field(default={}, description="Band (poor 0-5, moderate 6-7, good 8-10) -> pathways.")


class ChangeFigures(BaseModel):
    pathways: int = Field(description="Pathways with both answers compared.")
    improved: Share = Field(description="By 2 points or more, of `pathways`.")
    worsened: Share = Field(description="By any point, of `pathways`.")
    unchanged: Share


class WorkAbilityGroup(BaseModel):
    group: str = Field(description="The route, team or quarter.")
    pathways: int
    start: ScoreSummary
    end: ScoreSummary
    change: ChangeFigures


class GasFigures(BaseModel):
    pathways_with_gas_goals: int
    goals: int
    goals_scored: int
    at_or_above_expected: Share = Field(description="Of the scored goals.")
    t_score_pathways: int = Field(description="Pathways with at least one scored GAS goal.")
    t_score_median: float | None = None
    t_score_mean: float | None = None


class WorkAbilityFigures(BaseModel):
    pathways: int = Field(description="The cohort.")
    start: ScoreSummary
    end: ScoreSummary
    change: ChangeFigures
    after_solution: ScoreSummary = Field(description="At the end of following the solution.")
    change_after_solution: ChangeFigures = Field(description="From the start to the end of following the solution.")
    declined_answers: int = Field(description="Answers the client did not want to give.")
    without_measure: int = Field(description="Pathways with no scored Work Ability Score at all.")
    without_start: int = Field(description="Pathways with no scored answer at referral, triage or the assessment.")
    without_end: int = Field(description="Pathways that reached a long-term solution with no scored answer at it.")
    by_route: list[WorkAbilityGroup]
    by_team: list[WorkAbilityGroup]
    by_quarter: list[WorkAbilityGroup]
    gas: GasFigures
    without_gas: int = Field(description="Pathways with no scored GAS goal.")


@dataclass
class _Pathway:
    team: str
    route: str
    quarter: str
    start: int | None
    end: int | None
    after_solution: int | None
    any_score: bool
    declined: int
    gas_levels: list[int]  # the attained level of each scored GAS goal
    gas_goals: int
    reached_solution: bool  # a long-term solution was recorded: an answer at it is expected


def _asked_at(row: PathwayEventRow) -> datetime:
    stated = row.details.get("asked_at")
    return aware(datetime.fromisoformat(stated)) if stated else aware(row.at)


def _answers(rows: list[PathwayEventRow]) -> list[tuple[WorkAbilityOccasion, int | None]]:
    """The Work Ability answers in the order they were asked (then recorded): an answer may be recorded late."""
    answers = [row for row in rows if row.kind == EventKind.WORK_ABILITY_RECORDED]
    answers.sort(key=lambda row: (_asked_at(row), row.sequence))
    return [(WorkAbilityOccasion(row.details["occasion"]), row.details.get("score")) for row in answers]


def _gas(rows: list[PathwayEventRow]) -> tuple[int, list[int]]:
    """The pathway's GAS goals (as their latest version says) and the attained level of each scored one: its
    closing score if it has one, else its latest review's."""
    is_gas: dict[str, bool] = {}
    reviews: dict[str, int] = {}
    closings: dict[str, int] = {}
    for row in sorted(rows, key=lambda row: row.sequence):
        if row.kind in (EventKind.GOAL_SET, EventKind.GOAL_UPDATED):
            is_gas[str(row.details.get("goal_id"))] = row.details.get("gas_baseline") is not None
        elif row.kind == EventKind.GOAL_ATTAINMENT_SCORED:
            goal, level = str(row.details["goal_id"]), int(row.details["attainment"])
            (closings if row.details.get("occasion") == GasOccasion.CLOSING else reviews)[goal] = level
    gas_goals = sorted(goal for goal, gas in is_gas.items() if gas)
    scored = {**reviews, **closings}
    return len(gas_goals), [scored[goal] for goal in gas_goals if goal in scored]


def pathway_measures(rows: list[PathwayEventRow], team: str, route: str) -> _Pathway:
    referral = next(row for row in rows if row.kind == EventKind.REFERRAL_RECEIVED)
    referred = referred_at_of(referral)
    answers = _answers(rows)
    scored = [(occasion, score) for occasion, score in answers if score is not None]
    starts = [score for occasion, score in scored if occasion in START_OCCASIONS]
    ends = [score for occasion, score in scored if occasion in END_OCCASIONS]
    after = [score for occasion, score in scored if occasion is AFTER_SOLUTION_OCCASION]
    gas_goals, levels = _gas(rows)
    return _Pathway(
        team=team,
        route=route,
        quarter=f"{referred.year}-Q{(referred.month - 1) // 3 + 1}",
        start=starts[0] if starts else None,
        end=ends[-1] if ends else None,
        after_solution=after[-1] if after else None,
        any_score=bool(scored),
        declined=sum(1 for _, score in answers if score is None),
        gas_levels=levels,
        gas_goals=gas_goals,
        reached_solution=any(row.kind == EventKind.OUTCOME_RECORDED for row in rows),
    )


def _summary(scores: list[int]) -> ScoreSummary:
    bands = Counter(work_ability_band(score).value for score in scores)
    return ScoreSummary(
        count=len(scores),
        median=float(statistics.median(scores)) if scores else None,
        bands={band.value: bands[band.value] for band in WorkAbilityBand},
    )


def _change(pairs: list[tuple[int, int]]) -> ChangeFigures:
    moves = Counter(work_ability_change(first, last) for first, last in pairs)
    return ChangeFigures(
        pathways=len(pairs),
        improved=share(moves[WorkAbilityChange.IMPROVED], len(pairs)),
        worsened=share(moves[WorkAbilityChange.WORSENED], len(pairs)),
        unchanged=share(moves[WorkAbilityChange.UNCHANGED], len(pairs)),
    )


def _group(name: str, pathways: list[_Pathway]) -> WorkAbilityGroup:
    return WorkAbilityGroup(
        group=name,
        pathways=len(pathways),
        start=_summary([p.start for p in pathways if p.start is not None]),
        end=_summary([p.end for p in pathways if p.end is not None]),
        change=_change([(p.start, p.end) for p in pathways if p.start is not None and p.end is not None]),
    )


def _groups(pathways: list[_Pathway], key: str) -> list[WorkAbilityGroup]:
    keys = sorted({getattr(p, key) for p in pathways})
    return [_group(value, [p for p in pathways if getattr(p, key) == value]) for value in keys]


def work_ability_figures(pathways: Iterable[_Pathway]) -> WorkAbilityFigures:
    cohort = list(pathways)
    t_scores = [gas_t_score(p.gas_levels) for p in cohort if p.gas_levels]
    levels = [level for p in cohort for level in p.gas_levels]
    return WorkAbilityFigures(
        pathways=len(cohort),
        start=_summary([p.start for p in cohort if p.start is not None]),
        end=_summary([p.end for p in cohort if p.end is not None]),
        change=_change([(p.start, p.end) for p in cohort if p.start is not None and p.end is not None]),
        after_solution=_summary([p.after_solution for p in cohort if p.after_solution is not None]),
        change_after_solution=_change(
            [(p.start, p.after_solution) for p in cohort if p.start is not None and p.after_solution is not None]
        ),
        declined_answers=sum(p.declined for p in cohort),
        without_measure=sum(1 for p in cohort if not p.any_score),
        without_start=sum(1 for p in cohort if p.start is None),
        without_end=sum(1 for p in cohort if p.reached_solution and p.end is None),
        by_route=_groups([p for p in cohort if p.route], "route"),
        by_team=_groups(cohort, "team"),
        by_quarter=_groups(cohort, "quarter"),
        gas=GasFigures(
            pathways_with_gas_goals=sum(1 for p in cohort if p.gas_goals),
            goals=sum(p.gas_goals for p in cohort),
            goals_scored=len(levels),
            at_or_above_expected=share(sum(1 for level in levels if at_or_above_expected(level)), len(levels)),
            t_score_pathways=len(t_scores),
            t_score_median=round(statistics.median(t_scores), 1) if t_scores else None,
            t_score_mean=round(statistics.mean(t_scores), 1) if t_scores else None,
        ),
        without_gas=sum(1 for p in cohort if not p.gas_levels),
    )


def work_ability_rows(figures: WorkAbilityFigures) -> list[tuple[str, str, str, object]]:
    """The figures as the report's long-format rows (section, measure, category, value)."""
    rows: list[tuple[str, str, str, object]] = []

    def summary(section: str, name: str, part: ScoreSummary, category: str = "") -> None:
        rows.append((section, f"{name}_pathways", category, part.count))
        rows.append((section, f"{name}_median", category, part.median))
        if not category:
            rows.extend((section, f"{name}_band", band, count) for band, count in part.bands.items())

    def change(section: str, name: str, part: ChangeFigures, category: str = "") -> None:
        rows.append((section, f"{name}_compared", category, part.pathways))
        for move in ("improved", "worsened", "unchanged"):
            moved: Share = getattr(part, move)
            rows.extend(
                [
                    (section, f"{name}_{move}", category, moved.count),
                    (section, f"{name}_{move}_share", category, moved.share),
                ]
            )

    section = "work_ability"
    summary(section, "start", figures.start)
    summary(section, "end", figures.end)
    change(section, "change", figures.change)
    summary(section, "after_solution", figures.after_solution)
    change(section, "change_after_solution", figures.change_after_solution)
    rows += [
        (section, "declined_answers", "", figures.declined_answers),
        (section, "pathways_without_measure", "", figures.without_measure),
        (section, "pathways_without_start", "", figures.without_start),
        (section, "pathways_without_end", "", figures.without_end),
    ]
    for grouping, groups in (
        ("by_route", figures.by_route),
        ("by_team", figures.by_team),
        ("by_quarter", figures.by_quarter),
    ):
        for group in groups:
            name = f"{section}_{grouping}"
            rows.append((name, "pathways", group.group, group.pathways))
            summary(name, "start", group.start, group.group)
            summary(name, "end", group.end, group.group)
            change(name, "change", group.change, group.group)
    gas = figures.gas
    rows += [
        ("gas", "pathways_with_gas_goals", "", gas.pathways_with_gas_goals),
        ("gas", "goals", "", gas.goals),
        ("gas", "goals_scored", "", gas.goals_scored),
        ("gas", "at_or_above_expected", "", gas.at_or_above_expected.count),
        ("gas", "at_or_above_expected_share", "", gas.at_or_above_expected.share),
        ("gas", "t_score_pathways", "", gas.t_score_pathways),
        ("gas", "t_score_median", "", gas.t_score_median),
        ("gas", "t_score_mean", "", gas.t_score_mean),
        ("gas", "pathways_without_scored_goal", "", figures.without_gas),
    ]
    return rows
