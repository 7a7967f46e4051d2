"""A real SQLite database file with two teams and their staff, for the service and route tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from core.db import build_engine
from models.tables import AuditLogEntry, Staff, StaffRole, StaffTeam, Team

EURA, PORI = "eura-team", "pori-team"
EURA_COORDINATOR, PORI_COORDINATOR = "coordinator.aalto", "coordinator.berg"
EURA_NURSE, ADMIN = "nurse.virtanen", "admin.root"


def staff_database(path: Path) -> Engine:
    engine = build_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Team(team_id=EURA, name="Eura"), Team(team_id=PORI, name="Pori")])
        for staff_id, role, team in (
            (EURA_COORDINATOR, StaffRole.COORDINATOR, EURA),
            (PORI_COORDINATOR, StaffRole.COORDINATOR, PORI),
            (EURA_NURSE, StaffRole.PROFESSIONAL, EURA),
            (ADMIN, StaffRole.ADMIN, None),
        ):
            session.add(Staff(staff_id=staff_id, display_name=staff_id, role=role))
            session.flush()
            if team:
                session.add(StaffTeam(staff_id=staff_id, team_id=team))
        session.commit()
    return engine


def audit_entries(engine: Engine) -> list[AuditLogEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLogEntry).order_by(AuditLogEntry.id)).all())  # type: ignore[arg-type]
