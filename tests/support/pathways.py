"""A pathway driven on a real worker: act as staff, then read what the database recorded (the workflow's
record activity files every decision)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle

from core.crypto import RecordSealer
from models import actions as a
from models.actions import Intake
from models.events import PathwayEvent
from models.pathway import PathwayPolicy, TriageRoute
from models.process import ActionAnswer, ProcessState
from models.record import PathwayRecord
from models.tables import Notification, NotificationChannel, PathwayEventRow, PathwayRow
from records import store
from tests.support.fixtures import Org
from tests.support.helpers import eventually, service
from workflows.actions import BY_FIELDS
from workflows.client import act, get_process, pathway_handle, start_pathway


@dataclass
class DrivenPathway:
    client: Client
    engine: Engine
    sealer: RecordSealer
    pathway_id: str
    last_answer: ActionAnswer | None = None

    @property
    def handle(self) -> WorkflowHandle[Any, Any]:
        return pathway_handle(self.client, self.pathway_id)

    async def do(self, actor: str, fields: BaseModel, *, update_id: str | None = None) -> ActionAnswer:
        """One staff action (the registry's update for this fields model)."""
        action = BY_FIELDS[type(fields)]
        self.last_answer = await act(self.handle, action, actor=actor, fields=fields, update_id=update_id)
        return self.last_answer

    async def process(self) -> ProcessState:
        return await get_process(self.handle)

    def row(self) -> PathwayRow | None:
        with Session(self.engine) as session:
            return session.get(PathwayRow, self.pathway_id)

    async def record(self, *, upto: int | None = None) -> PathwayRecord:
        """The record once the database holds every event decided so far (or up to `upto`)."""
        if upto is None:
            upto = (await self.process()).last_event_sequence

        def written() -> PathwayRecord | None:
            row = self.row()
            if row is None or row.recorded_sequence < upto:
                return None
            return store.open_record(self.sealer, row)

        record: PathwayRecord = await eventually(written, what=f"record of {self.pathway_id} up to event {upto}")
        return record

    async def settled(self) -> ProcessState:
        """The process once everything it decided (events, notices, status) is in the database."""

        async def done() -> ProcessState | None:
            process = await self.process()
            # Everything must have left the workflow's state: its record activity has completed.
            return process if not process.unrecorded_events and not process.pending_notices else None

        process: ProcessState = await eventually(done, what=f"{self.pathway_id} settled")
        return process

    def events(self) -> list[PathwayEvent]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(PathwayEventRow)
                .where(col(PathwayEventRow.pathway_id) == self.pathway_id)
                .order_by(col(PathwayEventRow.sequence))
            ).all()
            return [store.event_of_row(self.sealer, row) for row in rows]

    def inbox(self, recipient: str | None = None) -> list[Notification]:
        with Session(self.engine) as session:
            statement = select(Notification).where(
                col(Notification.pathway_id) == self.pathway_id, col(Notification.channel) == NotificationChannel.INBOX
            )
            if recipient is not None:
                statement = statement.where(col(Notification.recipient) == recipient)
            return list(session.scalars(statement.order_by(col(Notification.id))).all())


async def start_driven(
    client: Client,
    task_queue: str,
    engine: Engine,
    sealer: RecordSealer,
    intake: Intake,
    *,
    registered_by: str,
    policy: PathwayPolicy | None = None,
    pathway_id: str | None = None,
) -> DrivenPathway:
    pathway_id = pathway_id or f"pathway-{intake.client_reference}"
    await start_pathway(
        client, task_queue, pathway_id=pathway_id, intake=intake, registered_by=registered_by, policy=policy
    )
    return DrivenPathway(client=client, engine=engine, sealer=sealer, pathway_id=pathway_id)


async def in_services(pathway: DrivenPathway, org: Org) -> None:
    """Triaged to a health check with the nurse as case manager, assessed, and one service planned."""
    nurse = org.nurse.staff_id
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.CompleteAssessment(summary="s", recommendation="r"))
    await pathway.do(nurse, a.SetPlan(services=[service()]))
