"""OpenAPI links: which answer gives the id the next request needs.

A referral's answer names the new pathway, and every read and action on it takes that id; an action's
answer names the ids it gave out (`created_ids`: the investigation, the plan's services, the consent, the
referral), which the next actions take. Written into the published document once, from the routes
themselves, so a client generator, the interactive docs and the stateful fuzzing in the suite
(`tests/api/test_fuzz.py`) all follow the same chains through real pathways, partners and consents.
"""

from __future__ import annotations

import re
from typing import Any

PATHWAY_PARAMETER = "{pathway_id}"
# An action whose answer's first created id is the item the next route names: producer path -> (parameter,
# the routes that take it). Paths are relative to /pathways/{pathway_id}.
CREATED_ITEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "investigations": ("investigation_id", ("investigations/{investigation_id}/complete",)),
    "plan": ("service_id", ("services/{service_id}", "services/{service_id}/referral")),
    "consents": ("consent_id", ("consents/{consent_id}/withdraw",)),
    "services/{service_id}/referral": ("referral_id", ("referrals/{referral_id}/answer",)),
}


def _name(operation_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]", "_", operation_id)


def _link(operation: dict[str, Any], parameters: dict[str, str], description: str) -> dict[str, Any]:
    return {"operationId": operation["operationId"], "parameters": parameters, "description": description}


def _success(operation: dict[str, Any]) -> dict[str, Any] | None:
    responses = operation.get("responses", {})
    return next((responses[code] for code in ("201", "200") if code in responses), None)


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """The document with links on the producers' success answers (links already there are kept)."""
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    pathway_prefix = f"/pathways/{PATHWAY_PARAMETER}"
    on_pathway = [
        operation
        for path, operations in paths.items()
        for operation in operations.values()
        if path.startswith(pathway_prefix) and path.count("{") == 1 and "operationId" in operation
    ]

    def link_to(response: dict[str, Any] | None, target: dict[str, Any], parameters: dict[str, str], why: str) -> None:
        if response is not None:
            response.setdefault("links", {}).setdefault(_name(target["operationId"]), _link(target, parameters, why))

    # The intake's answer names the pathway: every read and action on it follows.
    intake = paths.get("/pathways", {}).get("post")
    if intake is not None:
        for target in on_pathway:
            link_to(_success(intake), target, {"pathway_id": "$response.body#/pathway_id"}, "The new pathway.")
    # What an action gave out, the next action takes.
    for producer, (parameter, consumers) in CREATED_ITEMS.items():
        operation = paths.get(f"{pathway_prefix}/{producer}", {}).get("post")
        if operation is None:
            continue
        for consumer in consumers:
            target = paths.get(f"{pathway_prefix}/{consumer}", {}).get("post")
            if target is None:
                continue
            fields = {"pathway_id": "$response.body#/pathway_id", parameter: "$response.body#/created_ids/0"}
            for known in re.findall(r"\{(\w+)\}", producer):
                if f"{{{known}}}" in consumer:
                    fields.setdefault(known, f"$request.path.{known}")
            link_to(_success(operation), target, fields, f"The {parameter.removesuffix('_id')} this action gave out.")
    # A team's new partner is the one its register's next change names.
    partners = paths.get("/teams/{team_id}/partners", {}).get("post")
    change = paths.get("/teams/{team_id}/partners/{partner_id}", {}).get("patch")
    if partners is not None and change is not None:
        link_to(
            _success(partners),
            change,
            {"team_id": "$request.path.team_id", "partner_id": "$response.body#/partner_id"},
            "The partner just added.",
        )
    return document
