"""The audit trail of pathway reads and actions: the client's right to know who processed their data."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, col, select

from models.tables import AuditLogEntry


class AuditOutcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    NOT_FOUND = "not_found"
    REJECTED = "rejected"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


def record(session: Session, *, staff_id: str, pathway_id: str | None, action: str, outcome: AuditOutcome) -> None:
    """Write one audit line and commit it at once, so a failing request is still on record."""
    session.add(AuditLogEntry(staff_id=staff_id, pathway_id=pathway_id, action=action, outcome=outcome.value))
    session.commit()


def record_many(session: Session, *, staff_id: str, pathway_ids: list[str], action: str) -> None:
    """One audit line per pathway a listing showed."""
    for pathway_id in pathway_ids:
        session.add(AuditLogEntry(staff_id=staff_id, pathway_id=pathway_id, action=action, outcome=AuditOutcome.OK))
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
