"""A restart of the Temporal server (same database file) loses nothing: timers set before it fire after it,
staff actions go on, and the record in the database has every event once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from core.temporal import data_converter
from models import actions as a
from models.pathway import PathwayPolicy, Stage, TeamReviewCause, TeamReviewDecision, TriageRoute
from tests.support.fixtures import make_org, migrated, running_worker, settings_for
from tests.support.helpers import eventually, intake
from tests.support.pathways import start_driven

from .conftest import encryption_settings, free_port, new_key, start_file_server

# Long enough that the timer cannot fire before the server is stopped; it fires after the restart.
ASSESSMENT_DUE_AFTER = timedelta(seconds=6)


async def test_pathways_go_on_after_the_temporal_server_restarts_on_the_same_database_file(tmp_path: Path) -> None:
    database = tmp_path / "temporal.db"
    port = free_port()
    queue = f"tq-{uuid.uuid4()}"
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    settings = settings_for(tmp_path, queue, url).model_copy(
        update=encryption_settings({"k1": new_key()}, active="k1").model_dump(
            include={"encryption_keys", "encryption_active_key"}
        )
    )
    engine = migrated(url)
    org = make_org(engine)
    nurse, coordinator = org.nurse.staff_id, org.coordinator.staff_id
    server = await start_file_server(database, port)
    try:
        # One client and one in-process worker for the whole test: they ride out the outage.
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter(settings))
        async with running_worker(client, settings, engine) as effects:
            policy = PathwayPolicy(assessment_due_after=ASSESSMENT_DUE_AFTER)
            waiting_for_timer = await start_driven(
                client, queue, engine, effects.sealer, intake(org.team), registered_by=nurse, policy=policy
            )
            await waiting_for_timer.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
            awaiting_triage = await start_driven(
                client, queue, engine, effects.sealer, intake(org.team), registered_by=nurse
            )
            before = await waiting_for_timer.settled()
            assert before.stage is Stage.ASSESSMENT and not before.pending_reviews

            await server.shutdown()
            server = await start_file_server(database, port)

            # The assessment-due timer set before the restart fires after it and escalates to the team.
            await eventually(lambda: waiting_for_timer.row().team_review_pending, timeout=60, what="overdue escalation")  # type: ignore[union-attr]
            process = await waiting_for_timer.process()
            assert [review.cause for review in process.pending_reviews] == [TeamReviewCause.ASSESSMENT_OVERDUE]

            # Staff actions work on both pathways after the restart.
            await waiting_for_timer.do(
                coordinator, a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="Results due")
            )
            answer = await waiting_for_timer.do(
                nurse, a.CompleteAssessment(summary="Done", recommendation="Employment")
            )
            assert answer.stage is Stage.PLANNING
            await awaiting_triage.do(coordinator, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=nurse))
            answer = await awaiting_triage.do(nurse, a.SetGoal(text="Start vocational studies"))
            assert answer.stage is Stage.ASSESSMENT

            # The record has every event of the pathway, each once, in order.
            process = await waiting_for_timer.settled()
            record = await waiting_for_timer.record()
            assert [event.sequence for event in waiting_for_timer.events()] == list(
                range(1, process.last_event_sequence + 1)
            )
            assert record.team_reviews[0].decision is TeamReviewDecision.CONTINUE
    finally:
        await server.shutdown()
        engine.dispose()
