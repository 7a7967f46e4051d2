"""The fair references (issue 20): raw Temporal doing the same essential work as the product, and no more.

`RawPathway` takes the same input as a pathway (the same `PathwayStart` payload, so the same bytes go
through the codec and into the history), writes one row from a local activity in its first task, parks
on a reminder timer whose task inserts the same notification row the product's inbox holds, takes staff
updates that upsert one search attribute and have one row written, and continues as new when Temporal
suggests it. Nothing else: no validation, no state worth the name, no record.

An update's row is written the way this product writes what an update decided, so that it is written
only once the update is in the history: by an activity scheduled from the update's task, which runs once
that task has completed. A local activity inside the update's own task runs *before* the task completes: a
worker that dies then can leave a row for an update the history never takes (Temporal delivers a pending
update again to the next attempt, but not one it has lost meanwhile). The product follows the durable rule
(docs/architecture.md), so this is the fair reference for a staff action. The in-task write of earlier
runs is kept as `follow_up_in_task` for figure 2's informative row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import Session
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models.actions import RecordFollowUp
    from models.pathway import Language, NotificationKind
    from models.process import PathwayStart
    from models.tables import DeliveryStatus, Notification, NotificationChannel
    from records.notification_texts import render_notification
    from records.store import insert_ignoring_conflict
    from workflows import search_attributes as sa

RAW_WORKFLOW = "RawPathway"
RAW_INSERT_ROW = "raw_insert_row"
RAW_INSERT_NOTIFICATION = "raw_insert_notification"
LOCAL_TIMEOUT = timedelta(seconds=30)

metadata = MetaData()
# The reference's own rows, in the same database as the product's record (created by the bench only).
reference_rows = Table(
    "bench_reference_row",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), unique=True, nullable=False),
    Column("workflow_id", String(100), index=True, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("body", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


class RawRow(BaseModel):
    key: str
    workflow_id: str
    kind: str
    body: str | None = None


class RawStart(BaseModel):
    pathway: PathwayStart
    record_start: bool = True
    first_reminder_at: datetime | None = None
    reminder_every: timedelta | None = None
    team: str = ""
    recipient: str = ""
    follow_ups: int = 0  # carried over continue-as-new
    unwritten: list[RawRow] = []  # updates' rows not yet written, carried over continue-as-new


class RawNotification(BaseModel):
    key: str
    workflow_id: str
    team: str
    recipient: str
    due_at: datetime


class RawAnswer(BaseModel):
    follow_ups: int


@workflow.defn(name=RAW_WORKFLOW)
class RawPathway:
    @workflow.init
    def __init__(self, start: RawStart) -> None:
        # From the start, before any handler: an update delivered in the first task runs before `run` begins,
        # and `run` setting these would drop its row (as the product's workflow, which also uses `workflow.init`).
        self._follow_ups = start.follow_ups
        self._done = False
        self._unwritten: list[RawRow] = list(start.unwritten)

    @workflow.run
    async def run(self, start: RawStart) -> int:
        workflow_id = workflow.info().workflow_id
        if start.record_start:
            await workflow.execute_local_activity(
                RAW_INSERT_ROW,
                RawRow(key=f"{workflow_id}:start", workflow_id=workflow_id, kind="start"),
                start_to_close_timeout=LOCAL_TIMEOUT,
            )
        reminder_at = start.first_reminder_at

        def woken() -> bool:
            return self._done or bool(self._unwritten) or workflow.info().is_continue_as_new_suggested()

        while True:
            await self._write_rows()
            if self._done:
                # As the product closes: no handler left running, and nothing it decided left unwritten.
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._unwritten:
                    break
                continue
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    start.model_copy(
                        update={
                            "record_start": False,
                            "first_reminder_at": reminder_at,
                            "follow_ups": self._follow_ups,
                            "unwritten": self._unwritten,
                        }
                    )
                )
            if reminder_at is None:
                await workflow.wait_condition(woken)
                continue
            remaining = reminder_at - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(woken, timeout=remaining)
                    continue
                except TimeoutError:
                    pass
            await workflow.execute_local_activity(
                RAW_INSERT_NOTIFICATION,
                RawNotification(
                    key=f"{workflow_id}:reminder:{reminder_at.isoformat()}",
                    workflow_id=workflow_id,
                    team=start.team,
                    recipient=start.recipient,
                    due_at=reminder_at,
                ),
                start_to_close_timeout=LOCAL_TIMEOUT,
            )
            reminder_at = reminder_at + start.reminder_every if start.reminder_every else None
        return self._follow_ups

    async def _write_rows(self) -> None:
        """The updates' rows, by an activity scheduled in the updates' task: it runs once that task is in the
        history (the product's record activity does the same)."""
        while self._unwritten:
            row = self._unwritten[0]
            await workflow.execute_activity(RAW_INSERT_ROW, row, start_to_close_timeout=LOCAL_TIMEOUT)
            self._unwritten.pop(0)

    @workflow.update
    def follow_up(self, contact: RecordFollowUp) -> RawAnswer:
        self._follow_ups += 1
        workflow.upsert_search_attributes([sa.NEXT_DEADLINE.value_set(workflow.now() + timedelta(days=30))])
        self._unwritten.append(self._follow_up_row(contact))
        return RawAnswer(follow_ups=self._follow_ups)

    @workflow.update
    async def follow_up_in_task(self, contact: RecordFollowUp) -> RawAnswer:
        """The row written by a local activity inside the update's own task: quicker, and not durable (see the
        module's docstring). Measured only for the informative row of figure 2."""
        self._follow_ups += 1
        workflow.upsert_search_attributes([sa.NEXT_DEADLINE.value_set(workflow.now() + timedelta(days=30))])
        await workflow.execute_local_activity(
            RAW_INSERT_ROW, self._follow_up_row(contact), start_to_close_timeout=LOCAL_TIMEOUT
        )
        return RawAnswer(follow_ups=self._follow_ups)

    def _follow_up_row(self, contact: RecordFollowUp) -> RawRow:
        workflow_id = workflow.info().workflow_id
        return RawRow(
            key=f"{workflow_id}:follow-up:{workflow.uuid4()}",
            workflow_id=workflow_id,
            kind="follow_up",
            body=contact.note,
        )

    @workflow.signal
    def finish(self) -> None:
        self._done = True


class RawActivities:
    """The reference's two writes, each one insert in its own transaction (as idempotent as the product's)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=RAW_INSERT_ROW)
    async def insert_row(self, row: RawRow) -> None:
        await asyncio.to_thread(self._insert, row)

    def _insert(self, row: RawRow) -> None:
        with Session(self._engine) as session:
            insert_ignoring_conflict(
                session,
                reference_rows,
                {**row.model_dump(), "at": datetime.now(UTC)},
                ["key"],
            )
            session.commit()

    @activity.defn(name=RAW_INSERT_NOTIFICATION)
    async def insert_notification(self, notice: RawNotification) -> None:
        await asyncio.to_thread(self._notify, notice)

    def _notify(self, notice: RawNotification) -> None:
        """The same inbox row the product writes for a follow-up reminder (same text, same columns)."""
        now = datetime.now(UTC)
        text = render_notification(
            NotificationKind.FOLLOW_UP_DUE_SOON,
            Language.FI,
            pathway_id=notice.workflow_id,
            team=notice.team,
            due_at=notice.due_at,
        )
        values = {
            "idempotency_key": f"{notice.key}:inbox",
            "recipient": notice.recipient,
            "kind": NotificationKind.FOLLOW_UP_DUE_SOON.value,
            "pathway_id": notice.workflow_id,
            "team": notice.team,
            "language": Language.FI,
            "subject": text.subject,
            "body": text.body,
            "channel": NotificationChannel.INBOX,
            "status": DeliveryStatus.DELIVERED,
            "attempts": 0,
            "due_at": notice.due_at,
            "created_at": now,
            "next_attempt_at": None,
            "delivered_at": now,
        }
        with Session(self._engine) as session:
            insert_ignoring_conflict(session, Notification.__table__, values, ["idempotency_key"])  # type: ignore[attr-defined]
            session.commit()

    def all(self) -> list[Callable[..., Any]]:
        return [self.insert_row, self.insert_notification]
