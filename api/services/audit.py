"""The audit trail of pathway reads and actions: the client's right to know who processed their data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from models.tables import AuditLogEntry, utc_now

AUDIT_TABLE = AuditLogEntry.__table__  # type: ignore[attr-defined]


class AuditOutcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    NOT_FOUND = "not_found"
    REJECTED = "rejected"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


# Built once and executed with parameters, so SQLAlchemy compiles it once. A Core insert, not the ORM: the
# unit of work's flush of one object was most of an audit commit's CPU in the intake's profile.
_INSERT_LINE = insert(AUDIT_TABLE)


def _line(
    at: datetime, staff_id: str, pathway_id: str | None, action: str, purpose: str | None, outcome: AuditOutcome
) -> dict[str, Any]:
    """An audit line's columns, for the Core insert."""
    return {
        "at": at,
        "staff_id": staff_id,
        "pathway_id": pathway_id,
        "action": action,
        "purpose": purpose,
        "outcome": outcome.value,
    }


def insert_line(
    session: Session,
    *,
    staff_id: str,
    pathway_id: str | None,
    action: str,
    outcome: AuditOutcome,
    purpose: str | None = None,
) -> int:
    """Insert one audit line in the session's transaction (the caller commits); its id."""
    values = _line(utc_now(), staff_id, pathway_id, action, purpose, outcome)
    key = session.connection().execute(_INSERT_LINE, values).inserted_primary_key
    assert key is not None
    return int(key[0])


def record(
    session: Session,
    *,
    staff_id: str,
    pathway_id: str | None,
    action: str,
    outcome: AuditOutcome,
    purpose: str | None = None,
    listed: Sequence[str] = (),
) -> None:
    """Write one audit line and commit it at once, so a failing request is still on record.

    In the same commit: one "listed" line per pathway a listing showed (reads are audited per pathway), after
    the action's line, as the lines' ids tell the order.
    """
    insert_line(session, staff_id=staff_id, pathway_id=pathway_id, action=action, outcome=outcome, purpose=purpose)
    if listed:
        at = utc_now()
        # One executemany on the table itself: a caseload lists hundreds of pathways, and the ORM's bulk
        # insert still walks every row in Python (in the benchmark's profile, a third of the audit's time).
        session.connection().execute(
            _INSERT_LINE,
            [_line(at, staff_id, listed_id, "listed", purpose, AuditOutcome.OK) for listed_id in listed],
        )
    session.commit()


def entries_for(session: Session, *, pathway_id: str, limit: int, offset: int) -> list[AuditLogEntry]:
    """A pathway's audit lines, oldest first."""
    return list(
        session.exec(
            select(AuditLogEntry)
            .where(AuditLogEntry.pathway_id == pathway_id)
            .order_by(col(AuditLogEntry.at), col(AuditLogEntry.id))
            .offset(offset)
            .limit(limit)
        )
    )
