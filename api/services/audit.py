"""The audit trail of pathway reads and actions: the client's right to know who processed their data."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

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

    In the same commit: one "listed" line per pathway a listing showed (reads are audited per pathway).
    """
    session.add(
        AuditLogEntry(staff_id=staff_id, pathway_id=pathway_id, action=action, purpose=purpose, outcome=outcome.value)
    )
    if listed:
        at = utc_now()
        session.flush()  # the action's line first, as the lines' ids tell the order
        # One executemany on the table itself: a caseload lists hundreds of pathways, and the ORM's bulk
        # insert still walks every row in Python (in the benchmark's profile, a third of the audit's time).
        session.connection().execute(
            insert(AUDIT_TABLE),
            [
                {
                    "at": at,
                    "staff_id": staff_id,
                    "pathway_id": listed_id,
                    "action": "listed",
                    "purpose": purpose,
                    "outcome": "ok",
                }
                for listed_id in listed
            ],
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
