"""Work ability measured through the pathway's rules (issue 36): the Work Ability Score answers and the GAS
goals as actions, events, deadlines and the folded record, in milliseconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from models import actions as a
from models.events import GoalAttainmentScored, PathwayEvent, WorkAbilityRecorded
from models.measures import GasOccasion, WorkAbilityBand, WorkAbilityOccasion
from models.pathway import DeadlineKind, TeamReviewCause, TriageRoute
from models.record import MAX_WORK_ABILITY_ANSWERS, PathwayRecord, apply_events
from tests.support.rules import COORDINATOR, NURSE, Clock, do, fire_next, in_services, refused, started
from workflows import deadlines

LEVELS = {
    "gas_much_less": "Does not leave home",
    "gas_less": "Visits the library once a week",
    "gas_expected": "Takes part in the work trial twice a week",
    "gas_more": "Takes part three times a week",
    "gas_much_more": "Works four days a week",
}


def _record(events: list[PathwayEvent]) -> PathwayRecord:
    record = apply_events("pathway-client-abcd", None, events)
    assert record is not None
    return record


def test_a_score_is_filed_under_the_stage_it_was_given_in_unless_staff_name_the_occasion(clock: Clock) -> None:
    state, start = started(clock)
    state, at_referral = do(state, COORDINATOR, a.RecordWorkAbility(score=4), clock)
    [event] = at_referral.events
    assert isinstance(event, WorkAbilityRecorded)
    assert (event.score, event.declined, event.occasion, event.actor) == (
        4,
        False,
        WorkAbilityOccasion.TRIAGE,
        COORDINATOR,
    )
    assert event.asked_at == clock.now
    clock.now += timedelta(days=3)
    state, triaged = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    asked_earlier = clock.now - timedelta(days=2)
    state, named = do(
        state,
        NURSE,
        a.RecordWorkAbility(declined=True, occasion=WorkAbilityOccasion.REFERRAL, asked_at=asked_earlier),
        clock,
    )
    [declined] = named.events
    assert isinstance(declined, WorkAbilityRecorded)
    assert declined.occasion is WorkAbilityOccasion.REFERRAL and declined.asked_at == asked_earlier
    assert declined.score is None and declined.declined
    record = _record(start.events + at_referral.events + triaged.events + named.events)
    assert [(answer.score, answer.declined, answer.asked_by) for answer in record.work_ability] == [
        (4, False, COORDINATOR),
        (None, True, NURSE),
    ]
    assert record.work_ability[0].band is WorkAbilityBand.POOR
    assert [answer.score for answer in record.work_ability_scores()] == [4]


@pytest.mark.parametrize(
    "body",
    [{"score": 11}, {"score": -1}, {"score": 7.5}, {"score": "7"}, {"score": True}, {}, {"score": 5, "declined": True}],
)
def test_anything_but_an_integer_0_to_10_or_declined_is_refused_by_the_model(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        a.RecordWorkAbility.model_validate(body)


def test_a_score_cannot_be_dated_in_the_future(clock: Clock) -> None:
    state, _ = started(clock)
    refused(state, a.RecordWorkAbility(score=5, asked_at=clock.now + timedelta(days=1)), clock, "in the future")


def test_the_record_keeps_the_first_answer_and_the_latest(clock: Clock) -> None:
    state, start = started(clock)
    events = list(start.events)
    for index in range(MAX_WORK_ABILITY_ANSWERS + 5):
        state, decision = do(state, COORDINATOR, a.RecordWorkAbility(score=index % 11), clock)
        events += decision.events
    record = _record(events)
    assert len(record.work_ability) == MAX_WORK_ABILITY_ANSWERS
    assert record.work_ability[0].sequence == events[1].sequence  # the baseline stays
    assert record.work_ability[-1].sequence == events[-1].sequence


def test_a_gas_goal_needs_all_five_levels_a_baseline_below_expected_and_a_review_date(clock: Clock) -> None:
    review = clock.now + timedelta(days=60)
    with pytest.raises(ValidationError, match="gas_much_more missing"):
        a.SetGoal(text="Work trial", gas_baseline=-1, target_date=review, **{**LEVELS, "gas_much_more": None})
    with pytest.raises(ValidationError, match="-2 or -1"):
        a.SetGoal(text="Work trial", gas_baseline=0, target_date=review, **LEVELS)
    with pytest.raises(ValidationError, match="needs gas_baseline"):
        a.SetGoal(text="Work trial", target_date=review, **LEVELS)
    with pytest.raises(ValidationError, match="needs target_date"):
        a.SetGoal(text="Work trial", gas_baseline=-1, **LEVELS)
    with pytest.raises(ValidationError):
        a.SetGoal.model_validate({"text": "Work trial", "gas_baseline": -1.5, "target_date": review, **LEVELS})
    assert a.SetGoal(text="Plain goal").gas_baseline is None  # plain goals keep working


def test_a_gas_goal_is_scored_its_review_date_moves_and_the_t_score_follows(clock: Clock) -> None:
    state, start = started(clock)
    events = list(start.events)
    state, decision = do(state, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=NURSE), clock)
    events += decision.events
    review = clock.now + timedelta(days=60)
    state, decision = do(
        state, NURSE, a.SetGoal(text="Work trial", gas_baseline=-1, target_date=review, **LEVELS), clock
    )
    events += decision.events
    gas_goal = decision.created_ids[0]
    state, decision = do(state, NURSE, a.SetGoal(text="A plain goal"), clock)
    events += decision.events
    plain_goal = decision.created_ids[0]
    refused(state, a.ScoreGoal(goal_id=plain_goal, attainment=0), clock, "has no GAS levels")
    refused(state, a.ScoreGoal(goal_id="nope", attainment=0), clock, "no goal nope")
    refused(
        state,
        a.ScoreGoal(goal_id=gas_goal, attainment=0, next_review_at=clock.now - timedelta(days=1)),
        clock,
        "must be in the future",
    )

    next_review = clock.now + timedelta(days=120)
    state, decision = do(state, NURSE, a.ScoreGoal(goal_id=gas_goal, attainment=-1, next_review_at=next_review), clock)
    events += decision.events
    [scored] = decision.events
    assert isinstance(scored, GoalAttainmentScored) and scored.occasion is GasOccasion.REVIEW
    assert next(goal for goal in state.goals if goal.goal_id == gas_goal).target_date == next_review
    record = _record(events)
    assert record.gas_t_score() == pytest.approx(40.0, abs=0.05)  # one goal at -1: 50 + 10 * -1 / 1

    state, decision = do(state, NURSE, a.ScoreGoal(goal_id=gas_goal, attainment=1, occasion=GasOccasion.CLOSING), clock)
    events += decision.events
    state, decision = do(state, NURSE, a.ScoreGoal(goal_id=gas_goal, attainment=2), clock)  # a later review
    events += decision.events
    record = _record(events)
    [goal] = record.gas_goals()
    assert [level for level, _ in goal.gas_levels()] == [-2, -1, 0, 1, 2]
    assert goal.gas_expected == LEVELS["gas_expected"] and goal.gas_baseline == -1
    assert goal.attained_level == 1  # the closing score stands over a later review's
    assert record.gas_t_score() == pytest.approx(60.0, abs=0.05)
    assert next(g for g in state.goals if g.goal_id == gas_goal).target_date is None  # no review scheduled


def test_an_unscored_gas_review_reminds_then_goes_to_the_team(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    review = clock.now + timedelta(days=1)
    state, decision = do(
        state, NURSE, a.SetGoal(text="Work trial", gas_baseline=-2, target_date=review, **LEVELS), clock
    )
    goal_id = decision.created_ids[0]
    due = [d for d in deadlines.all_deadlines(state) if d.item_id == goal_id]
    assert [d.kind for d in due] == [DeadlineKind.GOAL_REVIEW, DeadlineKind.GOAL_REVIEW_ESCALATION]
    escalation = due[1]
    assert escalation.due_at == review + state.policy.commitment_grace + state.policy.commitment_escalate_after
    fired: list[DeadlineKind] = []
    while escalation.kind not in fired:
        upcoming, state, decision = fire_next(state, clock)
        fired.append(upcoming.kind)
    assert DeadlineKind.GOAL_REVIEW in fired
    assert any(review.cause is TeamReviewCause.GOAL_REVIEW_OVERDUE for review in state.pending_reviews)


def test_scoring_the_review_settles_its_deadlines(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    state, decision = do(
        state,
        NURSE,
        a.SetGoal(text="Work trial", gas_baseline=-1, target_date=clock.now + timedelta(days=5), **LEVELS),
        clock,
    )
    goal_id = decision.created_ids[0]
    state, _ = do(state, NURSE, a.ScoreGoal(goal_id=goal_id, attainment=0), clock)
    assert not [d for d in deadlines.all_deadlines(state) if d.item_id == goal_id]
