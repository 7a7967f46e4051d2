"""GET /pathways/{pathway_id}/fhir: the pathway as a FHIR R4B transaction Bundle (the transform is `interop.fhir`)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Response

from api.access import PathwayGrant, pathway_access
from api.deps import SealerDep, SettingsDep, TemporalClientDep
from api.routes.responses import PATHWAY_READ
from api.services.exports import FHIR_JSON, fhir_export

router = APIRouter(tags=["interoperability"])


@router.get(
    "/pathways/{pathway_id}/fhir",
    response_class=Response,
    responses={200: {"content": {FHIR_JSON: {}}}, **PATHWAY_READ},
    summary="The pathway as a FHIR R4B transaction Bundle (POST it to a FHIR server's base)",
)
async def export_pathway_fhir(
    grant: Annotated[PathwayGrant, pathway_access("export_fhir", read=True)],
    client: TemporalClientDep,
    sealer: SealerDep,
    settings: SettingsDep,
) -> Response:
    bundle = await fhir_export(client=client, sealer=sealer, grant=grant, settings=settings)
    return Response(content=json.dumps(bundle), media_type=FHIR_JSON)
