"""Work ability measured through a whole pathway (issue 36), on the real API, worker, dev server and
database: the client's Work Ability Score at each moment the seeds ask and a GAS goal scored at a review
and at the end, from the referral to a solution that held, read back from the record, the outcome report
(JSON, the Finnish CSV, the PDF) and the FHIR export."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.fixtures import Org
from tests.support.helpers import eventually, ok, service_body
from tests.support.helpers import start_via_api as start

READ = {"purpose": "client_work"}
LEVELS = {
    "gas_much_less": "Does not leave home on weekdays",
    "gas_less": "Visits the work activity centre once a week",
    "gas_expected": "Work try-out two days a week",
    "gas_more": "Work try-out three days a week",
    "gas_much_more": "Part-time job",
}


@pytest.mark.parametrize(
    "body",
    [{"score": 11}, {"score": -1}, {"score": 7.5}, {"score": "7"}, {"score": True}, {}, {"score": 3, "declined": True}],
)
async def test_anything_but_an_integer_0_to_10_or_declined_is_a_422_that_changes_nothing(
    api: httpx.AsyncClient, org: Org, body: dict[str, Any]
) -> None:
    state = await start(api, org.coordinator.auth, org.team)
    pathway = f"/pathways/{state['pathway_id']}"
    response = await api.post(f"{pathway}/work-ability", json=body, headers=org.coordinator.auth)
    assert response.status_code == 422, response.text
    assert response.json()["detail"], "the error says what was wrong"
    record = await eventually(lambda: _read(api, org, pathway), what="the referral is recorded")
    assert record["work_ability"] == [] and record["recorded_sequence"] == 1


async def _read(api: httpx.AsyncClient, org: Org, pathway: str) -> dict[str, Any] | None:
    response = await api.get(pathway, params=READ, headers=org.coordinator.auth)
    return response.json() if response.status_code == 200 else None


async def test_a_pathway_from_referral_to_a_held_solution_carries_both_measures_into_record_report_and_fhir(
    api: httpx.AsyncClient, org: Org
) -> None:
    # A demo pathway, so its sustainment period can be two seconds.
    state = await start(
        api,
        org.coordinator.auth,
        org.team,
        referral_source="self_referral",
        referring_organisation=None,
        demo=True,
        policy={"sustainment_period": "PT2S", "sustainment_confirm_grace": "PT1H"},
    )
    pathway = f"/pathways/{state['pathway_id']}"
    nurse, coordinator = org.nurse.auth, org.coordinator.auth

    async def post(path: str, body: dict[str, Any], auth: dict[str, str] = nurse) -> dict[str, Any]:
        answer: dict[str, Any] = ok(await api.post(f"{pathway}/{path}", json=body, headers=auth))
        return answer

    await post("work-ability", {"score": 3}, coordinator)  # at referral, before triage: filed under triage
    await post("triage", {"route": "health_check", "case_manager": org.nurse.staff_id}, coordinator)
    review = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    goal = await post("goals", {"text": "Back to work", "target_date": review, "gas_baseline": -1, **LEVELS})
    [goal_id] = goal["created_ids"]
    await post("assessment", {"summary": "Fair", "recommendation": "Work try-out"})
    await post("work-ability", {"declined": True, "occasion": "assessment"})
    await post("plan", {"services": [service_body()]})
    await post("work-ability", {"score": 4, "occasion": "plan"})
    next_review = (datetime.now(UTC) + timedelta(days=120)).isoformat()
    await post(f"goals/{goal_id}/attainment", {"attainment": -1, "next_review_at": next_review})
    await post("outcome", {"solution": "employment", "description": "Part-time work in retail"})
    await post("work-ability", {"score": 6, "occasion": "outcome"})
    await post(f"goals/{goal_id}/attainment", {"attainment": 1, "occasion": "closing"})
    refused = await api.post(
        f"{pathway}/goals/{goal_id}/attainment", json={"attainment": 1}, headers=nurse
    )  # a review without its next date
    assert refused.status_code == 422 and "next_review_at" in refused.text
    await asyncio.sleep(2.5)  # the sustainment period ends: the answer now is the one at its end
    await post("work-ability", {"score": 8})
    await post("sustainment/confirm", {"held": True, "note": "Still at work"})

    async def closed() -> dict[str, Any] | None:
        record = await _read(api, org, pathway)
        return record if record and record["stage"] == "closed" and record["process"] == "closed" else None

    record = await eventually(closed, what="the closed pathway in the record")
    answers = [(a["occasion"], a["score"], a["declined"]) for a in record["work_ability"]]
    assert answers == [
        ("triage", 3, False),
        ("assessment", None, True),
        ("plan", 4, False),
        ("outcome", 6, False),
        ("sustainment_end", 8, False),
    ]
    measures = record["measures"]
    assert measures["work_ability_first"]["score"] == 3 and measures["work_ability_latest"]["score"] == 8
    assert measures["work_ability_change"] == "improved" and measures["work_ability_declined"] == 1
    assert measures["gas_t_score"] == 60.0 and measures["gas_goals_at_or_above_expected"] == 1
    [gas_goal] = record["goals"]
    assert [score["level"] for score in gas_goal["scores"]] == [-1, 1]

    report = ok(await api.get("/reports/outcomes", params={"team": org.team}, headers=coordinator))
    figures = report["work_ability"]
    assert figures["start"] == {"count": 1, "median": 3.0, "bands": {"poor": 1, "moderate": 0, "good": 0}}
    assert figures["end"]["median"] == 6.0 and figures["after_solution"]["median"] == 8.0
    assert figures["change"]["improved"] == {"count": 1, "share": 1.0}
    assert figures["declined_answers"] == 1 and figures["without_measure"] == 0
    assert figures["gas"]["t_score_median"] == 60.0 and figures["gas"]["at_or_above_expected"]["share"] == 1.0
    assert [group["group"] for group in figures["by_route"]] == ["health_check"]

    response = await api.get(
        "/reports/outcomes", params={"team": org.team, "format": "csv", "lang": "fi"}, headers=coordinator
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    assert ["work_ability", "start_median", "", "3,0"] in rows
    assert ["gas", "t_score_median", "", "60,0"] in rows
    pdf = await api.get("/reports/outcomes", params={"team": org.team, "format": "pdf"}, headers=coordinator)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    bundle = ok(await api.get(f"{pathway}/fhir", headers=nurse))
    resources = [entry["resource"] for entry in bundle["entry"]]
    scores = [
        r.get("valueInteger")
        for r in resources
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "work-ability-score"
    ]
    assert scores == [3, None, 4, 6, 8]
    [goal_resource] = [r for r in resources if r["resourceType"] == "Goal"]
    assert goal_resource["achievementStatus"]["coding"][0]["code"] == "achieved"
    assert len(goal_resource["outcomeReference"]) == 2
