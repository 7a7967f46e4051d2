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
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, distinct, func, or_
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
# What reads client data: the API's and the pages' reads (read_*), the FHIR export and the Web UI's decodes.
READ_PREFIX = "read_"
# Administrators' changes to who someone is: worth a look whatever their number.
IDENTITY_ACTIONS = ("link_identity:", "unlink_identity:")
CSV_COLUMNS = ("at", "staff_id", "pathway_id", "action", "purpose", "outcome")
# A cell a spreadsheet would take for a formula (OWASP "CSV injection"): written as text instead.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
            # An action name, or its family: "read" finds read_record, read_timeline ...; "update_partner" finds
            # update_partner:<team>/<partner>; "codec" finds codec.decode.
            action = col(AuditLogEntry.action)
            statement = statement.where(
                (action == self.action)
                | action.startswith(f"{self.action}_", autoescape=True)
                | action.startswith(f"{self.action}:", autoescape=True)
                | action.startswith(f"{self.action}.", autoescape=True)
            )
        if self.outcome:
            statement = statement.where(col(AuditLogEntry.outcome) == self.outcome)
        # In UTC, as the lines are kept (SQLite compares the text).
        if self.since is not None:
            statement = statement.where(col(AuditLogEntry.at) >= self.since.astimezone(UTC))
        if self.until is not None:
            statement = statement.where(col(AuditLogEntry.at) < self.until.astimezone(UTC))
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
                    _cell(value)
                    for value in (
                        _utc_text(entry.at),
                        entry.staff_id,
                        entry.pathway_id or "",
                        entry.action,
                        entry.purpose or "",
                        entry.outcome,
                    )
                ]
            )
        yield buffer.getvalue()
        last_id = page[-1].id or last_id


class SignalKind(StrEnum):
    REFUSED_ATTEMPTS = "refused_attempts"
    IDENTITY_CHANGES = "identity_changes"
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
    not theirs), administrators' changes to whom an account signs in as, many pathways read that are not the
    reader's own case, reads at night (Finnish time). Counted in the database, but for the night's hours."""
    since = max(since, until - MAX_SIGNAL_PERIOD)
    period = AuditFilter(since=since, until=until)
    line = AuditLogEntry
    found: list[Signal] = []

    def grouped(condition: Any, counted: Any) -> list[tuple[str, int, datetime, datetime]]:
        statement = (
            period.apply(select(col(line.staff_id), counted, func.min(col(line.at)), func.max(col(line.at))))
            .where(condition)
            .group_by(col(line.staff_id))
        )
        return [tuple(row) for row in session.exec(statement)]  # type: ignore[call-overload]

    for staff_id, count, first, last in grouped(col(line.outcome).in_(REFUSED_OUTCOMES), func.count()):
        found.append(
            Signal(
                SignalKind.REFUSED_ATTEMPTS,
                staff_id,
                count,
                first,
                last,
                f"{count} request(s) refused (denied or no such pathway)",
            )
        )
    changes = or_(*(col(line.action).startswith(prefix) for prefix in IDENTITY_ACTIONS))
    for staff_id, count, first, last in grouped(changes, func.count()):
        found.append(
            Signal(
                SignalKind.IDENTITY_CHANGES,
                staff_id,
                count,
                first,
                last,
                f"{count} change(s) to the identity a staff member signs in as",
            )
        )
    # Reads of a pathway (not a listing's line for it) whose case manager is someone else.
    reads = or_(col(line.action).startswith(READ_PREFIX), col(line.action).in_(("export_fhir", "codec.decode")))
    not_own = (
        period.apply(
            select(
                col(line.staff_id),
                func.count(distinct(col(line.pathway_id))),
                func.min(col(line.at)),
                func.max(col(line.at)),
            )
        )
        .join(PathwayRow, col(PathwayRow.pathway_id) == col(line.pathway_id))
        .where(
            reads,
            col(line.outcome) == "ok",
            or_(col(PathwayRow.case_manager).is_(None), col(PathwayRow.case_manager) != col(line.staff_id)),
        )
        .group_by(col(line.staff_id))
        .having(func.count(distinct(col(line.pathway_id))) > OUTSIDE_CASELOAD_THRESHOLD)
    )
    for staff_id, count, first, last in session.exec(not_own):  # type: ignore[call-overload]
        found.append(
            Signal(
                SignalKind.OUTSIDE_CASELOAD,
                staff_id,
                count,
                first,
                last,
                f"{count} pathways read that are not their own case "
                f"(more than {OUTSIDE_CASELOAD_THRESHOLD}; a supervising coordinator may have reason)",
            )
        )
    # The night is in Finnish time, which SQLite cannot tell: the period's reads are walked, in pages.
    night: dict[str, list[datetime]] = defaultdict(list)
    statement = period.apply(select(col(line.staff_id), col(line.at))).where(reads, col(line.pathway_id).is_not(None))
    for staff_id, at in session.execute(statement.execution_options(yield_per=2000)):
        if _at_night(at):
            night[staff_id].append(at)
    for staff_id, moments in night.items():
        found.append(
            Signal(
                SignalKind.NIGHT_READS,
                staff_id,
                len(moments),
                min(moments),
                max(moments),
                f"{len(moments)} pathway read(s) between {NIGHT_STARTS:%H:%M} and {NIGHT_ENDS:%H:%M} Finnish time",
            )
        )
    order = list(SignalKind)
    return sorted(found, key=lambda signal: (order.index(signal.kind), -signal.count, signal.staff_id))


def _cell(value: str) -> str:
    """A CSV cell that a spreadsheet shows as text: a purpose is typed by whoever made the request."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _local(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TIME)


def _at_night(moment: datetime) -> bool:
    clock = _local(moment).time()
    return clock >= NIGHT_STARTS or clock < NIGHT_ENDS


def _utc_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()
