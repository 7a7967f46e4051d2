"""The two route modules mounted on a FastAPI app, over HTTP, before the API branch is merged.

`api.deps` belongs to the API branch. Until it is merged, a stand-in with the same two names
(`SessionDep`, `CurrentStaff`; staff picked by a header instead of a bearer token) isolates these
routes so their HTTP behaviour is proven here; once the real module exists this test steps aside and
the API's own authenticated tests take over.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from models.pathway import looks_like_personal_identity_code
from models.tables import Staff
from reports.outcomes import OutcomeReport
from tests.reports.dataset import generate
from tests.reports.staff import EURA, EURA_COORDINATOR, EURA_NURSE, PORI_COORDINATOR, staff_database
from tests.reports.test_outcome_report import records_copy
from tests.workflows.helpers import intake, new_client_reference, running_worker, start

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("api.deps") is not None,
    reason="the real api.deps is present: these routes are tested through the API's authentication",
)
_ROUTE_MODULES = ("api.routes.fhir", "api.routes.reports")


def _stand_in_deps() -> types.ModuleType:
    def get_session(request: Request) -> Iterator[Session]:
        with Session(request.app.state.engine) as session:
            yield session

    session_dep = Annotated[Session, Depends(get_session)]

    # A default, not an annotation: annotations here are strings that FastAPI resolves in module scope.
    def current_staff(x_staff: Annotated[str, Header()], session: Session = Depends(get_session)) -> Staff:
        staff = session.get(Staff, x_staff)
        if staff is None:
            raise HTTPException(401, "unknown staff")
        return staff

    module = types.ModuleType("api.deps")
    module.SessionDep = session_dep  # type: ignore[attr-defined]
    module.CurrentStaff = Annotated[Staff, Depends(current_staff)]  # type: ignore[attr-defined]
    return module


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = staff_database(tmp_path / "pathways.db")
    rows, _ = generate(7, 80)
    with Session(engine) as session:
        session.add_all(records_copy(rows))
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
async def http(engine: Engine, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    sys.modules["api.deps"] = _stand_in_deps()
    try:
        app = FastAPI()
        for name in _ROUTE_MODULES:
            app.include_router(importlib.import_module(name).router)
        app.state.engine = engine
        app.state.temporal_client = client
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield http
    finally:
        for name in ("api.deps", *_ROUTE_MODULES):
            sys.modules.pop(name, None)


def _as(staff_id: str) -> dict[str, str]:
    return {"X-Staff": staff_id}


async def test_fhir_route_answers_fhir_json_to_the_team_403_to_others_404_for_unknown(
    http: httpx.AsyncClient, client: Client, task_queue: str
) -> None:
    while looks_like_personal_identity_code(reference := new_client_reference()):
        pass
    async with running_worker(client, task_queue):
        handle = await start(client, task_queue, intake(reference))
        response = await http.get(f"/pathways/{handle.id}/fhir", headers=_as(EURA_NURSE))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/fhir+json"
        bundle: Any = Bundle.model_validate_json(response.content)
        assert bundle.entry[0].resource.status == "waitlist"

        response = await http.get(f"/pathways/{handle.id}/fhir", headers=_as(PORI_COORDINATOR))
        assert response.status_code == 403
        assert "another team" in response.json()["detail"]
        response = await http.get("/pathways/pathway-client-nosuch/fhir", headers=_as(EURA_NURSE))
        assert response.status_code == 404
        await handle.terminate("test done")


async def test_report_route_answers_each_format_for_coordinators_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/reports/outcomes", params={"team": EURA}, headers=_as(EURA_COORDINATOR))
    assert response.status_code == 200
    assert OutcomeReport.model_validate_json(response.content).team == EURA

    response = await http.get("/reports/outcomes", params={"format": "csv"}, headers=_as(EURA_COORDINATOR))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    response = await http.get(
        "/reports/outcomes",
        params={"format": "png", "from": "2026-02-01", "to": "2026-04-01T00:00:00Z"},
        headers=_as(EURA_COORDINATOR),
    )
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")

    response = await http.get("/reports/outcomes", params={"format": "xml"}, headers=_as(EURA_COORDINATOR))
    assert response.status_code == 422
    response = await http.get(
        "/reports/outcomes", params={"from": "2026-04-01", "to": "2026-02-01"}, headers=_as(EURA_COORDINATOR)
    )
    assert response.status_code == 422 and response.json()["detail"] == "'from' must be before 'to'"
    response = await http.get("/reports/outcomes", headers=_as(EURA_NURSE))
    assert response.status_code == 403
    response = await http.get("/reports/outcomes", params={"team": EURA}, headers=_as(PORI_COORDINATOR))
    assert response.status_code == 403
