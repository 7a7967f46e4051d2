"""GET /pathways/{pathway_id}/summary: the client's own copy of the plan, in the client's language
(`client.summary`): what the web app prints and makes a PDF of. A read, audited with its purpose; giving it to
the client is the `give_summary` action."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from api.access import PathwayGrant, pathway_access
from api.deps import SealerDep, TemporalClientDep
from api.routes.responses import PATHWAY_READ
from api.services.plan_summary import summary_of
from client.summary import PlanSummary

router = APIRouter(tags=["pathways"])


@router.get(
    "/pathways/{pathway_id}/summary",
    responses=PATHWAY_READ,
    summary="The client's plan summary in their language: contacts, their goals, services, next steps",
)
async def client_plan_summary(
    grant: Annotated[PathwayGrant, pathway_access("read_plan_summary", read=True)],
    client: TemporalClientDep,
    sealer: SealerDep,
) -> PlanSummary:
    """Only what the client needs and said themselves: no identity code, no notes. The web app prints it
    (/app/pathways/{id}/summary) and makes the PDF (/app/pathways/{id}/summary.pdf)."""
    return await summary_of(client=client, sealer=sealer, grant=grant)
