"""Every shape of the export passes two FHIR validators this project did not write (HL7's R4 JSON schema
with Ajv, and Medplum's structure validator), and a bundle with a wrong code fails them: the check is live."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from interop.fhir import FhirSystems, pathway_bundle_json
from models import actions as a
from models.pathway import ClosureReason, ConsentScope, LongTermSolution, ReferralAnswer, ServiceKind
from tests.support.fhir_validators import validate_fhir

from .states import NURSE, StateBuilder

PARTNER = "kela-satakunta"
CLIENT = "client:0123456789abcdef"  # the client answering through their feedback link


def _with_referral() -> StateBuilder:
    """In services with a second service referred to a partner under the client's consent, and started."""
    builder = StateBuilder().later(3).triaged().goal("Työ osa-aikaisesti").later(30).in_services()
    builder.act(
        NURSE, a.RecordConsent(partner_id=PARTNER, scopes=[ConsentScope.REFERRAL], given_at=builder.now, note="Signed")
    )
    active = builder.process.services[0]
    kept = a.PlannedServiceInput(
        service_id=active.service_id, kind=active.kind, provider="Kela", planned_start=active.planned_start
    )
    new = a.PlannedServiceInput(
        kind=ServiceKind.EMPLOYMENT_SERVICES, provider="TE-palvelut", planned_start=builder.now + timedelta(days=14)
    )
    builder.act(NURSE, a.SetPlan(services=[kept, new], follow_up_interval=timedelta(days=30)))
    service_id = builder.created[-1]
    builder.act(NURSE, a.ReferService(service_id=service_id, partner_id=PARTNER, message="Needs a work try-out"))
    referral_id = builder.process.referrals[0].referral_id
    builder.later(2)
    return builder.act(f"partner:{PARTNER}", a.AnswerReferral(referral_id=referral_id, answer=ReferralAnswer.ACCEPTED))


def _shapes() -> dict[str, dict[str, Any]]:
    county = FhirSystems(
        base="https://fhir.satakunta.fi/tyokyky",
        organisation_name="Satakunnan hyvinvointialue",
        organisation_identifier="3221356-0",
    )
    referred = _with_referral().state
    return {
        "awaiting-triage": pathway_bundle_json(StateBuilder().state),
        "sustainment": pathway_bundle_json(StateBuilder().later(3).triaged().later(30).in_services().outcome().state),
        "held": pathway_bundle_json(
            StateBuilder().later(3).triaged().goal("Työ", achieved=True).later(30).in_services().outcome().held().state
        ),
        "did-not-hold": pathway_bundle_json(
            StateBuilder()
            .later(3)
            .triaged()
            .later(30)
            .in_services()
            .outcome(LongTermSolution.STUDIES)
            .did_not_hold()
            .state
        ),
        "closed-moved-away": pathway_bundle_json(
            StateBuilder()
            .later(3)
            .triaged()
            .later(30)
            .in_services()
            .review_requested()
            .closed(ClosureReason.MOVED_AWAY)
            .state
        ),
        "work-ability-measured": pathway_bundle_json(
            StateBuilder().later(3).triaged().measured().later(10).in_services().outcome().state
        ),
        "work-ability-declined": pathway_bundle_json(StateBuilder().later(3).triaged().measured(start=None).state),
        "client-feedback": pathway_bundle_json(
            StateBuilder()
            .later(3)
            .triaged()
            .act(CLIENT, a.RecordFeedback(rating=4, knows_whom_to_contact=True, comment="Good support"))
            .act(NURSE, a.RecordFeedback(rating=3))
            .act(CLIENT.replace("0", "1"), a.RecordFeedback(rating=5))
            .state
        ),
        "referral-and-consent": pathway_bundle_json(
            replace(
                referred,
                systems=county,
                partner_names={PARTNER: "Kela Satakunta"},
                staff_names={NURSE: "Terhi Virtanen"},
            )
        ),
    }


def test_every_shape_of_the_export_passes_both_independent_validators(tmp_path: Path) -> None:
    bundles = _shapes()
    referral = bundles["referral-and-consent"]
    kinds = {entry["resource"]["resourceType"] for entry in referral["entry"]}
    assert {"Consent", "ServiceRequest", "Task", "Encounter", "Goal", "CarePlan", "CareTeam"} <= kinds
    feedback = [
        e["resource"]
        for e in bundles["client-feedback"]["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    assert len(feedback) == 2  # the client's own two; the one staff wrote down is not the client's voice
    measured = [entry["resource"] for entry in bundles["work-ability-measured"]["entry"]]
    assert {"Observation", "Goal"} <= {resource["resourceType"] for resource in measured}
    assert validate_fhir(bundles, tmp_path) == {name: [] for name in bundles}


def test_a_wrong_code_or_a_missing_required_element_fails_the_validators(tmp_path: Path) -> None:
    good = _shapes()["sustainment"]
    wrong_status = copy.deepcopy(good)
    task = next(e["resource"] for e in wrong_status["entry"] if e["resource"]["resourceType"] == "Task")
    task["status"] = "almost-done"
    no_intent = copy.deepcopy(good)
    plan = next(e["resource"] for e in no_intent["entry"] if e["resource"]["resourceType"] == "CarePlan")
    del plan["intent"]
    report = validate_fhir({"wrong-status": wrong_status, "no-intent": no_intent}, tmp_path)
    assert any("status" in problem for problem in report["wrong-status"]), report
    assert any("intent" in problem for problem in report["no-intent"]), report
