"""The worker process is killed (SIGKILL) with a notification in flight and a timer pending; a new worker
finishes the pathways, and nothing is delivered or recorded twice."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from core.temporal import data_converter
from models import actions as a
from models.pathway import ClosureReason, PathwayPolicy, TeamReviewCause, TriageRoute
from models.process import ProcessState
from models.tables import DeliveryStatus
from tests.ops.helpers import stop_process
from tests.support.helpers import COORDINATOR, NURSE, SOCIAL_WORKER, do, email_of, eventually, start_fixed
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

# Pending when the first worker is killed; fires while it is gone or just after the second one starts.
ASSESSMENT_DUE_AFTER = timedelta(seconds=12)


def _triage(case_manager: str) -> a.Triage:
    return a.Triage(route=TriageRoute.HEALTH_CHECK, case_manager=case_manager)


async def test_worker_killed_mid_pathway_a_new_worker_finishes_it_and_nothing_is_delivered_or_recorded_twice(
    tmp_path: Path,
) -> None:
    with fault_stage(tmp_path) as (database_url, _tokens, engine, queue, server):
        with HoldingSmtpServer() as inbox:
            # The social worker's first e-mail is held before the server's 250 until its sender is gone.
            inbox.hold_first_message_to = {email_of(SOCIAL_WORKER)}
            # A killed worker's claim on an outbox row lapses soon, and the sweep runs often, in this test.
            env = {
                **smtp_env(inbox.port),
                "PATHWAYS_OUTBOX_CLAIM_SECONDS": "3",
                "PATHWAYS_OUTBOX_SWEEP_INTERVAL": "PT2S",
            }
            client = await Client.connect(server.address, data_converter=data_converter())
            first = start_worker(server.address, queue, database_url, tmp_path / "worker-1.log", **env)
            try:
                waiting_on_timer = await start_fixed(
                    client, queue, PathwayPolicy(assessment_due_after=ASSESSMENT_DUE_AFTER)
                )
                await do(waiting_on_timer, COORDINATOR, _triage(NURSE))
                await eventually(lambda: inbox.to(email_of(NURSE)), timeout=60, what="the nurse's assignment e-mail")
                in_flight = await start_fixed(client, queue)
                await do(in_flight, COORDINATOR, _triage(SOCIAL_WORKER))
                assert await asyncio.to_thread(inbox.holding.wait, 60), "the assignment e-mail never reached SMTP"
            finally:
                await asyncio.to_thread(stop_process, first.process, signal.SIGKILL)
            assert first.process.returncode == -signal.SIGKILL

            second = start_worker(server.address, queue, database_url, tmp_path / "worker-2.log", **env)
            try:
                # The timer set under the first worker fires; its escalation reaches the team.
                state = await eventually(
                    lambda: _with_pending_review(waiting_on_timer), timeout=90, what="assessment overdue review"
                )
                assert [r.cause for r in state.pending_reviews] == [TeamReviewCause.ASSESSMENT_OVERDUE]
                # The interrupted e-mail is sent again by the outbox sweep once its claim lapses, once.
                await eventually(
                    lambda: inbox.to(email_of(SOCIAL_WORKER)), timeout=90, what="the assignment e-mail sent again"
                )
                for handle in (waiting_on_timer, in_flight):
                    await do(handle, COORDINATOR, a.Close(reason=ClosureReason.OTHER, note="Fault test done"))
                finals = await asyncio.wait_for(asyncio.gather(waiting_on_timer.result(), in_flight.result()), 90)
                # Escalation e-mails go out after the closing events are recorded: wait for the outbox.
                await eventually(
                    lambda: _all_sent(engine, waiting_on_timer.id, in_flight.id), timeout=60, what="outbox sent"
                )
            finally:
                await asyncio.to_thread(stop_process, second.process)

        assert [final.closure_reason for final in finals] == [ClosureReason.OTHER, ClosureReason.OTHER]
        assert inbox.abandoned and inbox.abandoned[0]["To"] == email_of(SOCIAL_WORKER)
        for handle, final in zip((waiting_on_timer, in_flight), finals, strict=True):
            # Every event of the pathway is in the record exactly once.
            assert recorded_sequences(engine, handle.id) == list(range(1, final.last_event_sequence + 1))
        assert duplicated_notification_keys(engine) == []
        emails = email_notifications(engine, waiting_on_timer.id) + email_notifications(engine, in_flight.id)
        assert emails and {row.status for row in emails} == {DeliveryStatus.DELIVERED}
        # One message per notification row, each Message-ID (derived from the idempotency key) once.
        message_ids = inbox.message_ids()
        assert len(inbox.messages) == len(emails)
        assert set(message_ids.values()) == {1}
        assert len(inbox.to(email_of(SOCIAL_WORKER))) == 1
        escalations = [row for row in emails if row.kind == "escalated_to_team_review"]
        assert {row.recipient for row in escalations} == {COORDINATOR, NURSE}
        assert "Traceback" not in second.log()


async def _with_pending_review(handle: WorkflowHandle[Any, Any]) -> ProcessState | None:
    state = await get_process(handle)
    return state if state.pending_reviews else None


def _all_sent(engine: Engine, *pathway_ids: str) -> bool:
    rows = [row for pathway_id in pathway_ids for row in email_notifications(engine, pathway_id)]
    return bool(rows) and all(row.status == DeliveryStatus.DELIVERED for row in rows)
