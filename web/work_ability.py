"""The pathway page's Work Ability Score chart: the client's answers over time against the published bands.

Drawn on the server as inline SVG (no script, nothing downloaded): the bands carry their names and ranges
as text, every point carries its score, and the page lists the same answers in a table, so nothing is
said by colour alone. Where the seeds' flow asks for the score, the page asks for it after the action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from models.measures import WAS_MAX, GasOccasion, WorkAbilityBand, WorkAbilityOccasion
from models.pathway import Stage
from models.record import PathwayRecord, WorkAbilityRecord

# After these actions the page opens the Work Ability Score form, its occasion chosen (the seeds' moments). The
# answer at the end of following the solution is asked before it is confirmed (`ask_now`): confirming closes.
ASKS_WORK_ABILITY = {
    "triage": WorkAbilityOccasion.TRIAGE,
    "complete_assessment": WorkAbilityOccasion.ASSESSMENT,
    "set_plan": WorkAbilityOccasion.PLAN,
    "record_outcome": WorkAbilityOccasion.OUTCOME,
}

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 28, 190, 10, 26
DATE_LABELS = 6  # at most this many dates under the chart, so they never overlap
# The bands' score ranges, bottom to top: poor 0-5, moderate 6-7, good or excellent 8-10.
BANDS = ((WorkAbilityBand.POOR, 0, 5), (WorkAbilityBand.MODERATE, 6, 7), (WorkAbilityBand.GOOD, 8, 10))


@dataclass(frozen=True)
class Band:
    band: WorkAbilityBand
    y: float
    height: float
    label_y: float


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    answer: WorkAbilityRecord
    dated: bool  # its date is written under the chart


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    bands: list[Band]
    points: list[Point]
    path: str
    ticks: list[tuple[int, float]]


def _y(score: float) -> float:
    """A score's height: the plot spans -0.5 ... 10.5 so the bands meet halfway between whole scores."""
    plot = HEIGHT - TOP - BOTTOM
    return TOP + plot * (1 - (score + 0.5) / (WAS_MAX + 1))


def chart(answers: Sequence[WorkAbilityRecord]) -> Chart | None:
    """The chart of the scored answers in the order they were asked (None before any score)."""
    scored = sorted((answer for answer in answers if answer.score is not None), key=lambda a: (a.asked_at, a.sequence))
    if not scored:
        return None
    plot_right = WIDTH - RIGHT
    step = (plot_right - LEFT) / max(len(scored) - 1, 1)
    every = -(-len(scored) // DATE_LABELS)  # ceiling: the first, then every so many, and never crowded
    points = [
        Point(
            LEFT + (index * step if len(scored) > 1 else (plot_right - LEFT) / 2),
            _y(answer.score or 0),
            answer,
            dated=index % every == 0,
        )
        for index, answer in enumerate(scored)
    ]
    bands = [
        Band(band, _y(high + 0.5), _y(low - 0.5) - _y(high + 0.5), (_y(high + 0.5) + _y(low - 0.5)) / 2 + 4)
        for band, low, high in BANDS
    ]
    path = " ".join(f"{'M' if index == 0 else 'L'}{point.x:.1f},{point.y:.1f}" for index, point in enumerate(points))
    ticks = [(score, _y(score) + 4) for score in (0, 5, 6, 8, 10)]
    return Chart(WIDTH, HEIGHT, LEFT, plot_right, bands, points, path, ticks)


def ask_now(record: PathwayRecord, done: str | None, now: datetime) -> WorkAbilityOccasion | None:
    """When the page asks for the Work Ability Score: right after the actions the seeds ask at, and in
    sustainment once its period has ended, before the solution is confirmed, until the client has answered."""
    if done in ASKS_WORK_ABILITY:
        return ASKS_WORK_ABILITY[done]
    outcome = record.outcome
    if record.stage is Stage.SUSTAINMENT and outcome is not None and outcome.sustainment_until <= now:
        asked = any(
            answer.occasion is WorkAbilityOccasion.SUSTAINMENT_END and answer.asked_at >= outcome.recorded_at
            for answer in record.work_ability
        )
        return None if asked else WorkAbilityOccasion.SUSTAINMENT_END
    return None


def gas_goals_without_closing_score(record: PathwayRecord) -> int:
    """GAS goals not yet scored at closing: the page asks for them at the solution and before closing."""
    return sum(
        1
        for goal in record.gas_goals()
        if not goal.achieved and not any(score.occasion is GasOccasion.CLOSING for score in goal.scores)
    )
