"""The Temporal server process stops and starts again on the same database file while several pathways run
on a worker process: timers set before fire after, staff actions work, nothing is delivered twice."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from core.temporal import data_converter
from models import actions as a
from models.pathway import PathwayPolicy, Stage, TeamReviewCause, TeamReviewDecision, TriageRoute
from models.process import ProcessState
from tests.ops.helpers import stop_process
from tests.support.helpers import COORDINATOR, NURSE, SOCIAL_WORKER, do, eventually, start_fixed
from workflows.client import get_process

from .helpers import (
    HoldingSmtpServer,
    duplicated_notification_keys,
    email_notifications,
    fault_stage,
    recorded_sequences,
    smtp_env,
    start_worker,
)

# Long enough that the timers cannot fire before the server is stopped; they fire after the restart.
ASSESSMENT_DUE_AFTER = timedelta(seconds=15)

Handle = WorkflowHandle[Any, Any]


async def test_several_pathways_on_a_worker_process_go_on_after_the_temporal_server_process_restarts(
    tmp_path: Path,
) -> None:
    with fault_stage(tmp_path) as (database_url, _tokens, engine, queue, server):
        with HoldingSmtpServer() as inbox:
            worker = start_worker(server.address, queue, database_url, tmp_path / "worker.log", **smtp_env(inbox.port))
            try:
                client = await Client.connect(server.address, data_converter=data_converter())
                policy = PathwayPolicy(assessment_due_after=ASSESSMENT_DUE_AFTER)
                timed = [await start_fixed(client, queue, policy) for _ in range(3)]
                for handle, case_manager in zip(timed, (NURSE, SOCIAL_WORKER, NURSE), strict=True):
                    await do(handle, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=case_manager))
                awaiting_triage = await start_fixed(client, queue)
                for handle in timed:
                    state = await get_process(handle)
                    assert state.stage is Stage.ASSESSMENT and state.pending_reviews == []

                await asyncio.to_thread(server.stop)
                assert worker.process.poll() is None, "the worker must ride out the outage"
                await asyncio.to_thread(server.start)

                # The same client reconnects; every timer set before the restart fires after it.
                reviewed = [
                    await eventually(functools.partial(_pending_review, h), timeout=90, what=f"escalation of {h.id}")
                    for h in timed
                ]
                for state in reviewed:
                    assert [r.cause for r in state.pending_reviews] == [TeamReviewCause.ASSESSMENT_OVERDUE]

                # Staff actions work on every pathway after the restart.
                for handle in timed:
                    await do(
                        handle,
                        COORDINATOR,
                        a.DecideTeamReview(decision=TeamReviewDecision.CONTINUE, note="Results due"),
                    )
                    view = await do(handle, NURSE, a.CompleteAssessment(summary="Done", recommendation="Employment"))
                    assert view.stage is Stage.PLANNING
                await do(
                    awaiting_triage, COORDINATOR, a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=SOCIAL_WORKER)
                )
                view = await do(awaiting_triage, SOCIAL_WORKER, a.SetGoal(text="Start vocational studies"))
                assert view.stage is Stage.ASSESSMENT and len(view.created_ids) == 1

                # The record catches up with every pathway, each event once.
                for handle in [*timed, awaiting_triage]:
                    expected = list(range(1, (await get_process(handle)).last_event_sequence + 1))
                    await eventually(
                        lambda h=handle, e=expected: recorded_sequences(engine, h.id) == e,  # type: ignore[misc]
                        timeout=60,
                        what=f"record of {handle.id}",
                    )
                    emails = email_notifications(engine, handle.id)
                    await eventually(
                        lambda h=handle: all(r.delivered_at for r in email_notifications(engine, h.id)),  # type: ignore[misc]
                        timeout=60,
                        what=f"e-mails of {handle.id} delivered",
                    )
            finally:
                await asyncio.to_thread(stop_process, worker.process)
        assert duplicated_notification_keys(engine) == []
        assert set(inbox.message_ids().values()) == {1}
        assert emails


async def _pending_review(handle: Handle) -> ProcessState | None:
    state = await get_process(handle)
    return state if state.pending_reviews else None
