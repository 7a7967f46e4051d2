"""Work ability on the pathway page (issue 36): the Work Ability Score asked where the seeds' flow asks, as a
radio group, its chart and table; GAS goals with their levels, scores and T-score. The real app, worker and
dev server, over HTTP; the browser tests click the same forms."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from core.i18n import datetime_local_value, gettext, pgettext
from tests.support.fixtures import Org
from tests.support.helpers import intake_body, ok
from tests.web.test_pages import READ, form_token, new_pathway, signed_in

FI = "fi"  # the organisation's staff read Finnish
LEVELS = {
    "gas_much_less": "Stays at home",
    "gas_less": "Visits the workshop once",
    "gas_expected": "Work trial twice a week",
    "gas_more": "Work trial three times a week",
    "gas_much_more": "Part-time job",
}


async def _record(web: httpx.AsyncClient, org: Org, pathway_id: str) -> dict[str, Any]:
    record: dict[str, Any] = ok(await web.get(f"/pathways/{pathway_id}", params=READ, headers=org.nurse.auth))
    return record


async def test_after_triage_the_page_asks_the_score_as_a_radio_group_and_records_the_answer(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    coordinator = signed_in(sqlite_engine, org.coordinator)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=coordinator)
    triaged = await web.post(
        f"/app/pathways/{pathway_id}/do/triage",
        data={"csrf": form_token(page), "route": "health_check", "case_manager": org.nurse.staff_id},
        headers=coordinator,
    )
    asked = await web.get(triaged.headers["location"].split("#")[0], headers=coordinator)
    # The form is open, its occasion chosen, eleven scores and "did not want to answer" as radios in a fieldset.
    form = asked.text.split('id="record_work_ability"')[1].split("</details>")[0]
    assert form.lstrip().startswith("open")
    assert re.search(r'<option value="triage" selected>', form)
    radios = re.findall(r'type="radio"[^>]*name="score" value="([^"]+)"', form)
    assert radios == [*map(str, range(11)), "declined"]
    assert "<legend>" in form and 'class="hint"' in form  # the scale explained beside the choices

    # An impossible score is refused beside the field and changes nothing.
    refused = await web.post(
        f"/app/pathways/{pathway_id}/do/record_work_ability",
        data={"csrf": form_token(asked), "score": "11", "occasion": "triage"},
        headers=coordinator,
    )
    assert refused.status_code == 422
    assert "less than or equal to 10" in refused.text
    nothing = await web.post(
        f"/app/pathways/{pathway_id}/do/record_work_ability",
        data={"csrf": form_token(asked), "occasion": "triage"},
        headers=coordinator,
    )
    assert nothing.status_code == 422 and "did not want to answer" in nothing.text
    assert (await _record(web, org, pathway_id))["work_ability"] == []

    saved = await web.post(
        f"/app/pathways/{pathway_id}/do/record_work_ability",
        data={"csrf": form_token(asked), "score": "4", "occasion": "triage"},
        headers=coordinator,
    )
    assert saved.status_code == 303, saved.text[-2000:]
    nurse = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=nurse)
    declined = await web.post(
        f"/app/pathways/{pathway_id}/do/record_work_ability",
        data={"csrf": form_token(page), "score": "declined"},
        headers=nurse,
    )
    assert declined.status_code == 303
    later = await web.post(
        f"/app/pathways/{pathway_id}/do/record_work_ability",
        data={"csrf": form_token(page), "score": "7", "occasion": "follow_up"},
        headers=nurse,
    )
    assert later.status_code == 303

    record = await _record(web, org, pathway_id)
    answers = [(a["score"], a["declined"], a["occasion"], a["asked_by"]) for a in record["work_ability"]]
    assert answers == [
        (4, False, "triage", org.coordinator.staff_id),
        (None, True, "assessment", org.nurse.staff_id),  # from the stage when not named
        (7, False, "follow_up", org.nurse.staff_id),
    ]
    assert record["measures"]["work_ability_change"] == "improved"
    assert record["measures"]["work_ability_declined"] == 1

    page = await web.get(f"/app/pathways/{pathway_id}", headers=nurse)
    figure = page.text.split('<figure class="work-ability">')[1].split("</figure>")[0]
    # Readable without colour: the bands are named in text, each point carries its score.
    bands = ("Poor (0-5)", "Moderate (6-7)", "Good or excellent (8-10)")
    assert all(pgettext(FI, "label", band) in figure for band in bands)
    assert re.findall(r"<circle class=\"point\"", figure) and ">4</text>" in figure and ">7</text>" in figure
    assert gettext(FI, "did not want to answer") in page.text  # the declined answer is listed, not hidden


async def test_a_gas_goal_is_written_scored_and_its_t_score_shown(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    ok(
        await web.post(
            f"/pathways/{pathway_id}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=org.coordinator.auth,
        )
    )
    nurse = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=nurse)
    review = datetime_local_value(datetime.now(UTC) + timedelta(days=60))
    incomplete = await web.post(
        f"/app/pathways/{pathway_id}/do/set_goal",
        data={"csrf": form_token(page), "text": "Back to work", "target_date": review, "gas_baseline": "-1"},
        headers=nurse,
    )
    assert incomplete.status_code == 422 and "describes all five levels" in incomplete.text
    saved = await web.post(
        f"/app/pathways/{pathway_id}/do/set_goal",
        data={"csrf": form_token(page), "text": "Back to work", "target_date": review, "gas_baseline": "-1", **LEVELS},
        headers=nurse,
    )
    assert saved.status_code == 303, saved.text[-2000:]
    record = await _record(web, org, pathway_id)
    [goal] = record["goals"]
    assert goal["gas_baseline"] == -1 and goal["gas_expected"] == LEVELS["gas_expected"]

    page = await web.get(f"/app/pathways/{pathway_id}", headers=nurse)
    assert gettext(FI, "GAS goal") in page.text and LEVELS["gas_much_more"] in page.text
    levels = re.findall(r'type="radio"[^>]*name="attainment" value="([^"]+)"', page.text)
    assert levels == ["-2", "-1", "0", "1", "2"]
    scored = await web.post(
        f"/app/pathways/{pathway_id}/do/score_goal",
        data={
            "csrf": form_token(page),
            "goal_id": goal["goal_id"],
            "attainment": "1",
            "occasion": "review",
            "next_review_at": datetime_local_value(datetime.now(UTC) + timedelta(days=90)),
        },
        headers=nurse,
    )
    assert scored.status_code == 303, scored.text[-2000:]

    assert (await _record(web, org, pathway_id))["measures"]["gas_t_score"] == 60.0
    page = await web.get(f"/app/pathways/{pathway_id}", headers=nurse)
    assert (
        gettext(FI, "GAS T-score of the scored goals: %(score)s (50 = every goal as expected).") % {"score": "60"}
        in page.text
    )
    assert re.search(r'class="attained">\+1', page.text)


async def test_once_the_solution_has_been_followed_the_page_asks_before_it_is_confirmed(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    """Confirming that the solution held closes the pathway, so the page asks for the last Work Ability Score
    and the GAS goals' final scores while the pathway is still open."""
    policy = {"sustainment_period": "PT1S", "sustainment_confirm_grace": "PT1H"}
    receipt = ok(
        await web.post("/pathways", json=intake_body(org.team, demo=True, policy=policy), headers=org.nurse.auth), 201
    )
    pathway = f"/pathways/{receipt['pathway_id']}"
    nurse = org.nurse.auth
    ok(
        await web.post(
            f"{pathway}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=org.coordinator.auth,
        )
    )
    review = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    ok(
        await web.post(
            f"{pathway}/goals",
            json={"text": "Work", "gas_baseline": -1, "target_date": review, **LEVELS},
            headers=nurse,
        )
    )
    ok(await web.post(f"{pathway}/assessment", json={"summary": "s", "recommendation": "r"}, headers=nurse))
    ok(await web.post(f"{pathway}/outcome", json={"solution": "employment", "description": "Job"}, headers=nurse))
    await asyncio.sleep(1.5)
    page = await web.get(f"/app/{pathway.lstrip('/')}", headers=signed_in(sqlite_engine, org.nurse))
    form = page.text.split('id="record_work_ability"')[1].split("</details>")[0]
    assert form.lstrip().startswith("open") and '<option value="sustainment_end" selected>' in form
    ask = "The period of following the solution has ended: before you confirm whether it held, ask the client's "
    assert gettext(FI, ask + "Work Ability Score.") in page.text
    scoring = page.text.split('action="/app' + pathway + '/do/score_goal"')[1].split("</form>")[0]
    assert re.search(r'value="closing"\s+selected', scoring)
    assert "GAS" in page.text.split('id="confirm_sustainment"')[0].rsplit("<details", 1)[0][-400:]
