"""The pathway's side effects: filing its decisions in the record and the outbox, erasing expired records,
and delivering the outbox.

Activity classes get their dependencies through `__init__`, so the worker decides where effects land.
Each activity is idempotent: a retry, a replay or another worker writes nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.outbox import OutboxDispatcher
from core.crypto import RecordSealer
from core.db import WriteQueue, session_scope
from models.effects import (
    DELIVER_PENDING_NOTIFICATIONS,
    ERASE_EXPIRED_RECORDS,
    RECORD_PATHWAY_CHANGES,
    DeliverPendingNotifications,
    DeliveryRound,
    ErasedRecords,
    EraseExpiredRecords,
    RecordBatch,
    RecordResult,
)
from records import store
from records.filing import FiledBatch, RecordFiler

log = logging.getLogger("pathways.records")

INVALID_RECORD_BATCH = "InvalidRecordBatch"


@dataclass(frozen=True)
class RecordRetention:
    """How long a closed pathway's record is kept: the law's period for real clients, a short one for demos."""

    closed_records: timedelta
    demo_records: timedelta


# Filings written together at most. A transaction holds SQLite's write lock to its commit, and the staff API's
# writes wait for it meanwhile: 50 at once made intake answer a quarter slower, 8 left it as it was.
MAX_FILINGS_PER_TRANSACTION = 8


class FilingQueue:
    """Files record batches; on one writer (SQLite), those that arrive while a transaction is being written go
    together into the next one.

    A new pathway's first task, a reminder's task and the main loop each file one small batch. Under load
    dozens wait for SQLite's one writer at once, and one transaction for all of them takes the write lock once,
    reads the team's coordinators once and commits once. A group that fails is filed again batch by batch, so
    a batch the database refuses fails alone. With writers side by side (PostgreSQL) each batch is its own
    transaction.
    """

    def __init__(self, engine: Engine, writes: WriteQueue, filer: RecordFiler) -> None:
        self._engine = engine
        self._writes = writes
        self._filer = filer
        self._waiting: list[tuple[RecordBatch, asyncio.Future[FiledBatch]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def file(self, batch: RecordBatch) -> FiledBatch:
        if not self._writes.one_writer:
            return await self._writes.run(self._file_alone, batch)
        future: asyncio.Future[FiledBatch] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting(), name="record-filing")
        return await future

    async def _write_waiting(self) -> None:
        while self._waiting:
            group = self._waiting[:MAX_FILINGS_PER_TRANSACTION]
            del self._waiting[:MAX_FILINGS_PER_TRANSACTION]
            try:
                outcomes = await self._writes.run(self._file_group, [batch for batch, _ in group])
            except BaseException as err:  # the thread itself failed (shutting down): nobody may wait forever
                outcomes = [err] * len(group)
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():  # its activity was cancelled meanwhile
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _file_group(self, batches: list[RecordBatch]) -> list[FiledBatch | BaseException]:
        if len(batches) > 1:
            try:
                with session_scope(self._engine) as session:
                    return [self._filer.file(session, batch) for batch in batches]
            except Exception:
                log.info("A transaction of %d record batches failed; filing them one by one", len(batches))
        outcomes: list[FiledBatch | BaseException] = []
        for batch in batches:
            try:
                outcomes.append(self._file_alone(batch))
            except Exception as err:
                outcomes.append(err)
        return outcomes

    def _file_alone(self, batch: RecordBatch) -> FiledBatch:
        with session_scope(self._engine) as session:
            return self._filer.file(session, batch)


class RecordActivities:
    def __init__(
        self, engine: Engine, sealer: RecordSealer, outbox: OutboxDispatcher, retention: RecordRetention
    ) -> None:
        self._engine = engine
        self._writes = WriteQueue(engine)
        self._filer = outbox.filer(sealer)
        self._filings = FilingQueue(engine, self._writes, self._filer)
        self._outbox = outbox
        self._retention = retention

    @activity.defn(name=RECORD_PATHWAY_CHANGES)
    async def record_pathway_changes(self, batch: RecordBatch) -> RecordResult:
        """Write one workflow task's decisions: events, the folded record, status, team reviews and the
        outbox, in one transaction; then hand the new outside deliveries to the dispatcher."""
        try:
            filed = await self._filings.file(batch)
        except store.RecordBatchRefused as err:
            raise ApplicationError(str(err), type=INVALID_RECORD_BATCH, non_retryable=True) from err
        self._outbox.hand_over(filed.pending_deliveries)
        # Pathway id and counts only: no client data in logs.
        activity.logger.info(
            "Recorded %d event(s) and %d notification(s) of %s (up to %d)",
            filed.recorded_events,
            filed.notifications,
            batch.pathway_id,
            filed.recorded_sequence,
        )
        return RecordResult(
            recorded_events=filed.recorded_events,
            notifications=filed.notifications,
            recorded_sequence=filed.recorded_sequence,
        )

    @activity.defn(name=ERASE_EXPIRED_RECORDS)
    async def erase_expired_records(self, request: EraseExpiredRecords) -> ErasedRecords:
        """Erase the records whose retention after closure has passed; each erasure is audited."""
        erased = await self._writes.run(self._erase, request)
        if erased:
            activity.logger.info("Erased %d record(s) past their retention", len(erased))
        return ErasedRecords(erased=erased, more=len(erased) >= request.limit)

    def _erase(self, request: EraseExpiredRecords) -> list[str]:
        retention = self._retention
        with session_scope(self._engine) as session:
            due = store.expired_pathways(
                session,
                now=request.now,
                retention=retention.closed_records,
                demo_retention=retention.demo_records,
                limit=request.limit,
            )
            for pathway_id in due:
                store.erase_record(
                    session,
                    pathway_id,
                    purpose=f"retention after closure ({retention.closed_records.days} days, demo "
                    f"{int(retention.demo_records.total_seconds())} s) passed",
                )
            return due

    @activity.defn(name=DELIVER_PENDING_NOTIFICATIONS)
    async def deliver_pending_notifications(self, request: DeliverPendingNotifications) -> DeliveryRound:
        """Deliver outbox rows still pending (a failed attempt, a worker that died before delivering)."""
        delivered, failed, still = await self._outbox.deliver_due(request.limit)
        return DeliveryRound(delivered=delivered, failed=failed, still_pending=still)

    def all(self) -> list[Callable[..., Any]]:
        """Every activity of this class, for the worker's registration."""
        return [self.record_pathway_changes, self.erase_expired_records, self.deliver_pending_notifications]
