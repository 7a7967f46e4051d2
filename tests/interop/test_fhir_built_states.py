"""FHIR export of pathway shapes built directly (months-long shapes the live tests cannot wait for)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from interop.fhir import (
    FhirExportInput,
    FhirSystems,
    episode_status,
    gas_achievement,
    pathway_bundle,
    pathway_bundle_json,
)
from models import actions as a
from models.pathway import ClosureReason, LongTermSolution, Stage

from .bundle_checks import check_bundle, one, resolve, resources, status_history, tasks_by_code
from .states import NURSE, StateBuilder


def _export(state: FhirExportInput) -> dict[str, Any]:
    bundle_json = pathway_bundle_json(state)
    check_bundle(state, pathway_bundle(state), bundle_json)
    return bundle_json


def _extension_stage(bundle: dict[str, Any]) -> str:
    return str(one(bundle, "EpisodeOfCare")["extension"][0]["valueCoding"]["code"])


def test_awaiting_triage_is_a_waitlisted_episode_with_an_active_referral_and_no_care_team() -> None:
    state = StateBuilder().state
    bundle = _export(state)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "waitlist"
    assert status_history(bundle) == ["waitlist"]
    assert _extension_stage(bundle) == "awaiting_triage"
    assert resolve(bundle, episode["referralRequest"][0])["status"] == "active"
    assert "careManager" not in episode and "end" not in episode["period"]
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {
        "EpisodeOfCare",
        "Patient",
        "Organization",
        "ServiceRequest",
    }


def test_sustainment_is_still_an_active_episode_with_the_next_follow_up_due() -> None:
    state = StateBuilder().later(3).triaged().goal("Oma tavoite: työ").later(30).in_services().later(10).outcome().state
    bundle = _export(state)
    assert one(bundle, "EpisodeOfCare")["status"] == "active"
    assert _extension_stage(bundle) == "sustainment"
    assert status_history(bundle) == ["waitlist", "active"]
    assert one(bundle, "CarePlan")["status"] == "active"
    assert [a["detail"]["status"] for a in one(bundle, "CarePlan")["activity"]] == ["completed"]
    # The contact that happened is an Encounter in the episode; the next one due is a Task.
    [contact] = resources(bundle, "Encounter")
    assert (
        contact["status"] == "finished"
        and resolve(bundle, contact["episodeOfCare"][0])["resourceType"] == "EpisodeOfCare"
    )
    assert [t["status"] for t in tasks_by_code(bundle, "follow_up_contact")] == ["ready"]
    assert [g["lifecycleStatus"] for g in resources(bundle, "Goal")] == ["active"]


def test_closed_after_the_solution_held_is_a_finished_episode_with_everything_completed() -> None:
    state = (
        (StateBuilder().later(3).triaged().goal("Työpaikka", achieved=True).goal("Liikkua enemmän"))
        .later(30)
        .in_services()
        .later(10)
        .outcome(LongTermSolution.STUDIES)
        .held()
        .state
    )
    bundle = _export(state)
    episode = one(bundle, "EpisodeOfCare")
    assert episode["status"] == "finished"
    assert status_history(bundle) == ["waitlist", "active", "finished"]
    assert episode["period"]["end"] == state.record.closure.closed_at.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    assert resolve(bundle, episode["referralRequest"][0])["status"] == "completed"
    assert one(bundle, "CarePlan")["status"] == "completed"
    care_team = one(bundle, "CareTeam")
    assert care_team["status"] == "inactive"
    assert all("end" in p["period"] for p in care_team["participant"])
    # The last case manager stays named on the closed episode.
    assert resolve(bundle, episode["careManager"])["identifier"][0]["value"] == NURSE
    assert sorted(
        (g["lifecycleStatus"], g["achievementStatus"]["coding"][0]["code"]) for g in resources(bundle, "Goal")
    ) == [
        ("cancelled", "not-achieved"),
        ("completed", "achieved"),
    ]
    # No open follow-up once the pathway is closed; the contact that happened stays an Encounter.
    assert tasks_by_code(bundle, "follow_up_contact") == []
    assert [e["status"] for e in resources(bundle, "Encounter")] == ["finished"]


def test_solution_that_did_not_hold_is_back_in_services_with_a_team_review_requested() -> None:
    state = StateBuilder().later(3).triaged().later(30).in_services().later(10).outcome().did_not_hold().state
    bundle = _export(state)
    assert one(bundle, "EpisodeOfCare")["status"] == "active"
    assert _extension_stage(bundle) == "in_services"
    [review] = tasks_by_code(bundle, "team_review")
    assert review["status"] == "requested"
    assert review["reasonCode"]["coding"][0]["code"] == "solution_did_not_hold"
    assert resolve(bundle, review["requester"])["identifier"][0]["value"] == NURSE


@pytest.mark.parametrize(
    "reason", [ClosureReason.CLIENT_DECLINED, ClosureReason.MOVED_AWAY, ClosureReason.NO_NEED, ClosureReason.OTHER]
)
def test_closed_for_any_other_reason_is_a_cancelled_episode_with_a_revoked_plan(reason: ClosureReason) -> None:
    builder = StateBuilder().later(3).triaged().later(30).in_services().review_requested("Not reachable")
    state = builder.later(5).closed(reason).state
    bundle = _export(state)
    assert one(bundle, "EpisodeOfCare")["status"] == "cancelled"
    assert status_history(bundle) == ["waitlist", "active", "cancelled"]
    assert one(bundle, "CarePlan")["status"] == "revoked"
    assert resolve(bundle, one(bundle, "EpisodeOfCare")["referralRequest"][0])["status"] == "revoked"
    # A review nobody decided before the close is settled by the closure (decided "close").
    assert [t["status"] for t in tasks_by_code(bundle, "team_review")] == ["completed"]


def test_stage_to_status_mapping_covers_every_stage_and_closure_reason() -> None:
    expected = {
        Stage.AWAITING_TRIAGE: "waitlist",
        Stage.ASSESSMENT: "active",
        Stage.PLANNING: "active",
        Stage.IN_SERVICES: "active",
        Stage.SUSTAINMENT: "active",
    }
    for stage, status in expected.items():
        assert episode_status(stage) == status
    assert episode_status(Stage.CLOSED, ClosureReason.COMPLETED) == "finished"
    for reason in ClosureReason:
        if reason is not ClosureReason.COMPLETED:
            assert episode_status(Stage.CLOSED, reason) == "cancelled"


def test_identity_code_in_a_goal_is_redacted_and_the_rest_of_the_clients_words_kept() -> None:
    state = StateBuilder().later(1).triaged().goal("Haluan töihin, hetu 131052-308T mainittu vahingossa").state
    bundle = _export(state)
    [goal] = resources(bundle, "Goal")
    assert goal["description"]["text"] == "Haluan töihin, hetu [redacted] mainittu vahingossa"


def test_the_same_state_exports_the_same_ids_and_another_pathway_different_ones() -> None:
    first = pathway_bundle_json(StateBuilder("client-aaaa").later(1).triaged().state)
    again = pathway_bundle_json(StateBuilder("client-aaaa").later(1).triaged().state)
    other = pathway_bundle_json(StateBuilder("client-bbbb").later(1).triaged().state)
    assert first == again  # a re-export updates the same resources (the same conditional updates)
    assert not {e["fullUrl"] for e in first["entry"]} & {e["fullUrl"] for e in other["entry"]}


def test_a_later_pathway_of_the_same_client_never_updates_the_earlier_ones_resources() -> None:
    earlier = pathway_bundle_json(StateBuilder("client-aaaa").later(1).triaged().goal("Työ").state)
    later = pathway_bundle_json(StateBuilder("client-aaaa", ordinal=2).later(1).triaged().goal("Työ").state)
    updates = {e["request"]["url"]: e["resource"]["resourceType"] for e in earlier["entry"]}
    shared = {url: kind for url, kind in updates.items() if url in {e["request"]["url"] for e in later["entry"]}}
    # Only the client, the staff and the organisations are the same resources; the episode and all it holds
    # are the later pathway's own.
    assert set(shared.values()) <= {"Patient", "Practitioner", "Organization"}, shared
    assert "Patient" in shared.values()


def test_identifier_systems_and_the_organisation_are_the_deployments() -> None:
    systems = FhirSystems(
        base="https://fhir.satakunta.fi/tyokyky",
        organisation_name="Satakunnan hyvinvointialue",
        organisation_identifier="3221356-0",
    )
    state = StateBuilder("client-aaaa").later(1).triaged().state
    bundle = pathway_bundle_json(replace(state, systems=systems))
    assert one(bundle, "Patient")["identifier"][0]["system"] == "https://fhir.satakunta.fi/tyokyky/client-reference"
    assert one(bundle, "EpisodeOfCare")["identifier"][0]["system"] == "https://fhir.satakunta.fi/tyokyky/pathway-id"
    team = next(o for o in resources(bundle, "Organization") if "partOf" in o)
    county = resolve(bundle, team["partOf"])
    assert (county["name"], county["identifier"][0]["value"]) == ("Satakunnan hyvinvointialue", "3221356-0")
    assert "urn:workability-pathways:client-reference" not in json.dumps(bundle)


def test_work_ability_answers_are_survey_observations_and_a_gas_goal_carries_its_levels_and_scores() -> None:
    bundle = _export(StateBuilder().later(3).triaged().measured(start=None, end=6).state)
    resources = [entry["resource"] for entry in bundle["entry"]]
    episode = next(
        entry["fullUrl"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "EpisodeOfCare"
    )
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    answers = [o for o in observations if o["code"]["coding"][0]["code"] == "work-ability-score"]
    declined, scored = answers
    assert declined["dataAbsentReason"]["coding"][0]["code"] == "asked-declined" and "valueInteger" not in declined
    assert scored["valueInteger"] == 6 and scored["interpretation"][0]["coding"][0]["code"] == "moderate"
    assert scored["category"][0]["coding"][0]["code"] == "survey"
    assert scored["code"]["coding"][0]["system"] == "urn:workability-pathways:measure"  # the deployment's system
    assert scored["extension"][0]["valueReference"]["reference"] == episode
    [goal_entry] = [entry for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Goal"]
    goal = goal_entry["resource"]
    assert (
        goal["target"][0]["detailInteger"] == 0
        and goal["target"][0]["measure"]["coding"][0]["code"] == "gas-attainment"
    )
    assert [note["text"].split(":")[0] for note in goal["note"]] == [
        "GAS -2",
        "GAS -1",
        "GAS 0 (expected)",
        "GAS +1",
        "GAS +2",
        "GAS level at the start",
    ]
    assert goal["achievementStatus"]["coding"][0]["code"] == "achieved" and goal["lifecycleStatus"] == "completed"
    scores = [o for o in observations if o["code"]["coding"][0]["code"] == "gas-attainment"]
    assert [o["valueInteger"] for o in scores] == [-1, 1]
    assert all(o["focus"][0]["reference"] == goal_entry["fullUrl"] for o in scores)
    assert sorted(ref["reference"] for ref in goal["outcomeReference"]) == sorted(
        entry["fullUrl"] for entry in bundle["entry"] if entry["resource"] in scores
    )


@pytest.mark.parametrize(
    ("level", "baseline", "final", "expected"),
    [
        (0, -1, False, "achieved"),
        (2, -2, True, "achieved"),
        (-1, -2, False, "improving"),
        (-1, -1, False, "no-change"),
        (-2, -1, False, "worsening"),
        (-1, -2, True, "not-achieved"),
    ],
)
def test_a_gas_goals_achievement_follows_its_attained_level(
    level: int, baseline: int, final: bool, expected: str
) -> None:
    assert gas_achievement(level, baseline, final=final) == expected


def test_a_gas_goal_of_a_closed_pathway_and_every_occasion_are_exported_consistently() -> None:
    builder = StateBuilder().later(3).triaged()
    levels = {name: f"Level {name}" for name in a.GAS_LEVEL_FIELDS}
    builder.act(NURSE, a.SetGoal(text="Work", gas_baseline=-2, target_date=builder.now + timedelta(days=30), **levels))
    goal_id = builder.created[-1]
    builder.act(NURSE, a.ScoreGoal(goal_id=goal_id, attainment=-1, next_review_at=builder.now + timedelta(days=60)))
    bundle = _export(builder.closed(ClosureReason.CLIENT_DECLINED).state)
    goal = one(bundle, "Goal")
    # Closed with only a review score: no longer pursued, and its attainment final (below expected).
    assert goal["lifecycleStatus"] == "cancelled"
    assert goal["achievementStatus"]["coding"][0]["code"] == "not-achieved"
    [score] = [r for r in resources(bundle, "Observation") if r["code"]["coding"][0]["code"] == "gas-attainment"]
    occasion = next(e for e in score["extension"] if e["url"].endswith("measure-occasion"))["valueCoding"]
    assert (occasion["code"], occasion["display"]) == ("review", "At a review")


def test_every_occasion_has_a_display_in_the_export() -> None:
    from interop.fhir import _OCCASION_NAMES
    from models.measures import GasOccasion, WorkAbilityOccasion

    assert {*map(str, WorkAbilityOccasion), *map(str, GasOccasion)} == set(_OCCASION_NAMES)


def test_the_clients_own_feedback_is_a_questionnaire_response_authored_by_the_patient() -> None:
    builder = StateBuilder().later(3).triaged()
    builder.act("client:0123456789abcdef", a.RecordFeedback(rating=4, knows_whom_to_contact=False, comment="Kiitos"))
    bundle = _export(builder.state)
    response = one(bundle, "QuestionnaireResponse")
    patient = one(bundle, "Patient")
    patient_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is patient)
    assert response["author"]["reference"] == patient_url and response["subject"]["reference"] == patient_url
    assert response["status"] == "completed"
    assert [(item["linkId"], item["answer"][0]) for item in response["item"]] == [
        ("rating", {"valueInteger": 4}),
        ("knows-whom-to-contact", {"valueBoolean": False}),
    ]
    assert "Kiitos" not in json.dumps(bundle)  # the comment stays out
