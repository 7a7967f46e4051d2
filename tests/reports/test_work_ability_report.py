"""The work-ability figures of the outcome report (issue 36) on generated pathways: each pathway is driven
through the real rules with random answers and GAS scores, its events become timeline rows as the store
writes them (coded facts only), and every figure is compared with one computed here from the generator's
own truth, by plain arithmetic."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from models import actions as a
from models.events import WorkAbilityRecorded
from models.measures import GasOccasion, WorkAbilityOccasion
from models.pathway import AssessmentLevel, LongTermSolution, TriageRoute
from models.tables import PathwayEventRow
from reports.outcomes import outcome_report, report_csv
from tests.reports.rows import rows_of
from tests.support.rules import COORDINATOR, NURSE, Clock, do, started

LEVELS = {name: f"level {name}" for name in a.GAS_LEVEL_FIELDS}


@dataclass
class Truth:
    team: str
    quarter: str
    start: int | None = None
    end: int | None = None
    after: int | None = None
    any_score: bool = False
    declined: int = 0
    gas_levels: list[int] = field(default_factory=list)
    gas_goals: int = 0
    reached: bool = False
    route: str = ""


def _pathway(index: int, chooser: random.Random) -> tuple[list[PathwayEventRow], Truth]:
    clock = Clock()
    clock.now += timedelta(days=index)
    referred = clock.now
    team = chooser.choice(["eura-team", "rauma-team"])
    truth = Truth(team=team, quarter=f"{referred.year}-Q{(referred.month - 1) // 3 + 1}")
    state, decision = started(clock)
    events = list(decision.events)

    def act(actor: str, fields: object) -> list[str]:
        nonlocal state
        clock.now += timedelta(days=1)
        state, done = do(state, actor, fields, clock)
        events.extend(done.events)
        return done.created_ids

    roll = chooser.random()
    if roll < 0.15:  # declined at triage
        act(COORDINATOR, a.RecordWorkAbility(declined=True))
        truth.declined += 1
    elif roll < 0.45:  # the start as usual
        truth.start = chooser.randint(0, 10)
        act(COORDINATOR, a.RecordWorkAbility(score=truth.start))
    if chooser.random() < 0.5:
        truth.route = "health_check"
        act(COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE))
    else:
        truth.route = "extended_assessment:basic"
        triage = a.Triage(
            route=TriageRoute.EXTENDED_ASSESSMENT, assessment_level=AssessmentLevel.BASIC, case_manager=NURSE
        )
        act(COORDINATOR, triage)
    if 0.45 <= roll < 0.75:
        # An assessment answer recorded first, then the triage answer from the paper form, asked before it: the
        # start is the one asked first, whatever the order of recording.
        assessment = chooser.randint(0, 10)
        act(NURSE, a.RecordWorkAbility(score=assessment, occasion=WorkAbilityOccasion.ASSESSMENT))
        truth.start = chooser.randint(0, 10)
        act(NURSE, a.RecordWorkAbility(score=truth.start, occasion=WorkAbilityOccasion.TRIAGE, asked_at=referred))
    if chooser.random() < 0.3:  # a follow-up answer is neither the start nor the end
        act(NURSE, a.RecordWorkAbility(score=chooser.randint(0, 10), occasion=WorkAbilityOccasion.FOLLOW_UP))
    for _ in range(chooser.randint(0, 3)):
        review = clock.now + timedelta(days=30)
        [goal] = act(NURSE, a.SetGoal(text="goal", gas_baseline=-1, target_date=review, **LEVELS))
        truth.gas_goals += 1
        if chooser.random() < 0.7:
            level = chooser.randint(-2, 2)
            later = clock.now + timedelta(days=60)
            act(NURSE, a.ScoreGoal(goal_id=goal, attainment=chooser.randint(-2, 2), next_review_at=later))
            if chooser.random() < 0.5:
                act(NURSE, a.ScoreGoal(goal_id=goal, attainment=level, occasion=GasOccasion.CLOSING))
            else:  # reviewed again, never closed: its latest review stands
                act(NURSE, a.ScoreGoal(goal_id=goal, attainment=level, next_review_at=later + timedelta(days=60)))
            truth.gas_levels.append(level)
    act(NURSE, a.CompleteAssessment(summary="s", recommendation="r"))
    if chooser.random() < 0.8:
        act(NURSE, a.RecordOutcome(solution=LongTermSolution.EMPLOYMENT, description="work"))
        if chooser.random() < 0.7:
            truth.end = chooser.randint(0, 10)
            act(NURSE, a.RecordWorkAbility(score=truth.end, occasion=WorkAbilityOccasion.OUTCOME))
            if chooser.random() < 0.5:
                truth.after = chooser.randint(0, 10)
                act(NURSE, a.RecordWorkAbility(score=truth.after, occasion=WorkAbilityOccasion.SUSTAINMENT_END))
        truth.reached = True
    truth.any_score = any(isinstance(event, WorkAbilityRecorded) and event.score is not None for event in events)
    return rows_of(f"pathway-{index}", team, events), truth


def _t_score(levels: list[int]) -> float:
    # Kiresuk and Sherman with unit weights and rho = 0.3, written out here.
    n = len(levels)
    return 50 + 10 * sum(levels) / math.sqrt(0.7 * n + 0.3 * n * n)


def test_the_figures_match_the_generators_truth() -> None:
    chooser = random.Random(36)
    rows: list[PathwayEventRow] = []
    truths: list[Truth] = []
    for index in range(120):
        pathway_rows, truth = _pathway(index, chooser)
        rows += pathway_rows
        truths.append(truth)
    report = outcome_report(rows).work_ability

    starts = [t.start for t in truths if t.start is not None]
    ends = [t.end for t in truths if t.end is not None]
    both = [(t.start, t.end) for t in truths if t.start is not None and t.end is not None]
    assert report.pathways == 120
    assert report.start.count == len(starts) and report.start.median == statistics.median(starts)
    assert report.end.count == len(ends) and report.end.median == statistics.median(ends)
    assert report.start.bands == {
        "poor": sum(1 for s in starts if s <= 5),
        "moderate": sum(1 for s in starts if s in (6, 7)),
        "good": sum(1 for s in starts if s >= 8),
    }
    assert report.change.pathways == len(both)
    assert report.change.improved.count == sum(1 for s, e in both if e - s >= 2)
    assert report.change.worsened.count == sum(1 for s, e in both if e < s)
    assert report.change.unchanged.count == len(both) - report.change.improved.count - report.change.worsened.count
    assert report.declined_answers == sum(t.declined for t in truths)
    assert report.without_measure == sum(1 for t in truths if not t.any_score)
    assert report.without_start == sum(1 for t in truths if t.start is None)
    assert report.without_end == sum(1 for t in truths if t.reached and t.end is None)
    afters = [t.after for t in truths if t.after is not None]
    assert report.after_solution.count == len(afters) and report.after_solution.median == statistics.median(afters)
    after_pairs = [(t.start, t.after) for t in truths if t.start is not None and t.after is not None]
    assert report.change_after_solution.pathways == len(after_pairs)
    assert report.change_after_solution.improved.count == sum(1 for s, e in after_pairs if e - s >= 2)
    assert [group.group for group in report.by_route] == ["extended_assessment:basic", "health_check"]
    for grouping, key in ((report.by_team, "team"), (report.by_quarter, "quarter"), (report.by_route, "route")):
        assert sum(group.pathways for group in grouping) == 120
        for group in grouping:
            mine = [t for t in truths if getattr(t, key) == group.group]
            assert group.pathways == len(mine)
            assert group.start.count == sum(1 for t in mine if t.start is not None)
            pairs = [(t.start, t.end) for t in mine if t.start is not None and t.end is not None]
            assert group.change.improved.count == sum(1 for s, e in pairs if e - s >= 2)
    assert len(report.by_quarter) == 2  # referrals over 120 days from early March: Q1 and Q2

    levels = [level for t in truths for level in t.gas_levels]
    t_scores = [_t_score(t.gas_levels) for t in truths if t.gas_levels]
    gas = report.gas
    assert gas.goals == sum(t.gas_goals for t in truths) and gas.goals_scored == len(levels)
    assert gas.at_or_above_expected.count == sum(1 for level in levels if level >= 0)
    assert gas.t_score_pathways == len(t_scores)
    assert gas.t_score_median == round(statistics.median(t_scores), 1)
    assert report.without_gas == sum(1 for t in truths if not t.gas_levels)

    text = report_csv(outcome_report(rows), language="fi")
    assert f"work_ability;start_pathways;;{len(starts)}" in text
    assert f"gas;goals_scored;;{len(levels)}" in text


def test_a_cohort_without_measures_says_so() -> None:
    clock = Clock()
    _state, decision = started(clock)
    report = outcome_report(rows_of("pathway-x", "eura-team", list(decision.events))).work_ability
    assert report.without_measure == 1 and report.without_gas == 1
    assert report.start.count == 0 and report.start.median is None and report.change.improved.share is None
