"""Inputs of the pathway's activities: the side effects a workflow asks for.

One input model per activity. Each carries an idempotency key derived from the pathway id and the
pathway event that caused it, so a retried or replayed activity never notifies or writes twice.
None of these carry the client's personal data: notification texts are rendered from the kind and the
pathway reference only.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from models.pathway import (
    Language,
    NotificationKind,
    PathwayEvent,
    Stage,
    TeamReviewCause,
    TriageRoute,
)


class EffectInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pathway_id: str
    team: str
    idempotency_key: str = Field(description="Unique per pathway event and recipient.")


class NotifyCaseManagerInput(EffectInput):
    recipient: str = Field(description="Staff id of the case manager (current, or the previous one on handover).")
    kind: NotificationKind
    due_at: datetime | None = None


class NotifyTeamInput(EffectInput):
    """A notice to the team's coordinators (e.g. a new referral waiting for triage)."""

    kind: NotificationKind
    client_language: Language
    due_at: datetime | None = None


class EscalateToTeamReviewInput(EffectInput):
    review_id: str
    cause: TeamReviewCause
    reason: str = Field(description="Kept with the review item for the team; never put into a notification.")
    opened_by: str
    opened_at: datetime
    case_manager: str | None = None


class EscalationResult(BaseModel):
    review_id: str
    created: bool = Field(description="False when the review item already existed (a retry).")
    notified: int = Field(description="How many team members were notified by this call.")


class RecordPathwayEventsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pathway_id: str
    team: str
    stage: Stage
    case_manager: str | None
    route: TriageRoute | None
    events: list[PathwayEvent] = Field(min_length=1)


class NotificationResult(BaseModel):
    delivered: bool = Field(description="False when this idempotency key had already been delivered.")
