"""The codec server's rules in this product: the same as reading a pathway through the API.

A pathway's payloads are readable by the professionals and coordinators of its team (never by an
administrator); payloads of the upkeep workflows (record retention, outbox sweep), which name no client, by
coordinators. A payload bound to no workflow is read by nobody. Every decode becomes audit lines per pathway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.codec import CodecDecodeAudit, decode_audit_entries
from api.services.staff import StaffMember
from core.db import session_scope
from models.pathway import WORKFLOW_ID_PREFIX
from models.tables import PathwayRow


class PathwayCodecAccess:
    def __init__(self, engine: Callable[[], Engine]) -> None:
        # The app's engine is made in its lifespan, after the router: looked up when a request comes.
        self._engine = engine

    async def readable(self, principal: Any, workflow_ids: set[str]) -> set[str]:
        staff: StaffMember = principal
        if not staff.reads_pathways:
            return set()
        pathways = {workflow_id for workflow_id in workflow_ids if workflow_id.startswith(WORKFLOW_ID_PREFIX)}
        teams = await asyncio.to_thread(self._teams_of, pathways) if pathways else {}
        readable = {pathway_id for pathway_id, team in teams.items() if team in staff.teams}
        if staff.is_coordinator:
            readable |= workflow_ids - pathways
        return readable

    def _teams_of(self, pathway_ids: set[str]) -> dict[str, str]:
        with Session(self._engine()) as session:
            rows = session.exec(
                select(PathwayRow.pathway_id, PathwayRow.team).where(col(PathwayRow.pathway_id).in_(pathway_ids))
            ).all()
        return dict(rows)

    async def audit(self, record: CodecDecodeAudit) -> None:
        staff: StaffMember = record.principal
        await asyncio.to_thread(self._write, record, staff.staff_id)

    def _write(self, record: CodecDecodeAudit, staff_id: str) -> None:
        with session_scope(self._engine()) as session:
            session.add_all(decode_audit_entries(record, staff_id))
