"""The OpenAPI document is valid, lists every route, and the action bodies match the workflow inputs."""

from __future__ import annotations

import httpx
import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from api import schemas
from models import pathway as contract

EXPECTED_ROUTES = {
    ("post", "/pathways"),
    ("get", "/pathways"),
    ("get", "/pathways/{pathway_id}"),
    ("get", "/pathways/{pathway_id}/timeline"),
    ("post", "/pathways/{pathway_id}/triage"),
    ("post", "/pathways/{pathway_id}/case-manager"),
    ("post", "/pathways/{pathway_id}/goals"),
    ("post", "/pathways/{pathway_id}/investigations"),
    ("post", "/pathways/{pathway_id}/investigations/{investigation_id}/complete"),
    ("post", "/pathways/{pathway_id}/assessment"),
    ("post", "/pathways/{pathway_id}/plan"),
    ("post", "/pathways/{pathway_id}/services/{service_id}"),
    ("post", "/pathways/{pathway_id}/follow-ups"),
    ("post", "/pathways/{pathway_id}/team-review"),
    ("post", "/pathways/{pathway_id}/team-review/decision"),
    ("post", "/pathways/{pathway_id}/outcome"),
    ("post", "/pathways/{pathway_id}/sustainment/confirm"),
    ("post", "/pathways/{pathway_id}/close"),
    ("post", "/pathways/{pathway_id}/feedback"),
    ("get", "/me/caseload"),
    ("get", "/team-reviews"),
    ("get", "/staff"),
    ("post", "/staff"),
    ("post", "/staff/{staff_id}/tokens"),
    ("post", "/staff/{staff_id}/deactivate"),
    ("get", "/teams"),
    ("post", "/teams"),
    ("get", "/audit"),
    ("get", "/notifications"),
    ("post", "/notifications/{notification_id}/read"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/pathways/{pathway_id}/fhir"),
    ("get", "/reports/outcomes"),
}


async def test_openapi_document_validates_and_lists_every_route(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    routes = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routes == EXPECTED_ROUTES
    action = document["paths"]["/pathways/{pathway_id}/triage"]["post"]
    assert {"401", "403", "404", "409", "422", "503"} <= set(action["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in action["parameters"])
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    assert (await api.get("/docs")).status_code == 200


# Each action body is its workflow input without `actor` (and without the ids the path carries).
BODIES: list[tuple[type[BaseModel], type[BaseModel], set[str]]] = [
    (schemas.TriageBody, contract.TriageInput, set()),
    (schemas.AssignCaseManagerBody, contract.AssignCaseManagerInput, set()),
    (schemas.SetGoalBody, contract.SetGoalInput, set()),
    (schemas.AddInvestigationBody, contract.AddInvestigationInput, set()),
    (schemas.CompleteInvestigationBody, contract.CompleteInvestigationInput, {"investigation_id"}),
    (schemas.CompleteAssessmentBody, contract.CompleteAssessmentInput, set()),
    (schemas.SetPlanBody, contract.SetPlanInput, set()),
    (schemas.UpdateServiceBody, contract.UpdateServiceInput, {"service_id"}),
    (schemas.RecordFollowUpBody, contract.RecordFollowUpInput, set()),
    (schemas.RequestTeamReviewBody, contract.RequestTeamReviewInput, set()),
    (schemas.DecideTeamReviewBody, contract.DecideTeamReviewInput, set()),
    (schemas.RecordOutcomeBody, contract.RecordOutcomeInput, set()),
    (schemas.ConfirmSustainmentBody, contract.ConfirmSustainmentInput, set()),
    (schemas.CloseBody, contract.CloseInput, set()),
    (schemas.RecordFeedbackBody, contract.RecordFeedbackInput, set()),
]


@pytest.mark.parametrize(("body", "workflow_input", "from_path"), BODIES, ids=[b.__name__ for b, _, _ in BODIES])
def test_action_body_is_the_workflow_input_without_actor(
    body: type[BaseModel], workflow_input: type[BaseModel], from_path: set[str]
) -> None:
    expected = set(workflow_input.model_fields) - {"actor"} - from_path
    assert set(body.model_fields) == expected
    for name in expected:
        assert body.model_fields[name].annotation == workflow_input.model_fields[name].annotation, name


def test_intake_body_is_the_intake_without_registered_by_plus_demo_policy() -> None:
    assert set(schemas.IntakeBody.model_fields) == set(contract.IntakeInput.model_fields) - {"registered_by"} | {
        "policy"
    }
