"""Inputs and results of the activities: what a workflow asks the database and the outbox to do.

One input model per activity. `RecordBatch` carries a workflow task's decisions (events, notices, the
new status) to the one activity that writes them in one transaction; it is scheduled by a command, so
it runs only for decisions that are durably in the history.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from models.events import PathwayEvent
from models.process import Notice, ProcessStatus

# The activities' names: the workflows schedule them by these names, `activities.records` defines them.
RECORD_PATHWAY_CHANGES = "record_pathway_changes"
ERASE_EXPIRED_RECORDS = "erase_expired_records"
DELIVER_PENDING_NOTIFICATIONS = "deliver_pending_notifications"

# A batch stays well below Temporal's 512 KB payload warning: a note is at most 4,000 characters.
MAX_EVENTS_PER_BATCH = 50
MAX_NOTICES_PER_BATCH = 100


class EffectModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordBatch(EffectModel):
    pathway_id: str
    team: str
    events: list[PathwayEvent] = Field(default=[], max_length=MAX_EVENTS_PER_BATCH)
    notices: list[Notice] = Field(default=[], max_length=MAX_NOTICES_PER_BATCH)
    status: ProcessStatus | None = Field(default=None, description="The process status, when it changed.")


class RecordResult(EffectModel):
    recorded_events: int = Field(description="Events this call wrote (0 for a retry of a written batch).")
    notifications: int = Field(description="Notification rows this call wrote.")
    recorded_sequence: int


class EraseExpiredRecords(EffectModel):
    now: datetime = Field(description="The scheduled time of the run (records closed before now - retention go).")
    limit: int = Field(default=500, ge=1, le=10000)


class ErasedRecords(EffectModel):
    erased: list[str] = Field(description="The pathway ids whose records were erased.")
    more: bool = Field(description="More records were due than this call erased.")


class DeliverPendingNotifications(EffectModel):
    limit: int = Field(default=200, ge=1, le=5000)


class DeliveryRound(EffectModel):
    delivered: int
    failed: int
    still_pending: int
