"""The OpenAPI document is valid, lists every route, and every declared staff action has its route."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate

from workflows.actions import ACTIONS

EXPECTED_ROUTES = {
    ("post", "/pathways"),
    ("get", "/auth/session"),
    ("put", "/staff/{staff_id}/identity"),
    ("delete", "/staff/{staff_id}/identity"),
    ("get", "/audit"),
    ("get", "/audit/export.csv"),
    ("get", "/audit/signals"),
    ("get", "/pathways"),
    ("get", "/pathways/{pathway_id}"),
    ("get", "/pathways/{pathway_id}/timeline"),
    ("get", "/pathways/{pathway_id}/follow-ups"),
    ("get", "/clients/{client_reference}/pathways"),
    ("post", "/pathways/{pathway_id}/triage"),
    ("post", "/pathways/{pathway_id}/case-manager"),
    ("post", "/pathways/{pathway_id}/handover/accept"),
    ("post", "/pathways/{pathway_id}/handover/decline"),
    ("post", "/pathways/{pathway_id}/handover/withdraw"),
    ("post", "/pathways/{pathway_id}/transitions/{transition_id}/decision"),
    ("post", "/pathways/{pathway_id}/consents"),
    ("post", "/pathways/{pathway_id}/consents/{consent_id}/withdraw"),
    ("post", "/pathways/{pathway_id}/services/{service_id}/referral"),
    ("post", "/pathways/{pathway_id}/referrals/{referral_id}/answer"),
    ("post", "/pathways/{pathway_id}/network-meetings"),
    ("post", "/pathways/{pathway_id}/network-meetings/held"),
    ("get", "/teams/{team_id}/partners"),
    ("post", "/teams/{team_id}/partners"),
    ("patch", "/teams/{team_id}/partners/{partner_id}"),
    ("post", "/teams/{team_id}/handovers"),
    ("post", "/partner/callbacks/referrals"),
    ("post", "/pathways/{pathway_id}/goals"),
    ("post", "/pathways/{pathway_id}/goals/{goal_id}/attainment"),
    ("post", "/pathways/{pathway_id}/work-ability"),
    ("post", "/pathways/{pathway_id}/summary/given"),
    ("get", "/pathways/{pathway_id}/summary"),
    ("post", "/pathways/{pathway_id}/feedback-links"),
    ("get", "/pathways/{pathway_id}/feedback-links"),
    ("post", "/pathways/{pathway_id}/feedback-links/{link_id}/withdraw"),
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
    ("get", "/me"),
    ("put", "/me/contact"),
    ("put", "/staff/{staff_id}/contact"),
    ("put", "/teams/{team_id}/contact"),
    ("get", "/team-reviews"),
    ("get", "/staff"),
    ("post", "/staff"),
    ("post", "/staff/{staff_id}/tokens/revoke"),
    ("get", "/me/tokens"),
    ("post", "/me/tokens"),
    ("delete", "/me/tokens/{token_id}"),
    ("post", "/staff/{staff_id}/deactivate"),
    ("get", "/teams"),
    ("post", "/teams"),
    ("get", "/pathways/{pathway_id}/audit"),
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


async def test_every_declared_action_is_a_route_with_its_fields_as_the_body(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    for action in ACTIONS:
        operation = document["paths"][f"/pathways/{{pathway_id}}/{action.path}"]["post"]
        assert operation["operationId"] == action.name
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
        expected = set(action.fields.model_fields) - set(action.path_fields)
        assert set(body["properties"]) == expected, action.name
        assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == {"pathway_id", *action.path_fields}
