"""The client's plan summary from the pathway's record, its case manager and its team (`client.summary` makes
it; the routes audit the read with its purpose)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import Client

from api.access import PathwayGrant
from api.services import pathways as pathway_service
from client.summary import PlanSummary, plan_summary
from core.crypto import RecordSealer
from models.tables import Staff, Team


async def summary_of(*, client: Client, sealer: RecordSealer, grant: PathwayGrant) -> PlanSummary:
    record = await pathway_service.read(client=client, sealer=sealer, grant=grant)

    def people() -> tuple[Staff | None, Team]:
        session = grant.session
        manager = session.get(Staff, record.case_manager) if record.case_manager else None
        team = session.get(Team, record.team)
        assert team is not None, "a pathway's team is in the register"
        return manager, team

    manager, team = await asyncio.to_thread(people)
    return plan_summary(record, case_manager=manager, team=team, now=datetime.now(UTC))
