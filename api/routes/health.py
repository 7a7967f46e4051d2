"""Liveness and readiness for the process manager and the load balancer."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api import schemas
from api.deps import SessionDep, TemporalClientDep
from api.errors import TemporalUnavailableError
from api.services.temporal_errors import translated

router = APIRouter()


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"model": schemas.Readiness, "description": "Temporal or the database cannot be reached."}},
    summary="Temporal and the database are reachable",
)
async def readyz(client: TemporalClientDep, session: SessionDep, response: Response) -> schemas.Readiness:
    temporal = database = "ok"
    try:
        async with translated():
            await client.service_client.check_health()
    except TemporalUnavailableError:
        temporal = "unreachable"
    try:
        session.connection().execute(text("SELECT 1"))
    except SQLAlchemyError:
        database = "unreachable"
    readiness = schemas.Readiness(temporal=temporal, database=database)
    if temporal != "ok" or database != "ok":
        response.status_code = 503
        response.headers["Retry-After"] = str(TemporalUnavailableError.retry_after_seconds)
    return readiness
