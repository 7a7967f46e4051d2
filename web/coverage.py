"""The plan's services on a time line: when each runs (or is planned to), and the gaps with none.

Drawn on the pathway page as bars with the gaps marked, and said in words beside it (the bars are not the
only way to learn where the gaps are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from models.pathway import ServiceStatus
from models.record import ServiceRecord

# A service with no end in view is drawn this far past today.
OPEN_END = timedelta(days=30)


@dataclass(frozen=True)
class Bar:
    service: ServiceRecord
    start: datetime
    end: datetime
    open_ended: bool
    left: float  # percent of the span
    width: float


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    days: int
    left: float
    width: float


@dataclass(frozen=True)
class Coverage:
    bars: list[Bar]
    gaps: list[Gap]
    start: datetime | None
    end: datetime | None
    today: float | None  # percent of the span where today is


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _interval(service: ServiceRecord, now: datetime) -> tuple[datetime, datetime, bool] | None:
    if service.status is ServiceStatus.CANCELLED:
        return None
    start = _aware(service.started_at or service.planned_start)
    if service.ended_at is not None:
        return start, _aware(service.ended_at), False
    if service.planned_end is not None:
        return start, max(_aware(service.planned_end), start), False
    return start, max(now, start) + OPEN_END, True


def service_coverage(services: Sequence[ServiceRecord], now: datetime) -> Coverage:
    intervals = [(service, *found) for service in services if (found := _interval(service, now)) is not None]
    if not intervals:
        return Coverage([], [], None, None, None)
    start = min(begin for _, begin, _, _ in intervals)
    end = max(max(finish for _, _, finish, _ in intervals), now)
    span = max((end - start).total_seconds(), 1.0)

    def percent(moment: datetime) -> float:
        return round(100 * (moment - start).total_seconds() / span, 2)

    bars = [
        Bar(service, begin, finish, open_ended, percent(begin), max(percent(finish) - percent(begin), 0.5))
        for service, begin, finish, open_ended in sorted(intervals, key=lambda item: item[1])
    ]
    gaps = []
    covered_until = start
    for _, begin, finish, _ in sorted(intervals, key=lambda item: item[1]):
        if begin - covered_until >= timedelta(days=1):
            gaps.append(
                Gap(
                    covered_until,
                    begin,
                    (begin - covered_until).days,
                    percent(covered_until),
                    percent(begin) - percent(covered_until),
                )
            )
        covered_until = max(covered_until, finish)
    return Coverage(bars, gaps, start, end, percent(now) if start <= now <= end else None)
