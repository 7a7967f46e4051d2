"""Work Ability Score bands and change, and the GAS T-score, against hand-worked values (issue 36)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from models.measures import (
    WorkAbilityAnswer,
    WorkAbilityBand,
    WorkAbilityChange,
    at_or_above_expected,
    gas_t_score,
    work_ability_band,
    work_ability_change,
)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        # One goal: the spread is sqrt(0.7 + 0.3) = 1, so each level is ten points.
        ((1,), 60.0),
        ((-2,), 30.0),
        ((2,), 70.0),
        # Two goals, +1 and +2: 50 + 10 * 3 / sqrt(0.7 * 2 + 0.3 * 4) = 50 + 30 / sqrt(2.6).
        ((1, 2), 68.605210),
        # Five goals, 0 +1 -1 +2 +1: 50 + 10 * 3 / sqrt(0.7 * 5 + 0.3 * 25) = 50 + 30 / sqrt(11).
        ((0, 1, -1, 2, 1), 59.045340),
    ],
)
def test_the_t_score_matches_the_hand_worked_examples(levels: tuple[int, ...], expected: float) -> None:
    assert gas_t_score(levels) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("goals", range(1, 8))
def test_every_goal_at_its_expected_level_gives_fifty(goals: int) -> None:
    assert gas_t_score([0] * goals) == 50.0


def test_weights_count_as_kiresuk_and_sherman_wrote_them() -> None:
    # Weights 2 and 1, levels +1 and -1: 50 + 10 * (2 - 1) / sqrt(0.7 * 5 + 0.3 * 9) = 50 + 10 / sqrt(6.2).
    assert gas_t_score([1, -1], [2, 1]) == pytest.approx(50 + 10 / math.sqrt(6.2))
    assert gas_t_score([1, -1], [1, 1]) == 50.0


@pytest.mark.parametrize(
    ("levels", "weights", "message"),
    [
        ((), None, "at least one"),
        ((3,), None, "GAS level"),
        ((1, 1), (1,), "one positive weight"),
        ((1,), (0,), "one positive weight"),
    ],
)
def test_a_t_score_of_nothing_or_of_impossible_levels_is_refused(
    levels: tuple[int, ...], weights: tuple[float, ...] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        gas_t_score(levels, weights)


def test_at_or_above_the_expected_level() -> None:
    assert [at_or_above_expected(level) for level in (-2, -1, 0, 1, 2)] == [False, False, True, True, True]


def test_the_published_bands() -> None:
    assert [work_ability_band(score) for score in range(11)] == [WorkAbilityBand.POOR] * 6 + [
        WorkAbilityBand.MODERATE
    ] * 2 + [WorkAbilityBand.GOOD] * 3
    for outside in (-1, 11):
        with pytest.raises(ValueError, match="integer 0-10"):
            work_ability_band(outside)


@pytest.mark.parametrize(
    ("first", "last", "change"),
    [
        (3, 5, WorkAbilityChange.IMPROVED),
        (0, 10, WorkAbilityChange.IMPROVED),
        (3, 4, WorkAbilityChange.UNCHANGED),
        (5, 5, WorkAbilityChange.UNCHANGED),
        (5, 4, WorkAbilityChange.WORSENED),
        (9, 2, WorkAbilityChange.WORSENED),
    ],
)
def test_a_change_of_two_points_is_an_improvement_and_any_drop_a_worsening(
    first: int, last: int, change: WorkAbilityChange
) -> None:
    assert work_ability_change(first, last) is change


def test_an_answer_is_a_score_from_0_to_10_or_the_clients_choice_not_to_answer() -> None:
    assert WorkAbilityAnswer(score=7).score == 7
    assert WorkAbilityAnswer(declined=True).score is None
    for wrong in ({"score": 11}, {"score": -1}, {"score": "7"}, {"score": 7.5}, {}, {"score": 7, "declined": True}):
        with pytest.raises(ValidationError):
            WorkAbilityAnswer.model_validate(wrong)
