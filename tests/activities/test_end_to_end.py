"""A pathway on the real Temporal dev server with a worker on the SQL effect store: each event lands in
the read model once, e-mails arrive once at a real SMTP server, and no client data leaves in them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.delivery import Delivery, SmtpSender, WebhookSender
from activities.pathway_activities import PathwayActivities
from activities.sql_store import SqlEffectStore
from ops.admin import deactivate_staff
from core.temporal import workflow_runner
from models.pathway import (
    AssignCaseManagerInput,
    DecideTeamReviewInput,
    EventKind,
    PathwayState,
    RequestTeamReviewInput,
    SetGoalInput,
    TeamReviewDecision,
    TriageInput,
    TriageRoute,
)
from models.tables import Notification, PathwayEventRecord, StaffRole
from tests.db_fixtures import SmtpInbox, add_staff, add_team
from tests.workflows.helpers import COORDINATOR, NURSE, SOCIAL_WORKER, TEAM, eventually, intake, start
from workflows.pathway import PathwayWorkflow

CLIENT_DATA = "Marker7731 lives alone and lost a job at the sawmill"
GOAL = "Marker7731 wants to retrain as a carpenter"


@asynccontextmanager
async def sql_worker(client: Client, task_queue: str, engine: Engine, inbox: SmtpInbox) -> AsyncIterator[None]:
    store = SqlEffectStore(engine, Delivery(email=SmtpSender(inbox.settings()), webhook=WebhookSender(5)))
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[PathwayWorkflow],
        workflow_runner=workflow_runner(),
        activities=PathwayActivities(store).all(),
        # No cache: the second worker must rebuild the pathway by replaying its history.
        max_cached_workflows=0,
    ):
        yield


def _recorded_sequences(engine: Engine, pathway_id: str) -> list[int]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(PathwayEventRecord.sequence)
                .where(PathwayEventRecord.pathway_id == pathway_id)
                .order_by(col(PathwayEventRecord.sequence))
            ).all()
        )


async def _all_events_recorded(engine: Engine, handle: WorkflowHandle[PathwayWorkflow, PathwayState]) -> bool:
    state = await handle.query(PathwayWorkflow.get_state)
    return _recorded_sequences(engine, handle.id) == [event.sequence for event in state.events]


async def test_pathway_with_sql_store_records_each_event_once_and_emails_the_case_manager_once(
    client: Client, task_queue: str, migrated_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR, email="aalto@example.org")
    add_staff(migrated_engine, NURSE, TEAM, email="virtanen@example.org")
    add_staff(migrated_engine, SOCIAL_WORKER, TEAM, email="nieminen@example.org")

    async with sql_worker(client, task_queue, migrated_engine, smtp_inbox):
        handle = await start(client, task_queue, intake().model_copy(update={"reason": CLIENT_DATA}))
        await handle.execute_update(
            PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
        )
        await handle.execute_update(PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text=GOAL))
        await eventually(lambda: _all_events_recorded(migrated_engine, handle), what="every event in the read model")
        await eventually(lambda: smtp_inbox.to("virtanen@example.org"), what="the assignment e-mail")

    # A new worker replays the history before the handover; nothing already done happens again.
    async with sql_worker(client, task_queue, migrated_engine, smtp_inbox):
        await handle.execute_update(
            PathwayWorkflow.assign_case_manager,
            AssignCaseManagerInput(actor=COORDINATOR, case_manager=SOCIAL_WORKER, reason="social work need"),
        )
        await eventually(lambda: _all_events_recorded(migrated_engine, handle), what="the handover in the read model")
        await eventually(lambda: smtp_inbox.to("nieminen@example.org"), what="the handover e-mail")
        await eventually(lambda: len(smtp_inbox.to("virtanen@example.org")) == 2, what="the handover-from e-mail")
        state = await handle.query(PathwayWorkflow.get_state)

    sequences = _recorded_sequences(migrated_engine, handle.id)
    assert sequences == [event.sequence for event in state.events]
    assert len(sequences) == len(set(sequences))
    kinds = [event.kind for event in state.events]
    assert EventKind.CASE_MANAGER_ASSIGNED in kinds and EventKind.CASE_MANAGER_CHANGED in kinds

    assert [m["Subject"] for m in smtp_inbox.to("virtanen@example.org")] == [
        f"Sinut on nimetty asiakasvastaavaksi: {handle.id}",
        f"Asiakasvastaavuus siirtyy toiselle: {handle.id}",
    ]
    assert [m["Subject"] for m in smtp_inbox.to("nieminen@example.org")] == [
        f"Sinulle on siirretty asiakasvastaavuus: {handle.id}"
    ]
    assert [m["Subject"] for m in smtp_inbox.to("aalto@example.org")] == [
        f"Uusi lähete odottaa tiimin käsittelyä: {handle.id}"
    ]

    with Session(migrated_engine) as session:
        rows = session.exec(select(Notification).where(Notification.pathway_id == handle.id)).all()
        events = session.exec(select(PathwayEventRecord).where(PathwayEventRecord.pathway_id == handle.id)).all()
    assert len(rows) == 8  # four notifications, each to the inbox and by e-mail
    outgoing = [row.subject + row.body for row in rows] + [m["Subject"] + m.get_content() for m in smtp_inbox.messages]
    stored = [event.summary + str(event.details) for event in events]
    assert not any("Marker7731" in text for text in outgoing + stored)


async def test_after_the_case_manager_leaves_their_pathways_notices_reach_the_coordinator_not_them(
    client: Client, task_queue: str, migrated_engine: Engine, smtp_inbox: SmtpInbox
) -> None:
    add_team(migrated_engine, TEAM)
    add_staff(migrated_engine, COORDINATOR, TEAM, role=StaffRole.COORDINATOR, email="aalto@example.org")
    add_staff(migrated_engine, NURSE, TEAM, email="virtanen@example.org")

    async with sql_worker(client, task_queue, migrated_engine, smtp_inbox):
        handle = await start(client, task_queue)
        await handle.execute_update(
            PathwayWorkflow.triage, TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE)
        )
        await eventually(lambda: smtp_inbox.to("virtanen@example.org"), what="the assignment e-mail")
        assert deactivate_staff(migrated_engine, staff_id=NURSE) == 0  # the fixture gave the nurse no token
        await handle.execute_update(
            PathwayWorkflow.request_team_review, RequestTeamReviewInput(actor=COORDINATOR, reason="no contact")
        )
        await handle.execute_update(
            PathwayWorkflow.decide_team_review,
            DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.CONTINUE, note="keep going"),
        )
        decided = f"Tiimin käsittelyn päätös: {handle.id}"
        await eventually(
            lambda: decided in [m["Subject"] for m in smtp_inbox.to("aalto@example.org")],
            what="the decision notice at the coordinator",
        )
        await eventually(lambda: _all_events_recorded(migrated_engine, handle), what="every event in the read model")

    notice = next(m for m in smtp_inbox.to("aalto@example.org") if m["Subject"] == decided)
    assert "Nimetkää polulle uusi asiakasvastaava" in notice.get_content()
    # The nurse had only the assignment e-mail, sent while still active; the escalation went to the coordinator.
    assert [m["Subject"] for m in smtp_inbox.to("virtanen@example.org")] == [
        f"Sinut on nimetty asiakasvastaavaksi: {handle.id}"
    ]
    with Session(migrated_engine) as session:
        nurse_rows = session.exec(
            select(Notification.kind).where(Notification.pathway_id == handle.id, Notification.recipient == NURSE)
        ).all()
    assert sorted(nurse_rows) == ["assigned_case_manager", "assigned_case_manager"]  # inbox and e-mail
