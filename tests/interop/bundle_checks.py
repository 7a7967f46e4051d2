"""What every exported bundle must satisfy, checked against the FHIR R4B specification by hand.

fhir.resources validates structure but not value sets, so the codes below are copied from the R4B
specification (hl7.org/fhir/R4B, ValueSet pages) rather than taken from the code under test.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import unquote

from fhir.resources.R4B.bundle import Bundle

from interop.fhir import FhirExportInput
from models.pathway import looks_like_personal_identity_code

EPISODE_OF_CARE_STATUS = {"planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error"}
REQUEST_STATUS = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
REQUEST_INTENT = {
    "proposal",
    "plan",
    "directive",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
}
CARE_PLAN_INTENT = {"proposal", "plan", "order", "option"}
CARE_TEAM_STATUS = {"proposed", "active", "suspended", "inactive", "entered-in-error"}
GOAL_LIFECYCLE_STATUS = {
    "proposed",
    "planned",
    "accepted",
    "active",
    "on-hold",
    "completed",
    "cancelled",
    "entered-in-error",
    "rejected",
}
GOAL_ACHIEVEMENT = {
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
}
CARE_PLAN_ACTIVITY_STATUS = {
    "not-started",
    "scheduled",
    "in-progress",
    "on-hold",
    "completed",
    "cancelled",
    "stopped",
    "unknown",
    "entered-in-error",
}
TASK_STATUS = {
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}
TASK_INTENT = {
    "unknown",
    "proposal",
    "plan",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_URN_UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def resources(bundle_json: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle_json["entry"] if e["resource"]["resourceType"] == resource_type]


def one(bundle_json: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources(bundle_json, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def resolve(bundle_json: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle_json["entry"] if e["fullUrl"] == reference["reference"])


def _references(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            found.append(node["reference"])
        for value in node.values():
            found.extend(_references(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_references(value))
    return found


def check_bundle(export: FhirExportInput, bundle: Bundle, bundle_json: dict[str, Any]) -> None:
    """Parses back, every reference resolves inside, codes in their value sets, no personal data."""
    assert bundle_json["resourceType"] == "Bundle"
    assert bundle_json["type"] == "transaction"
    # Parses back, from the dict and from the JSON text, to the same bundle.
    assert Bundle.model_validate(bundle_json).model_dump(mode="json") == bundle_json
    assert Bundle.model_validate_json(bundle.model_dump_json()).model_dump(mode="json") == bundle_json

    full_urls = [entry["fullUrl"] for entry in bundle_json["entry"]]
    assert len(full_urls) == len(set(full_urls)), "duplicate fullUrl"
    conditional_urls = [entry["request"]["url"] for entry in bundle_json["entry"]]
    assert len(conditional_urls) == len(set(conditional_urls)), "two entries update the same resource"
    for entry in bundle_json["entry"]:
        assert _URN_UUID.match(entry["fullUrl"]), entry["fullUrl"]
        resource = entry["resource"]
        # A conditional update by the resource's own first identifier: the server assigns the id.
        assert "id" not in resource
        identifier = resource["identifier"][0] if isinstance(resource["identifier"], list) else resource["identifier"]
        method, url = entry["request"]["method"], entry["request"]["url"]
        resource_type, _, query = url.partition("?identifier=")
        assert (method, resource_type) == ("PUT", resource["resourceType"]), entry["request"]
        assert unquote(query) == f"{identifier['system']}|{identifier['value']}", url
        assert resource["text"]["status"] == "generated"
        assert resource["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    references = _references(bundle_json["entry"])
    assert references, "a pathway bundle links its resources"
    dangling = [reference for reference in references if reference not in full_urls]
    assert not dangling, f"references outside the bundle: {dangling}"
    for entry in bundle_json["entry"]:
        for reference in _references(entry["resource"]):
            target = resolve(bundle_json, {"reference": reference})
            assert target is not entry["resource"], "a resource refers to itself"

    _check_codes(bundle_json)
    _check_privacy(export, bundle_json)


def _check_codes(bundle_json: dict[str, Any]) -> None:
    for episode in resources(bundle_json, "EpisodeOfCare"):
        assert episode["status"] in EPISODE_OF_CARE_STATUS
        for item in episode["statusHistory"]:
            assert item["status"] in EPISODE_OF_CARE_STATUS
    for request in resources(bundle_json, "ServiceRequest"):
        assert request["status"] in REQUEST_STATUS
        assert request["intent"] in REQUEST_INTENT
    for team in resources(bundle_json, "CareTeam"):
        assert team["status"] in CARE_TEAM_STATUS
    for goal in resources(bundle_json, "Goal"):
        assert goal["lifecycleStatus"] in GOAL_LIFECYCLE_STATUS
        codings = goal["achievementStatus"]["coding"]
        assert codings[0]["system"] == "http://terminology.hl7.org/CodeSystem/goal-achievement"
        assert codings[0]["code"] in GOAL_ACHIEVEMENT
    for plan in resources(bundle_json, "CarePlan"):
        assert plan["status"] in REQUEST_STATUS
        assert plan["intent"] in CARE_PLAN_INTENT
        for activity in plan.get("activity", []):
            assert activity["detail"]["status"] in CARE_PLAN_ACTIVITY_STATUS
    for task in resources(bundle_json, "Task"):
        assert task["status"] in TASK_STATUS
        assert task["intent"] in TASK_INTENT


def _check_privacy(export: FhirExportInput, bundle_json: dict[str, Any]) -> None:
    state = export.record
    text = json.dumps(bundle_json, ensure_ascii=False)
    # Random UUIDs (resource ids) can contain an identity-code-like run of characters; they are not one.
    assert not looks_like_personal_identity_code(_UUID.sub("<uuid>", text)), "something like an identity code"
    patient = one(bundle_json, "Patient")
    assert set(patient) == {"resourceType", "identifier", "text"}
    assert patient["identifier"] == [{"system": export.systems.client_reference, "value": state.client_reference}]
    for practitioner in resources(bundle_json, "Practitioner"):
        # The staff id, and the display name the register has: nothing else about staff.
        assert set(practitioner) <= {"resourceType", "identifier", "text", "name"}
    # Staff's and the client's free texts stay home; the client's own goals are the exception.
    private_texts = [state.referral.reason]
    private_texts += [f.note for f in state.follow_ups]
    private_texts += [r.reason for r in state.team_reviews] + [r.decision_note or "" for r in state.team_reviews]
    private_texts += [i.result_summary or "" for i in state.investigations]
    private_texts += [fb.comment or "" for fb in state.feedback]
    if state.closure:
        private_texts.append(state.closure.note)
    if state.assessment:
        private_texts += [state.assessment.summary or "", state.assessment.recommendation or ""]
    for outcome in [*state.past_outcomes, *([state.outcome] if state.outcome else [])]:
        private_texts.append(outcome.description)
    leaked = [t for t in private_texts if t and json.dumps(t, ensure_ascii=False)[1:-1] in text]
    assert not leaked, f"free text exported: {leaked}"


def status_history(bundle_json: dict[str, Any]) -> list[str]:
    episode = one(bundle_json, "EpisodeOfCare")
    history = episode["statusHistory"]
    # Contiguous periods, the last one still open: the current status.
    for earlier, later in itertools.pairwise(history):
        assert earlier["period"]["end"] == later["period"]["start"]
    assert "end" not in history[-1]["period"]
    assert history[-1]["status"] == episode["status"]
    return [item["status"] for item in history]


def tasks_by_code(bundle_json: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [t for t in resources(bundle_json, "Task") if t["code"]["coding"][0]["code"] == code]
