"""Filing a batch of a pathway's decisions: the one way they reach the database.

Only the record activity (`activities.records`) files, with what the workflow hands it, in one transaction:
events, the folded record, status, team reviews and outbox rows. Repeats are ignored, so a batch filed again
(a retried activity, a replayed task) lands once. Delivering the outbox's e-mails and webhooks is the
worker's (`activities.outbox`). docs/architecture.md, "From a decision to the record".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.crypto import RecordSealer
from core.links import PartnerLinks
from models.effects import RecordBatch
from records import store
from records.outbox import write_notices


@dataclass(frozen=True)
class FiledBatch:
    recorded_events: int
    notifications: int
    pending_deliveries: list[int]  # outbox rows to deliver by e-mail or webhook once the transaction commits
    recorded_sequence: int


@dataclass(frozen=True)
class RecordFiler:
    """Files batches in the caller's transaction (it commits)."""

    sealer: RecordSealer
    email_enabled: bool
    links: PartnerLinks | None = None

    def file(self, session: Session, batch: RecordBatch) -> FiledBatch:
        filed = store.file_events(
            session,
            self.sealer,
            pathway_id=batch.pathway_id,
            team=batch.team,
            events=batch.events,
            status=batch.status,
        )
        notifications, pending = write_notices(
            session,
            batch.notices,
            pathway_id=batch.pathway_id,
            team=batch.team,
            email_enabled=self.email_enabled,
            links=self.links,
        )
        return FiledBatch(filed.new_events, notifications, pending, filed.recorded_sequence)
