"""The Temporal server stops and starts again on the same database file: running pathways go on."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.pathway_activities import PathwayActivities
from activities.store import InMemoryEffectStore
from core.temporal import data_converter, workflow_runner
from models.pathway import (
    CompleteAssessmentInput,
    DecideTeamReviewInput,
    NotificationKind,
    PathwayPolicy,
    SetGoalInput,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageInput,
    TriageRoute,
)
from tests.workflows.helpers import COORDINATOR, NURSE, TEAM, eventually, intake, start
from workflows.pathway import PathwayWorkflow

from .conftest import client_reference, encryption_settings, free_port, new_key, start_file_server

# Long enough that the timer cannot fire before the server is stopped; it fires after the restart.
ASSESSMENT_DUE_AFTER = timedelta(seconds=6)


async def test_pathways_go_on_after_the_temporal_server_restarts_on_the_same_database_file(tmp_path: Path) -> None:
    database = tmp_path / "temporal.db"
    port = free_port()
    settings = encryption_settings({"k1": new_key()}, active="k1")
    store = InMemoryEffectStore(coordinators={TEAM: [COORDINATOR]})
    queue = f"tq-{uuid.uuid4()}"

    server = await start_file_server(database, port)
    try:
        # One client and one in-process worker for the whole test: they ride out the outage.
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter(settings))
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[PathwayWorkflow],
            workflow_runner=workflow_runner(),
            activities=PathwayActivities(store).all(),
        )
        async with worker:
            waiting_for_timer = await start(
                client, queue, intake(client_reference()), PathwayPolicy(assessment_due_after=ASSESSMENT_DUE_AFTER)
            )
            await waiting_for_timer.execute_update(
                PathwayWorkflow.triage,
                TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
            )
            awaiting_triage = await start(client, queue, intake(client_reference()))
            before = await waiting_for_timer.query(PathwayWorkflow.get_state)
            assert before.stage is Stage.ASSESSMENT and before.team_reviews == []

            await server.shutdown()
            server = await start_file_server(database, port)

            # The assessment-due timer set before the restart fires after it and escalates to the team.
            await eventually(
                lambda: _escalated(store, waiting_for_timer.id), timeout=60, what="assessment overdue escalation"
            )
            state = await waiting_for_timer.query(PathwayWorkflow.get_state)
            assert [review.cause for review in state.pending_team_reviews()] == [TeamReviewCause.ASSESSMENT_OVERDUE]

            # Staff actions work on both pathways after the restart.
            view = await waiting_for_timer.execute_update(
                PathwayWorkflow.decide_team_review,
                DecideTeamReviewInput(actor=COORDINATOR, decision=TeamReviewDecision.CONTINUE, note="Results due"),
            )
            view = await waiting_for_timer.execute_update(
                PathwayWorkflow.complete_assessment,
                CompleteAssessmentInput(actor=NURSE, summary="Done", recommendation="Employment services"),
            )
            assert view.stage is Stage.PLANNING
            view = await awaiting_triage.execute_update(
                PathwayWorkflow.triage,
                TriageInput(actor=COORDINATOR, route=TriageRoute.HEALTH_CHECK, case_manager=NURSE),
            )
            view = await awaiting_triage.execute_update(
                PathwayWorkflow.set_goal, SetGoalInput(actor=NURSE, text="Start vocational studies")
            )
            assert view.stage is Stage.ASSESSMENT and len(view.goals) == 1

            # The read model has every event of the timeline (in-memory store: keyed, so never twice).
            timeline = await waiting_for_timer.query(PathwayWorkflow.get_timeline)
            await eventually(
                lambda: _recorded_sequences(store, waiting_for_timer.id) == [event.sequence for event in timeline],
                what="read model caught up with the timeline",
            )
    finally:
        await server.shutdown()


def _escalated(store: InMemoryEffectStore, pathway_id: str) -> bool:
    return any(
        n.kind is NotificationKind.ESCALATED_TO_TEAM_REVIEW for n in store.notifications_for(pathway_id)
    ) and any(item.pathway_id == pathway_id for item in store.team_reviews.values())


def _recorded_sequences(store: InMemoryEffectStore, pathway_id: str) -> list[int]:
    return sorted(sequence for (recorded_for, sequence) in store.events if recorded_for == pathway_id)
