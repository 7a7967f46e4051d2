"""A pathway driven on a real worker: act as staff, then read what the database recorded.

With a `filer`, actions go the staff API's way: the update's answer hands the decisions back and they are
filed from it (`hand_over` and `file` separately, to lose an answer on purpose); without, the workflow's
record activity files them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle

from core.crypto import RecordSealer
from core.db import session_scope
from models import actions as a
from models.actions import Intake
from models.effects import ActionOutcome, RecordBatch
from models.events import PathwayEvent
from models.pathway import PathwayPolicy, TriageRoute
from models.process import ActionAnswer, ProcessState
from models.record import PathwayRecord
from models.tables import Notification, NotificationChannel, PathwayEventRow, PathwayRow
from records import store
from records.filing import RecordFiler
from tests.support.fixtures import Org
from tests.support.helpers import eventually, service
from workflows.actions import BY_FIELDS
from workflows.client import act, act_and_hand_over, get_process, pathway_handle, start_pathway


@dataclass
class DrivenPathway:
    client: Client
    engine: Engine
    sealer: RecordSealer
    pathway_id: str
    last_answer: ActionAnswer | None = None
    filer: RecordFiler | None = None

    @property
    def handle(self) -> WorkflowHandle[Any, Any]:
        return pathway_handle(self.client, self.pathway_id)

    async def do(self, actor: str, fields: BaseModel, *, update_id: str | None = None) -> ActionAnswer:
        """One staff action (the registry's update for this fields model)."""
        if self.filer is None:
            self.last_answer = await act(
                self.handle, BY_FIELDS[type(fields)], actor=actor, fields=fields, update_id=update_id
            )
            return self.last_answer
        outcome = await self.hand_over(actor, fields, update_id=update_id)
        if outcome.record is not None:
            self.file(outcome.record)
        self.last_answer = outcome.answer()
        return self.last_answer

    async def hand_over(self, actor: str, fields: BaseModel, *, update_id: str | None = None) -> ActionOutcome:
        """The action as the staff API runs it, up to the answer: what it hands over is not filed yet."""
        row = self.row()
        return await act_and_hand_over(
            self.handle,
            BY_FIELDS[type(fields)],
            actor=actor,
            fields=fields,
            recorded_sequence=row.recorded_sequence if row else 0,
            update_id=update_id,
        )

    def file(self, batch: RecordBatch) -> None:
        assert self.filer is not None
        with session_scope(self.engine) as session:
            self.filer.file(session, batch)

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
            row = self.row()
            # What an answer handed over counts once the database holds it, though the workflow learns it later;
            # anything else must have left the workflow's state (its record activity has completed).
            filed = row is not None and row.recorded_sequence >= process.handed_upto
            handed = set(process.handed_notices) if filed else set()
            upto = process.handed_upto if filed else 0
            unfiled = [event for event in process.unrecorded_events if event.sequence > upto]
            pending = [notice for notice in process.pending_notices if notice.key not in handed]
            return process if not unfiled and not pending else None

        process: ProcessState = await eventually(done, what=f"{self.pathway_id} settled")
        return process

    def events(self) -> list[PathwayEvent]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(PathwayEventRow)
                .where(col(PathwayEventRow.pathway_id) == self.pathway_id)
                .order_by(col(PathwayEventRow.sequence))
            ).all()
            return [event for row in rows if (event := store.event_of_row(self.sealer, row)) is not None]

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
    filer: RecordFiler | None = None,
) -> DrivenPathway:
    pathway_id = pathway_id or f"pathway-{intake.client_reference}"
    await start_pathway(
        client, task_queue, pathway_id=pathway_id, intake=intake, registered_by=registered_by, policy=policy
    )
    return DrivenPathway(client=client, engine=engine, sealer=sealer, pathway_id=pathway_id, filer=filer)


async def in_services(pathway: DrivenPathway, org: Org) -> None:
    """Triaged to a health check with the nurse as case manager, assessed, and one service planned."""
    nurse = org.nurse.staff_id
    await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
    await pathway.do(nurse, a.CompleteAssessment(summary="s", recommendation="r"))
    await pathway.do(nurse, a.SetPlan(services=[service()]))
