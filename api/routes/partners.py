"""A team's register of partner organisations, and handing a case manager's pathways over in one request."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, status

from api import schemas
from api.access import audited
from api.deps import CurrentPerson, IdempotencyKey, SessionDep, SettingsDep, TemporalClientDep
from api.routes.responses import AUTHENTICATED, TEMPORAL
from api.services import handovers
from api.services import partners as partner_service
from models.pathway import STAFF_ID_PATTERN
from models.tables import Partner

router = APIRouter()

TeamIdPath = Annotated[str, Path(pattern=STAFF_ID_PATTERN, description="The team's id.")]
PartnerIdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{1,47}$", description="The partner's id.")]


def _public(partner: Partner, secret: str | None = None) -> schemas.PartnerSaved:
    return schemas.PartnerSaved.model_validate({**partner.model_dump(), "webhook_secret": secret})


@router.get("/{team_id}/partners", responses=AUTHENTICATED, summary="The team's partner organisations")
async def list_partners(
    team_id: TeamIdPath, session: SessionDep, staff: CurrentPerson, include_inactive: bool = False
) -> list[schemas.PartnerPublic]:
    """Whom the team's planned services can be referred to, and how each one is reached."""
    partner_service.require_register_reader(staff, team_id)
    found = await asyncio.to_thread(partner_service.list_partners, session, team_id, include_inactive=include_inactive)
    return [schemas.PartnerPublic.model_validate(partner.model_dump()) for partner in found]


@router.post(
    "/{team_id}/partners",
    status_code=status.HTTP_201_CREATED,
    responses={**AUTHENTICATED, 409: {"model": schemas.ErrorBody, "description": "The partner id is taken."}},
    summary="Add a partner organisation to the register (the team's coordinators)",
)
async def create_partner(
    team_id: TeamIdPath, body: schemas.PartnerCreate, session: SessionDep, staff: CurrentPerson, settings: SettingsDep
) -> schemas.PartnerSaved:
    """A webhook partner's secret is in the answer, this once: give it to the partner's system."""
    partner_service.require_destination_keeper(staff, team_id)
    fields = partner_service.PartnerFields(
        name=body.name,
        kind=body.kind.value,
        channel=body.channel,
        email=body.email,
        webhook_url=body.webhook_url,
        language=body.language.value,
    )
    async with audited(session, staff, f"add_partner:{team_id}/{body.partner_id}"):
        partner, secret = await asyncio.to_thread(
            partner_service.create_partner,
            session,
            team_id,
            body.partner_id,
            fields,
            webhook_loopback=settings.webhook_loopback,
        )
        # Read before the audit line's commit expires the row.
        saved = _public(partner, secret)
    return saved


@router.patch(
    "/{team_id}/partners/{partner_id}",
    responses={**AUTHENTICATED, 404: {"model": schemas.ErrorBody, "description": "No such partner."}},
    summary="Change a partner's details, deactivate it or rotate its webhook secret (the team's coordinators)",
)
async def update_partner(
    team_id: TeamIdPath,
    partner_id: PartnerIdPath,
    body: schemas.PartnerUpdate,
    session: SessionDep,
    staff: CurrentPerson,
    settings: SettingsDep,
) -> schemas.PartnerSaved:
    partner_service.require_register_keeper(staff, team_id)
    changes = body.model_dump(exclude_unset=True, exclude={"rotate_webhook_secret"})
    if partner_service.DESTINATION_FIELDS & set(changes) or body.rotate_webhook_secret:
        partner_service.require_destination_keeper(staff, team_id)
    async with audited(session, staff, f"update_partner:{team_id}/{partner_id}"):
        partner, secret = await asyncio.to_thread(
            partner_service.update_partner,
            session,
            team_id,
            partner_id,
            changes,
            rotate_secret=body.rotate_webhook_secret,
            changed_by=staff.staff_id,
            webhook_loopback=settings.webhook_loopback,
            email_enabled=settings.smtp_enabled,
        )
        saved = _public(partner, secret)
    return saved


@router.post(
    "/{team_id}/handovers",
    responses={**AUTHENTICATED, **TEMPORAL},
    summary="Hand a case manager's open pathways to others in one request (the team's coordinators)",
)
async def hand_over_pathways(
    team_id: TeamIdPath,
    body: schemas.HandoverRequest,
    session: SessionDep,
    staff: CurrentPerson,
    client: TemporalClientDep,
    idempotency_key: IdempotencyKey = None,
) -> schemas.HandoverResults:
    """Each pathway gets a hand-over pending until its new case manager accepts it, and a result of its own:
    proposed, refused (with the reason) or failed (Temporal could not be reached; retry with the same key)."""
    async with audited(session, staff, f"hand_over_pathways:{team_id}/{body.from_case_manager}"):
        return await handovers.hand_over_many(
            client=client,
            session=session,
            staff=staff,
            team=team_id,
            request=body,
            idempotency_key=idempotency_key,
        )
