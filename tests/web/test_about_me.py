"""About me and names on the pages (issue 37): a member keeps how clients reach them on a page of their own
(a wrong phone number is shown beside its field and changes nothing), and the pathway page names people,
not staff ids, and says the plan's follow-up interval in words."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import Engine

from core.i18n import gettext
from tests.support.fixtures import Org
from tests.support.helpers import ok, service_body
from tests.web.test_pages import READ, form_token, new_pathway, signed_in


async def test_a_member_keeps_their_contact_details_on_the_about_me_page(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    cookie = signed_in(sqlite_engine, org.nurse)
    page = await web.get("/app/me", headers=cookie)
    assert page.status_code == 200 and 'aria-current="page"' in page.text
    wrong = await web.post(
        "/app/me",
        data={"csrf": form_token(page), "work_phone": "call me", "email": "", "contact_hours": ""},
        headers=cookie,
    )
    assert wrong.status_code == 422
    assert re.search(r'id="me-work_phone"[^>]*aria-invalid="true"', wrong.text.replace("\n", " "))
    assert (
        gettext("fi", "a phone number: digits, spaces, dashes and brackets, with + before a country code") in wrong.text
    )
    assert ok(await web.get("/me", headers=org.nurse.auth))["work_phone"] is None  # nothing changed

    saved = await web.post(
        "/app/me",
        data={"csrf": form_token(page), "work_phone": "+358 40 123 4567", "email": "", "contact_hours": "Mon-Fri 9-11"},
        headers=cookie,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/app/me?saved=true"
    me = ok(await web.get("/me", headers=org.nurse.auth))
    assert (me["work_phone"], me["contact_hours"], me["email"]) == ("+358 40 123 4567", "Mon-Fri 9-11", None)
    again = await web.get("/app/me?saved=true", headers=cookie)
    assert 'value="+358 40 123 4567"' in again.text


async def test_the_pathway_page_names_people_and_says_the_follow_up_interval_in_words(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    pathway = f"/pathways/{pathway_id}"
    ok(
        await web.post(
            f"{pathway}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=org.coordinator.auth,
        )
    )
    ok(await web.post(f"{pathway}/assessment", json={"summary": "s", "recommendation": "r"}, headers=org.nurse.auth))
    plan = {"services": [service_body()], "follow_up_interval": "P14D"}
    ok(await web.post(f"{pathway}/plan", json=plan, headers=org.nurse.auth))
    ok(await web.get(pathway, params=READ, headers=org.nurse.auth))
    page = await web.get(f"/app/pathways/{pathway_id}", headers=signed_in(sqlite_engine, org.nurse))
    nurse_name = org.nurse.staff_id.replace(".", " ").title()
    status = page.text.split('id="status-title"')[1].split("</dl>")[0]
    assert nurse_name in status and f">{org.nurse.staff_id}<" not in status
    timeline = page.text.split('<ol class="timeline"')[1].split("</ol>")[0]
    assert org.coordinator.staff_id.replace(".", " ").title() in timeline
    assert "2 viikkoa" in page.text  # the nurse reads Finnish: "every 2 weeks", not "14 days" or a fraction
