"""The client's feedback links, made by the team (`api.services.client_feedback`): a link the client opens
without an account, valid for a set time and used once; withdrawn by the team at any time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from api.access import PathwayGrant, pathway_access
from api.deps import SealerDep, SettingsDep, TemporalClientDep
from api.routes.responses import PATHWAY_READ
from api.schemas import Body, ErrorBody
from api.services import client_feedback, pathways
from core.links import FeedbackLinks
from models.tables import ClientFeedbackLink

router = APIRouter(tags=["client feedback"])
LinkIdPath = Annotated[str, Path(pattern=r"^[a-f0-9]{16}$", description="The link's id.")]


class FeedbackLinkRequest(Body):
    valid_days: int = Field(default=14, ge=1, le=60, description="How many days the client may answer (1-60).")


class FeedbackLinkPublic(BaseModel):
    link_id: str
    url: str | None = Field(description="The address to give the client (while the link is open).")
    state: client_feedback.LinkState
    language: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    withdrawn_at: datetime | None = None


def _public(links: FeedbackLinks, row: ClientFeedbackLink, now: datetime) -> FeedbackLinkPublic:
    state = client_feedback.state_of(row, now)
    return FeedbackLinkPublic(
        link_id=row.link_id,
        url=client_feedback.url_of(links, row) if state is client_feedback.LinkState.OPEN else None,
        state=state,
        language=row.language.value,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        withdrawn_at=row.withdrawn_at,
    )


# A link is refused for a closed pathway, where five are open already, or without the link secret; withdrawing
# one the client has used is refused too: each with the reason.
LINK_CHANGE: dict[int | str, dict[str, Any]] = {
    **PATHWAY_READ,
    409: {"model": ErrorBody, "description": "Refused, with the reason (closed pathway, too many open, used)."},
}


@router.post(
    "/pathways/{pathway_id}/feedback-links",
    status_code=status.HTTP_201_CREATED,
    responses=LINK_CHANGE,
    summary="Make a feedback link for the client (valid for a set time, used once; no account needed)",
)
async def make_feedback_link(
    body: FeedbackLinkRequest,
    grant: Annotated[PathwayGrant, pathway_access("create_feedback_link")],
    client: TemporalClientDep,
    sealer: SealerDep,
    settings: SettingsDep,
) -> FeedbackLinkPublic:
    links = FeedbackLinks.from_settings(settings)
    now = datetime.now(UTC)
    # The client's language; a pathway registered a moment ago has it in its live process before the record.
    record = await pathways.current_record(client=client, sealer=sealer, grant=grant)
    row, _url = await asyncio.to_thread(
        client_feedback.create_link,
        grant.session,
        links,
        pathway=grant.pathway,
        language=record.referral.client_language,
        created_by=grant.staff.staff_id,
        valid_for=timedelta(days=body.valid_days),
        now=now,
    )
    return _public(links, row, now)


@router.get(
    "/pathways/{pathway_id}/feedback-links",
    responses=PATHWAY_READ,
    summary="The pathway's feedback links: open, used, expired or withdrawn",
)
async def list_feedback_links(
    grant: Annotated[PathwayGrant, pathway_access("list_feedback_links", read=True)], settings: SettingsDep
) -> list[FeedbackLinkPublic]:
    links, now = FeedbackLinks.from_settings(settings), datetime.now(UTC)
    rows = await asyncio.to_thread(client_feedback.list_links, grant.session, grant.pathway_id)
    return [_public(links, row, now) for row in rows]


@router.post(
    "/pathways/{pathway_id}/feedback-links/{link_id}/withdraw",
    responses=LINK_CHANGE,
    summary="Withdraw a feedback link: it stops working at once",
)
async def withdraw_feedback_link(
    link_id: LinkIdPath,
    grant: Annotated[PathwayGrant, pathway_access("withdraw_feedback_link")],
    settings: SettingsDep,
) -> FeedbackLinkPublic:
    now = datetime.now(UTC)
    row = await asyncio.to_thread(
        client_feedback.withdraw_link,
        grant.session,
        pathway_id=grant.pathway_id,
        link_id=link_id,
        by=grant.staff.staff_id,
        now=now,
    )
    return _public(FeedbackLinks.from_settings(settings), row, now)
