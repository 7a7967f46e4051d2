"""Log monitoring for the data protection officer: the audit log across teams, filtered, as CSV, with the
patterns worth a look listed first.

The officer reads who did what to which pathway, when, why and with what outcome: staff ids, pseudonymous
pathway ids, action names, purposes and outcomes. Never client data: no record, no event, no free text is
read here, and the officer's role reads no pathway anywhere else (`StaffMember.reads_pathways`).

The patterns are prompts for a human to look at, not verdicts: a coordinator supervising a team reads many
cases that are not their own, and a nurse on a late shift reads at night. Each says what was counted.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from models.tables import AuditLogEntry, PathwayRow

# Where "night" is read: the wellbeing services counties are in Finland.
LOCAL_TIME = ZoneInfo("Europe/Helsinki")
NIGHT_STARTS = time(22, 0)
NIGHT_ENDS = time(6, 0)
# A member reading more pathways that are not their own case than this in the period is listed.
OUTSIDE_CASELOAD_THRESHOLD = 20
# How long a period the patterns look at, at most (the filters of the log itself are not bounded).
MAX_SIGNAL_PERIOD = timedelta(days=92)
REFUSED_OUTCOMES = ("denied", "not_found")
CSV_COLUMNS = ("at", "staff_id", "pathway_id", "action", "purpose", "outcome")


@dataclass(frozen=True)
class AuditFilter:
    staff_id: str | None = None
    pathway_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, statement: Select) -> Select:  # type: ignore[type-arg]
        if self.staff_id:
            statement = statement.where(col(AuditLogEntry.staff_id) == self.staff_id)
        if self.pathway_id:
            statement = statement.where(col(AuditLogEntry.pathway_id) == self.pathway_id)
        if self.action:
            # An action name, or its family: "read" finds read_record, read_timeline ...
            statement = statement.where(
                (col(AuditLogEntry.action) == self.action) | col(AuditLogEntry.action).startswith(f"{self.action}_")
            )
        if self.outcome:
            statement = statement.where(col(AuditLogEntry.outcome) == self.outcome)
        if self.since is not None:
            statement = statement.where(col(AuditLogEntry.at) >= self.since)
        if self.until is not None:
            statement = statement.where(col(AuditLogEntry.at) < self.until)
        return statement


def entries(session: Session, where: AuditFilter, *, limit: int, offset: int) -> tuple[int, list[AuditLogEntry]]:
    """The matching lines, newest first, and how many match in all."""
    total = session.scalar(where.apply(select(func.count()).select_from(AuditLogEntry))) or 0
    statement = where.apply(select(AuditLogEntry)).order_by(col(AuditLogEntry.at).desc(), col(AuditLogEntry.id).desc())
    return int(total), list(session.exec(statement.offset(offset).limit(limit)))  # type: ignore[call-overload]


def csv_lines(session: Session, where: AuditFilter) -> Iterator[str]:
    """The matching lines as CSV, oldest first, streamed in pages (a year's log does not fit in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    last_id = 0
    while True:
        page = list(
            session.exec(
                where.apply(select(AuditLogEntry))  # type: ignore[call-overload]
                .where(col(AuditLogEntry.id) > last_id)
                .order_by(col(AuditLogEntry.id))
                .limit(1000)
            )
        )
        if not page:
            return
        buffer.seek(0)
        buffer.truncate()
        for entry in page:
            writer.writerow(
                [
                    _utc_text(entry.at),
                    entry.staff_id,
                    entry.pathway_id or "",
                    entry.action,
                    entry.purpose or "",
                    entry.outcome,
                ]
            )
        yield buffer.getvalue()
        last_id = page[-1].id or last_id


class SignalKind(StrEnum):
    REFUSED_ATTEMPTS = "refused_attempts"
    OUTSIDE_CASELOAD = "outside_caseload"
    NIGHT_READS = "night_reads"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    staff_id: str
    count: int
    first_at: datetime
    last_at: datetime
    description: str


def signals(session: Session, *, since: datetime, until: datetime) -> list[Signal]:
    """Patterns worth a look in the period, most telling first: refused attempts (someone trying pathways
    not theirs), many pathways read that are not the reader's own case, reads at night (Finnish time)."""
    since = max(since, until - MAX_SIGNAL_PERIOD)
    period = AuditFilter(since=since, until=until)
    found: list[Signal] = []

    refused: dict[str, list[datetime]] = defaultdict(list)
    for staff_id, at in session.exec(
        period.apply(select(AuditLogEntry.staff_id, AuditLogEntry.at)).where(  # type: ignore[call-overload]
            col(AuditLogEntry.outcome).in_(REFUSED_OUTCOMES)
        )
    ):
        refused[staff_id].append(at)
    for staff_id, moments in refused.items():
        found.append(
            Signal(
                SignalKind.REFUSED_ATTEMPTS,
                staff_id,
                len(moments),
                min(moments),
                max(moments),
                f"{len(moments)} request(s) refused (denied or no such pathway)",
            )
        )

    # Reads of a pathway (not the caseload's listing of it) whose case manager is someone else.
    reads = (
        period.apply(select(AuditLogEntry.staff_id, AuditLogEntry.pathway_id, AuditLogEntry.at))  # type: ignore[call-overload]
        .join(PathwayRow, col(PathwayRow.pathway_id) == col(AuditLogEntry.pathway_id))
        .where(
            col(AuditLogEntry.action).startswith("read_"),
            col(AuditLogEntry.outcome) == "ok",
            (col(PathwayRow.case_manager).is_(None)) | (col(PathwayRow.case_manager) != col(AuditLogEntry.staff_id)),
        )
    )
    outside: dict[str, set[str]] = defaultdict(set)
    outside_moments: dict[str, list[datetime]] = defaultdict(list)
    for staff_id, pathway_id, at in session.exec(reads):
        outside[staff_id].add(pathway_id)
        outside_moments[staff_id].append(at)
    for staff_id, pathways in outside.items():
        if len(pathways) > OUTSIDE_CASELOAD_THRESHOLD:
            moments = outside_moments[staff_id]
            found.append(
                Signal(
                    SignalKind.OUTSIDE_CASELOAD,
                    staff_id,
                    len(pathways),
                    min(moments),
                    max(moments),
                    f"{len(pathways)} pathways read that are not their own case "
                    f"(more than {OUTSIDE_CASELOAD_THRESHOLD}; a supervising coordinator may have reason)",
                )
            )

    night: Counter[str] = Counter()
    night_moments: dict[str, list[datetime]] = defaultdict(list)
    for staff_id, at in session.exec(
        period.apply(select(AuditLogEntry.staff_id, AuditLogEntry.at)).where(  # type: ignore[call-overload]
            col(AuditLogEntry.pathway_id).is_not(None), col(AuditLogEntry.action).startswith("read_")
        )
    ):
        if _at_night(at):
            night[staff_id] += 1
            night_moments[staff_id].append(at)
    for staff_id, count in night.items():
        moments = night_moments[staff_id]
        found.append(
            Signal(
                SignalKind.NIGHT_READS,
                staff_id,
                count,
                min(moments),
                max(moments),
                f"{count} pathway read(s) between {NIGHT_STARTS:%H:%M} and {NIGHT_ENDS:%H:%M} Finnish time",
            )
        )
    order = list(SignalKind)
    return sorted(found, key=lambda signal: (order.index(signal.kind), -signal.count, signal.staff_id))


def _local(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TIME)


def _at_night(moment: datetime) -> bool:
    clock = _local(moment).time()
    return clock >= NIGHT_STARTS or clock < NIGHT_ENDS


def _utc_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()
