"""Measures the reports share: durations in days with their median and nearest-rank p90, shares, and the
referral cohort's dates (one place, so the outcome and the programme figures define them alike)."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from models.tables import PathwayEventRow

_SECONDS_PER_DAY = 86400.0


class DurationSummary(BaseModel):
    count: int = Field(description="How many pathways the durations are over.")
    median_days: float | None = None
    p90_days: float | None = Field(default=None, description="Nearest-rank 90th percentile.")


class Share(BaseModel):
    count: int
    share: float | None = Field(description="count / the denominator named by the figure; None if that is 0.")


def aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; everything the product writes is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def referred_at_of(referral: PathwayEventRow) -> datetime:
    stated = referral.details.get("referred_at")
    return aware(datetime.fromisoformat(stated)) if stated else aware(referral.at)


def in_period(moment: datetime, period_from: datetime | None, period_to: datetime | None) -> bool:
    return (period_from is None or moment >= aware(period_from)) and (period_to is None or moment < aware(period_to))


def nearest_rank(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def durations(days: list[float]) -> DurationSummary:
    if not days:
        return DurationSummary(count=0)
    return DurationSummary(
        count=len(days), median_days=round(statistics.median(days), 2), p90_days=round(nearest_rank(days, 90), 2)
    )


def share(count: int, of: int) -> Share:
    return Share(count=count, share=round(count / of, 4) if of else None)


def days_between(start: datetime, end: datetime) -> float:
    return (aware(end) - start).total_seconds() / _SECONDS_PER_DAY
