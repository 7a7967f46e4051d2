"""Where the pathway's side effects land: the interface the activities write through.

`InMemoryEffectStore` keeps everything in the worker's memory (the dev default and the unit of the
workflow tests); the database-backed store implements the same protocol. Every write is keyed so that
a retried activity changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from models.pathway import NotificationKind, PathwayEvent, TeamReviewCause, TriageRoute

# ApplicationError type a store raises (non-retryable) for a recipient staff id it does not know.
UNKNOWN_RECIPIENT = "UnknownRecipient"


@dataclass(frozen=True)
class NotificationRecord:
    idempotency_key: str
    pathway_id: str
    team: str
    recipient: str
    kind: NotificationKind
    due_at: datetime | None = None
    # Meant for the pathway's case manager, whose account is deactivated; the recipient is a coordinator.
    case_manager_deactivated: bool = False


@dataclass(frozen=True)
class TeamReviewItem:
    review_id: str
    pathway_id: str
    team: str
    cause: TeamReviewCause
    reason: str
    opened_by: str
    opened_at: datetime


class EffectStore(Protocol):
    async def add_notification(self, notification: NotificationRecord) -> bool:
        """Store (and deliver) a notification; False if its idempotency key was already there."""

    async def open_team_review(self, item: TeamReviewItem) -> bool:
        """Create a team-review item; False if it already existed."""

    async def record_events(
        self,
        pathway_id: str,
        team: str,
        events: list[PathwayEvent],
        *,
        case_manager: str | None = None,
        route: TriageRoute | None = None,
    ) -> int:
        """Append events to the read model; returns how many were new.

        `case_manager` and `route` are the pathway's situation after the events, kept with each row.
        """

    async def team_coordinators(self, team: str) -> list[str]:
        """Staff ids of the team's active coordinators (who triage and run team reviews)."""

    async def is_deactivated(self, staff_id: str) -> bool:
        """True for a known staff member whose account has been deactivated (someone who has left)."""


@dataclass
class InMemoryEffectStore:
    coordinators: dict[str, list[str]] = field(default_factory=dict)
    notifications: dict[str, NotificationRecord] = field(default_factory=dict)
    team_reviews: dict[str, TeamReviewItem] = field(default_factory=dict)
    events: dict[tuple[str, int], PathwayEvent] = field(default_factory=dict)
    deactivated: set[str] = field(default_factory=set)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def add_notification(self, notification: NotificationRecord) -> bool:
        async with self._lock:
            if notification.idempotency_key in self.notifications:
                return False
            self.notifications[notification.idempotency_key] = notification
            return True

    async def open_team_review(self, item: TeamReviewItem) -> bool:
        async with self._lock:
            if item.review_id in self.team_reviews:
                return False
            self.team_reviews[item.review_id] = item
            return True

    async def record_events(
        self,
        pathway_id: str,
        team: str,
        events: list[PathwayEvent],
        *,
        case_manager: str | None = None,
        route: TriageRoute | None = None,
    ) -> int:
        async with self._lock:
            new = [event for event in events if (pathway_id, event.sequence) not in self.events]
            for event in new:
                self.events[(pathway_id, event.sequence)] = event
            return len(new)

    async def team_coordinators(self, team: str) -> list[str]:
        return [staff_id for staff_id in self.coordinators.get(team, []) if staff_id not in self.deactivated]

    async def is_deactivated(self, staff_id: str) -> bool:
        return staff_id in self.deactivated

    def notifications_for(self, pathway_id: str) -> list[NotificationRecord]:
        return [n for n in self.notifications.values() if n.pathway_id == pathway_id]
