"""Scheduled upkeep: erasing records past their retention, and sweeping the notification outbox.

Each runs from a Temporal Schedule (`workflows.client.ensure_schedules`) with overlapping runs skipped,
so one sweep runs at a time however many workers there are.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.effects import (
        DELIVER_PENDING_NOTIFICATIONS,
        ERASE_EXPIRED_RECORDS,
        DeliverPendingNotifications,
        DeliveryRound,
        ErasedRecords,
        EraseExpiredRecords,
    )

UPKEEP_RETRY_POLICY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1))
# One run erases at most this many batches; the next scheduled run takes the rest.
MAX_ERASE_BATCHES = 20


@workflow.defn(name="RecordRetention")
class RecordRetentionWorkflow:
    """Erase the records of pathways closed longer ago than the retention period (each erasure audited)."""

    @workflow.run
    async def run(self) -> int:
        now = workflow.now()
        erased = 0
        for _ in range(MAX_ERASE_BATCHES):
            result = await workflow.execute_activity(
                ERASE_EXPIRED_RECORDS,
                EraseExpiredRecords(now=now),
                result_type=ErasedRecords,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=UPKEEP_RETRY_POLICY,
                summary="erase records past their retention",
            )
            erased += len(result.erased)
            if not result.more:
                break
        return erased


@workflow.defn(name="OutboxSweep")
class OutboxSweepWorkflow:
    """Deliver the e-mails and webhooks whose first attempt failed or never happened."""

    @workflow.run
    async def run(self) -> int:
        result = await workflow.execute_activity(
            DELIVER_PENDING_NOTIFICATIONS,
            DeliverPendingNotifications(),
            result_type=DeliveryRound,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=UPKEEP_RETRY_POLICY,
            summary="deliver pending notifications",
        )
        delivered: int = result.delivered
        return delivered
