"""The pathway's side effects: filing its decisions in the record and the outbox, erasing expired records,
and delivering the outbox.

Activity classes get their dependencies through `__init__`, so the worker decides where effects land.
Each activity is idempotent: a retry, a replay or another worker writes nothing twice.
"""

from __future__ import annotations

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
from records.filing import FiledBatch

log = logging.getLogger("pathways.records")

INVALID_RECORD_BATCH = "InvalidRecordBatch"


@dataclass(frozen=True)
class RecordRetention:
    """How long a closed pathway's record is kept: the law's period for real clients, a short one for demos."""

    closed_records: timedelta
    demo_records: timedelta


class RecordActivities:
    def __init__(
        self, engine: Engine, sealer: RecordSealer, outbox: OutboxDispatcher, retention: RecordRetention
    ) -> None:
        self._engine = engine
        self._writes = WriteQueue(engine)
        self._filer = outbox.filer(sealer)
        self._outbox = outbox
        self._retention = retention

    @activity.defn(name=RECORD_PATHWAY_CHANGES)
    async def record_pathway_changes(self, batch: RecordBatch) -> RecordResult:
        """Write one workflow task's decisions: events, the folded record, status, team reviews and the
        outbox, in one transaction; then hand the new outside deliveries to the dispatcher."""
        try:
            filed = await self._writes.run(self._record, batch)
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

    def _record(self, batch: RecordBatch) -> FiledBatch:
        with session_scope(self._engine) as session:
            return self._filer.file(session, batch)

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
