"""Pathways waiting for the team's review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from api import schemas
from api.access import ReadPurpose, TeamGrant, team_access
from api.deps import SealerDep
from api.routes.responses import AUTHENTICATED
from api.services import pathways

router = APIRouter()


@router.get("", responses=AUTHENTICATED, summary="Pending team reviews, oldest first")
async def pending_team_reviews(
    grant: Annotated[TeamGrant, team_access("read_team_reviews", purpose_in_context=ReadPurpose.TEAM_REVIEW)],
    sealer: SealerDep,
) -> list[schemas.PendingTeamReview]:
    """Pending review items of your teams' pathways (or one team's), oldest first, with their reason."""
    return await pathways.pending_team_reviews(sealer=sealer, grant=grant)
