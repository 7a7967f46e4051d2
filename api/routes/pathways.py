"""Pathways: intake, listings, and one pathway's record, timeline and follow-ups (actions: `actions.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api import schemas
from api.access import PathwayGrant, TeamGrant, audited, pathway_access, team_access
from api.deps import CurrentStaff, SealerDep, SessionDep, SettingsDep, TemporalClientDep
from api.routes.responses import PATHWAY_ACTION, PATHWAY_READ
from api.services import pathways
from models.actions import IntakeRequest
from models.pathway import Stage, pathway_id_for
from records.store import PathwayQuery

router = APIRouter()

StaffIdQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
PageToken = Annotated[str | None, Query(max_length=2000)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **PATHWAY_ACTION,
        409: {"model": schemas.ErrorBody, "description": "The client already has an open pathway."},
    },
    summary="Intake: start a client's pathway",
)
async def start_pathway(
    body: IntakeRequest,
    response: Response,
    staff: CurrentStaff,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
) -> schemas.PathwayReceipt:
    """Register a referral. A client's first pathway is `pathway-<client reference>`, a later one
    `pathway-<client reference>.<n>`; the earlier ones stay readable."""
    async with audited(session, staff, "start", pathway_id_for(body.client_reference)) as audit:
        receipt = await pathways.start(
            client=client, session=session, staff=staff, task_queue=settings.task_queue, body=body, audit=audit
        )
        audit.pathway_id = receipt.pathway_id
    response.headers["Location"] = f"/pathways/{receipt.pathway_id}"
    return receipt


@router.get("", responses=PATHWAY_READ, summary="List your teams' pathways")
async def list_pathways(
    grant: Annotated[TeamGrant, team_access("list_pathways")],
    stage: Stage | None = None,
    case_manager: StaffIdQuery = None,
    team_review_pending: bool | None = None,
    overdue: bool | None = None,
    open: Annotated[bool | None, Query(description="true: open pathways only; false: closed only.")] = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
    page_token: PageToken = None,
) -> schemas.Page[schemas.PathwayListItem]:
    """Your teams' pathways (or `team`'s), newest referral first, from the database."""
    query = PathwayQuery(
        teams=grant.teams,
        stage=stage,
        case_manager=case_manager,
        team_review_pending=team_review_pending,
        overdue=overdue,
        open=open,
    )
    return await pathways.list_pathways(grant=grant, query=query, page_size=page_size, page_token=page_token)


@router.get("/{pathway_id}", responses=PATHWAY_READ, summary="The pathway's record")
async def get_pathway(
    grant: Annotated[PathwayGrant, pathway_access("read_record", read=True)],
    client: TemporalClientDep,
    sealer: SealerDep,
) -> schemas.PathwayRead:
    """Everything recorded about the pathway, with its live process while it runs. Readable for as long as
    the record is kept, whatever happened to the workflow execution."""
    return await pathways.read(client=client, sealer=sealer, grant=grant)


@router.get("/{pathway_id}/timeline", responses=PATHWAY_READ, summary="What happened, in order, and who did it")
async def get_timeline(
    grant: Annotated[PathwayGrant, pathway_access("read_timeline", read=True)],
    client: TemporalClientDep,
    page_size: Annotated[int, Query(ge=1, le=500)] = 200,
    page_token: PageToken = None,
) -> schemas.Timeline:
    return await pathways.timeline(client=client, grant=grant, page_size=page_size, page_token=page_token)


@router.get("/{pathway_id}/follow-ups", responses=PATHWAY_READ, summary="Every follow-up contact with its note")
async def get_follow_ups(
    grant: Annotated[PathwayGrant, pathway_access("read_follow_ups", read=True)],
    sealer: SealerDep,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: PageToken = None,
) -> schemas.Page[schemas.FollowUpEntry]:
    return await pathways.follow_ups(sealer=sealer, grant=grant, page_size=page_size, page_token=page_token)


clients_router = APIRouter()


@clients_router.get(
    "/{client_reference}/pathways", responses=PATHWAY_READ, summary="A client's pathways, the latest first"
)
async def client_pathways(
    client_reference: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")],
    grant: Annotated[TeamGrant, team_access("list_client_pathways")],
) -> schemas.Page[schemas.PathwayListItem]:
    """Every pathway of the client on your teams, open and closed (at most 100)."""
    query = PathwayQuery(teams=grant.teams, client_reference=client_reference)
    return await pathways.list_pathways(grant=grant, query=query, page_size=100, page_token=None)
