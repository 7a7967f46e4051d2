"""Work ability measured through the pathway's rules (issue 36): the Work Ability Score answers and the GAS
goals as actions, events, deadlines and the folded record, in milliseconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from models import actions as a
from models.events import GoalAttainmentScored, GoalSet, PathwayEvent, WorkAbilityRecorded
from models.measures import GasOccasion, WorkAbilityBand, WorkAbilityChange, WorkAbilityOccasion
from models.pathway import DeadlineKind, LongTermSolution, TeamReviewCause, TeamReviewDecision, TriageRoute
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
    later = clock.now + timedelta(days=30)
    refused(state, a.ScoreGoal(goal_id=plain_goal, attainment=0, next_review_at=later), clock, "has no GAS levels")
    refused(state, a.ScoreGoal(goal_id="nope", attainment=0, next_review_at=later), clock, "no goal nope")
    with pytest.raises(ValidationError, match="a review sets next_review_at"):
        a.ScoreGoal(goal_id=gas_goal, attainment=0)  # a review without the next date would drop the commitment
    with pytest.raises(ValidationError, match="next_review_at is for a review"):
        a.ScoreGoal(goal_id=gas_goal, attainment=0, occasion=GasOccasion.CLOSING, next_review_at=later)
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
    again = clock.now + timedelta(days=200)
    state, decision = do(state, NURSE, a.ScoreGoal(goal_id=gas_goal, attainment=2, next_review_at=again), clock)
    events += decision.events
    record = _record(events)
    [goal] = record.gas_goals()
    assert [level for level, _ in goal.gas_levels()] == [-2, -1, 0, 1, 2]
    assert goal.gas_expected == LEVELS["gas_expected"] and goal.gas_baseline == -1
    assert goal.attained_level == 1  # the closing score stands over a later review's
    assert record.gas_t_score() == pytest.approx(60.0, abs=0.05)
    assert next(g for g in state.goals if g.goal_id == gas_goal).target_date == again  # the later review's date


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


def test_the_closing_score_settles_the_goals_deadlines_and_a_review_moves_them(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    first = clock.now + timedelta(days=5)
    state, decision = do(
        state, NURSE, a.SetGoal(text="Work trial", gas_baseline=-1, target_date=first, **LEVELS), clock
    )
    goal_id = decision.created_ids[0]
    next_review = clock.now + timedelta(days=60)
    state, _ = do(state, NURSE, a.ScoreGoal(goal_id=goal_id, attainment=0, next_review_at=next_review), clock)
    assert {
        d.due_at for d in deadlines.all_deadlines(state) if d.item_id == goal_id and d.kind is DeadlineKind.GOAL_REVIEW
    } == {next_review}
    state, _ = do(state, NURSE, a.ScoreGoal(goal_id=goal_id, attainment=1, occasion=GasOccasion.CLOSING), clock)
    assert not [d for d in deadlines.all_deadlines(state) if d.item_id == goal_id]


def test_a_gas_goal_stays_one_and_its_review_date_is_ahead(clock: Clock) -> None:
    state = in_services(clock)
    refused(
        state,
        a.SetGoal(text="Work trial", gas_baseline=-1, target_date=clock.now - timedelta(days=1), **LEVELS),
        clock,
        "must be in the future",
    )
    state, decision = do(
        state,
        NURSE,
        a.SetGoal(text="Work trial", gas_baseline=-1, target_date=clock.now + timedelta(days=9), **LEVELS),
        clock,
    )
    goal_id = decision.created_ids[0]
    # An update without the levels would silently make it a plain goal whose scores no longer mean anything.
    refused(state, a.SetGoal(goal_id=goal_id, text="Work trial", achieved=True), clock, "is a GAS goal")
    reworded = {**LEVELS, "gas_expected": "Work trial three days a week"}
    state, decision = do(
        state,
        NURSE,
        a.SetGoal(
            goal_id=goal_id, text="Work trial", gas_baseline=-1, target_date=clock.now + timedelta(days=9), **reworded
        ),
        clock,
    )
    [updated] = decision.events
    assert isinstance(updated, GoalSet) and updated.gas_expected == "Work trial three days a week"


def test_an_escalated_gas_review_does_not_escalate_again_once_the_team_decided(clock: Clock) -> None:
    state = in_services(clock, start_services=True)
    state, decision = do(
        state,
        NURSE,
        a.SetGoal(text="Work trial", gas_baseline=-1, target_date=clock.now + timedelta(days=1), **LEVELS),
        clock,
    )
    goal_id = decision.created_ids[0]
    for _ in range(10):
        upcoming, state, _ = fire_next(state, clock)
        if upcoming.kind is DeadlineKind.GOAL_REVIEW_ESCALATION:
            break
    state, _ = do(state, COORDINATOR, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="Score it"), clock)
    assert not state.pending_reviews
    escalations = [
        d
        for d in deadlines.all_deadlines(state)
        if d.item_id == goal_id and d.kind is DeadlineKind.GOAL_REVIEW_ESCALATION
    ]
    assert all(d.key in state.fired_deadline_keys for d in escalations)  # fired once; it stays fired
    upcoming = deadlines.next_deadline(state)
    assert upcoming is None or upcoming.item_id != goal_id


def test_the_end_of_following_the_solution_is_asked_in_sustainment_and_defaults_there_once_it_ended(
    clock: Clock,
) -> None:
    state = in_services(clock, start_services=True)
    refused(
        state, a.RecordWorkAbility(score=6, occasion=WorkAbilityOccasion.OUTCOME), clock, "needs the long-term solution"
    )
    refused(
        state, a.RecordWorkAbility(score=6, occasion=WorkAbilityOccasion.SUSTAINMENT_END), clock, "needs the long-term"
    )
    state, _ = do(state, NURSE, a.RecordOutcome(solution=LongTermSolution.EMPLOYMENT, description="Job"), clock)
    state, decision = do(state, NURSE, a.RecordWorkAbility(score=6), clock)
    [during] = decision.events
    assert isinstance(during, WorkAbilityRecorded) and during.occasion is WorkAbilityOccasion.FOLLOW_UP
    assert state.outcome is not None
    clock.now = state.outcome.sustainment_until + timedelta(hours=1)
    state, decision = do(state, NURSE, a.RecordWorkAbility(score=8), clock)
    [at_end] = decision.events
    assert isinstance(at_end, WorkAbilityRecorded) and at_end.occasion is WorkAbilityOccasion.SUSTAINMENT_END


def test_first_and_latest_follow_when_the_client_answered_and_the_baseline_is_kept(clock: Clock) -> None:
    state, start = started(clock)
    events = list(start.events)
    clock.now += timedelta(days=10)
    declined_at = clock.now - timedelta(days=8)
    state, decision = do(state, COORDINATOR, a.RecordWorkAbility(declined=True, asked_at=declined_at), clock)
    events += decision.events
    state, decision = do(state, COORDINATOR, a.RecordWorkAbility(score=7), clock)
    events += decision.events
    # Recorded later, asked earlier (the paper form from the first meeting).
    early = clock.now - timedelta(days=5)
    state, decision = do(state, COORDINATOR, a.RecordWorkAbility(score=3, asked_at=early), clock)
    events += decision.events
    measured = _record(events).measured()
    assert (measured.work_ability_first.score, measured.work_ability_latest.score) == (3, 7)  # type: ignore[union-attr]
    assert measured.work_ability_change is WorkAbilityChange.IMPROVED
    for _ in range(MAX_WORK_ABILITY_ANSWERS + 3):
        clock.now += timedelta(minutes=1)
        state, decision = do(state, COORDINATOR, a.RecordWorkAbility(score=5), clock)
        events += decision.events
    record = _record(events)
    assert len(record.work_ability) == MAX_WORK_ABILITY_ANSWERS
    assert record.work_ability_scores()[0].score == 3  # the first scored answer stays, though recorded third
    assert any(answer.declined for answer in record.work_ability)  # and the very first answer (declined) too
