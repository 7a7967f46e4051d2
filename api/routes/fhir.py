"""GET /pathways/{pathway_id}/fhir: the pathway as a FHIR R4B Bundle (logic in interop/)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from temporalio.client import Client

from api.deps import CurrentStaff, SessionDep
from api.routes.responses import AUTHENTICATED
from api.schemas import ErrorBody
from interop.service import FHIR_JSON, ExportForbidden, PathwayNotFound, export_pathway

router = APIRouter(tags=["interoperability"])


@router.get(
    "/pathways/{pathway_id}/fhir",
    response_class=Response,
    responses={
        200: {"content": {FHIR_JSON: {}}},
        **AUTHENTICATED,
        404: {"model": ErrorBody, "description": "No such pathway."},
    },
)
async def export_pathway_fhir(
    pathway_id: str,
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    purpose: Annotated[str | None, Query(max_length=300, description="Why it is read (audit log).")] = None,
) -> Response:
    client: Client = request.app.state.temporal_client
    try:
        bundle = await export_pathway(
            client, session, staff_id=staff.staff_id, role=staff.role, pathway_id=pathway_id, purpose=purpose
        )
    except PathwayNotFound as err:
        raise HTTPException(404, str(err)) from err
    except ExportForbidden as err:
        raise HTTPException(403, str(err)) from err
    return Response(content=json.dumps(bundle), media_type=FHIR_JSON)
