"""Work ability measured (issue 36): the client's Work Ability Score and Goal Attainment Scaling, computed in
one place for the rules, the record, the reports and the FHIR export.

- **Work Ability Score (WAS)**: the first item of the Work Ability Index (FIOH): the client's own rating of
  their current work ability against their lifetime best, an integer 0-10. Published bands: poor 0-5,
  moderate 6-7, good or excellent 8-10. "The client did not want to answer" is an answer, not a gap.
- **Goal Attainment Scaling (GAS)**: each goal has five described levels, -2 ... +2, with 0 the expected
  outcome; a pathway's goals combine into a T-score (Kiresuk and Sherman 1968): mean 50, standard deviation
  10 when goals are attained as expected, with the usual inter-goal correlation rho = 0.3.

Pure functions and value types only: no I/O, deterministic, so workflow code may use them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field, model_validator

from models.pathway import ContractModel, Stage

WAS_MIN, WAS_MAX = 0, 10
GAS_LEVELS = (-2, -1, 0, 1, 2)
GAS_EXPECTED = 0
# The correlation between goals' attainment assumed by the T-score (Kiresuk and Sherman's usual value).
GAS_GOAL_CORRELATION = 0.3
# A change of this many points or more is counted as an improvement in the reports.
WAS_MEANINGFUL_CHANGE = 2


class WorkAbilityBand(StrEnum):
    POOR = "poor"  # 0-5
    MODERATE = "moderate"  # 6-7
    GOOD = "good"  # 8-10: good or excellent


class WorkAbilityOccasion(StrEnum):
    """When in the pathway the client was asked (the seeds' flow asks at each of these; any follow-up may)."""

    REFERRAL = "referral"
    TRIAGE = "triage"
    ASSESSMENT = "assessment"
    PLAN = "plan"
    FOLLOW_UP = "follow_up"
    OUTCOME = "outcome"
    SUSTAINMENT_END = "sustainment_end"


# The occasion an answer is filed under when staff do not name one: the moment of the pathway it was given in.
_OCCASION_OF_STAGE = {
    Stage.AWAITING_TRIAGE: WorkAbilityOccasion.TRIAGE,
    Stage.ASSESSMENT: WorkAbilityOccasion.ASSESSMENT,
    Stage.PLANNING: WorkAbilityOccasion.PLAN,
    Stage.IN_SERVICES: WorkAbilityOccasion.FOLLOW_UP,
    Stage.SUSTAINMENT: WorkAbilityOccasion.FOLLOW_UP,
}


def occasion_at(stage: Stage, *, sustainment_ended: bool = False) -> WorkAbilityOccasion:
    """The occasion of an answer given at this stage, when staff did not name it: in sustainment, once its
    period has ended, the answer is the one asked at the end of following the solution."""
    if stage is Stage.SUSTAINMENT and sustainment_ended:
        return WorkAbilityOccasion.SUSTAINMENT_END
    return _OCCASION_OF_STAGE.get(stage, WorkAbilityOccasion.FOLLOW_UP)


# Occasions that need a long-term solution on record (the answer is about it).
AFTER_SOLUTION_OCCASIONS = frozenset({WorkAbilityOccasion.OUTCOME, WorkAbilityOccasion.SUSTAINMENT_END})
# The reports' start: the first scored answer asked at referral, triage or the assessment; the end: the last at the
# long-term solution; after the solution: the last at the end of following it (the sustainment check).
START_OCCASIONS = frozenset({WorkAbilityOccasion.REFERRAL, WorkAbilityOccasion.TRIAGE, WorkAbilityOccasion.ASSESSMENT})
END_OCCASIONS = frozenset({WorkAbilityOccasion.OUTCOME})
AFTER_SOLUTION_OCCASION = WorkAbilityOccasion.SUSTAINMENT_END


class GasOccasion(StrEnum):
    REVIEW = "review"  # at a review date along the way
    CLOSING = "closing"  # the final attainment, at the outcome or when the pathway closes


class WorkAbilityAnswer(ContractModel):
    """The client's answer to "your current work ability against your lifetime best, 0-10": a score, or the
    client's choice not to answer (which is recorded as such, never as a missing value)."""

    score: int | None = Field(default=None, ge=WAS_MIN, le=WAS_MAX, strict=True)
    declined: bool = Field(default=False, description="The client did not want to answer.")

    @model_validator(mode="after")
    def _score_or_declined(self) -> WorkAbilityAnswer:
        if (self.score is None) == (not self.declined):
            raise ValueError(
                "give the score (an integer 0-10), or declined: true when the client did not want to answer; not both"
            )
        return self


def work_ability_band(score: int) -> WorkAbilityBand:
    """The published band of a Work Ability Score."""
    if not WAS_MIN <= score <= WAS_MAX:
        raise ValueError(f"a Work Ability Score is an integer {WAS_MIN}-{WAS_MAX}, not {score}")
    if score <= 5:
        return WorkAbilityBand.POOR
    if score <= 7:
        return WorkAbilityBand.MODERATE
    return WorkAbilityBand.GOOD


class WorkAbilityChange(StrEnum):
    IMPROVED = "improved"  # by WAS_MEANINGFUL_CHANGE points or more
    WORSENED = "worsened"  # by any point
    UNCHANGED = "unchanged"  # within the meaningful change, not lower


def work_ability_change(first: int, last: int) -> WorkAbilityChange:
    """How the score moved from the first answer to the last, as the reports count it."""
    if last - first >= WAS_MEANINGFUL_CHANGE:
        return WorkAbilityChange.IMPROVED
    if last < first:
        return WorkAbilityChange.WORSENED
    return WorkAbilityChange.UNCHANGED


def gas_t_score(
    levels: Sequence[int], weights: Sequence[float] | None = None, *, correlation: float = GAS_GOAL_CORRELATION
) -> float:
    """The Goal Attainment Scaling T-score of a pathway's goals (Kiresuk and Sherman):

        T = 50 + 10 * sum(w_i * x_i) / sqrt((1 - rho) * sum(w_i^2) + rho * (sum(w_i))^2)

    with x_i the attained level of goal i (-2 ... +2), w_i its weight (1 unless given) and rho the assumed
    correlation between goals. Every goal at its expected level (0) gives 50."""
    if not levels:
        raise ValueError("a T-score needs at least one scored goal")
    if any(level not in GAS_LEVELS for level in levels):
        raise ValueError(
            f"a GAS level is one of {GAS_LEVELS}, not {[level for level in levels if level not in GAS_LEVELS]}"
        )
    weights = [1.0] * len(levels) if weights is None else list(weights)
    if len(weights) != len(levels) or any(weight <= 0 for weight in weights):
        raise ValueError("one positive weight per goal")
    weighted = sum(weight * level for weight, level in zip(weights, levels, strict=True))
    spread = math.sqrt((1 - correlation) * sum(weight**2 for weight in weights) + correlation * sum(weights) ** 2)
    return 50 + 10 * weighted / spread


def at_or_above_expected(level: int) -> bool:
    """A goal attained at least as expected (the share the reports show)."""
    return level >= GAS_EXPECTED
