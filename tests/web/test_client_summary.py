"""The client's plan summary (issue 37) on the real app, worker and dev server: in the client's language from
the referral (fi, sv, en), with the case manager's and the team's contacts, the client's own goals and the
services; never a note, the referral's reason or an assessment; a read audited with its purpose; a PDF of
the same; giving it is recorded on the timeline, and a revised plan makes the copy out of date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.i18n import gettext
from models.tables import AuditLogEntry
from tests.support.fixtures import Org
from tests.support.helpers import eventually, intake_body, ok, service_body
from tests.web.test_pages import READ, form_token, signed_in

REASON = "Referral reason: back pain after a long sick leave"
ASSESSMENT = "Assessment summary: limited capacity for heavy work"
NOTE = "Follow-up note: worried about money"
GOAL = "Back to retail work part time"
EXPECTED = "Works in a shop two days a week"
LEVELS = {
    "gas_much_less": "Stays at home",
    "gas_less": "Visits the shop to ask",
    "gas_expected": EXPECTED,
    "gas_more": "Three days a week",
    "gas_much_more": "Full time",
}


async def _pathway(web: httpx.AsyncClient, org: Org, language: str) -> str:
    receipt = ok(
        await web.post(
            "/pathways", json=intake_body(org.team, reason=REASON, client_language=language), headers=org.nurse.auth
        ),
        201,
    )
    pathway = f"/pathways/{receipt['pathway_id']}"

    async def recorded() -> bool:
        return (await web.get(pathway, params=READ, headers=org.nurse.auth)).status_code == 200

    await eventually(recorded, what="the referral recorded")
    nurse = org.nurse.auth
    ok(
        await web.post(
            f"{pathway}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=org.coordinator.auth,
        )
    )
    review = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    ok(
        await web.post(
            f"{pathway}/goals", json={"text": GOAL, "gas_baseline": -1, "target_date": review, **LEVELS}, headers=nurse
        )
    )
    ok(await web.post(f"{pathway}/assessment", json={"summary": ASSESSMENT, "recommendation": "r"}, headers=nurse))
    ok(await web.post(f"{pathway}/plan", json={"services": [service_body(provider="Kela Satakunta")]}, headers=nurse))
    ok(await web.post(f"{pathway}/follow-ups", json={"channel": "phone", "note": NOTE}, headers=nurse))
    ok(
        await web.put(
            "/me/contact", json={"work_phone": "+358 40 123 4567", "contact_hours": "Mon-Fri 9-11"}, headers=nurse
        )
    )
    ok(
        await web.put(
            f"/teams/{org.team}/contact",
            json={"contact_phone": "+358 2 620 0000", "contact_email": "tyokyky@example.fi"},
            headers=org.admin.auth,
        )
    )
    return pathway


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_the_summary_is_in_the_clients_language_with_contacts_goals_and_services_and_nothing_else(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org, language: str
) -> None:
    pathway = await _pathway(web, org, language)
    cookie = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app{pathway}/summary", headers=cookie)
    assert page.status_code == 200, page.text[-2000:]
    html = page.text
    assert f'<html lang="{language}">' in html
    assert (
        gettext(language, "Your work-ability plan") in html
        and gettext(language, "If something stops or goes wrong") in html
    )
    nurse_name = org.nurse.staff_id.replace(".", " ").title()
    for shown in (
        nurse_name,
        "+358 40 123 4567",
        "Mon-Fri 9-11",
        "+358 2 620 0000",
        "tyokyky@example.fi",
        GOAL,
        EXPECTED,
        "Kela Satakunta",
    ):
        assert shown in html, shown
    for hidden in (REASON, ASSESSMENT, NOTE, "Stays at home", org.nurse.staff_id, pathway.removeprefix("/pathways/")):
        assert hidden not in html, hidden  # no notes, no other client text, no ids

    pdf = await web.get(f"/app{pathway}/summary.pdf", headers=cookie)
    assert (
        pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    )
    assert pdf.headers["cache-control"] == "no-store"

    summary: dict[str, Any] = ok(await web.get(f"{pathway}/summary", params=READ, headers=org.nurse.auth))
    assert summary["language"] == language and summary["goals"] == [{"text": GOAL, "expected": EXPECTED}]
    with Session(sqlite_engine) as session:
        reads = session.exec(
            select(AuditLogEntry).where(
                AuditLogEntry.action == "read_plan_summary",
                AuditLogEntry.pathway_id == pathway.removeprefix("/pathways/"),
            )
        ).all()
    assert len(reads) == 3 and all(line.purpose for line in reads)


async def test_giving_the_copy_is_on_the_timeline_and_a_revised_plan_makes_it_out_of_date(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway = await _pathway(web, org, "fi")
    cookie = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app{pathway}", headers=cookie)
    not_given = gettext(
        "fi", "The client has no copy of the plan yet: print or send the summary, then record how it was given."
    )
    assert not_given in page.text
    given = await web.post(
        f"/app{pathway}/do/give_summary", data={"csrf": form_token(page), "channel": "by_post"}, headers=cookie
    )
    assert given.status_code == 303, given.text[-2000:]
    record = ok(await web.get(pathway, params=READ, headers=org.nurse.auth))
    assert record["client_copy"] == "current" and record["summary_given"]["channel"] == "by_post"
    timeline = ok(await web.get(f"{pathway}/timeline", params=READ, headers=org.nurse.auth))
    assert "summary_given" in [entry["kind"] for entry in timeline["items"]]

    ok(
        await web.post(
            f"{pathway}/plan",
            json={
                "services": [service_body(provider="Kela Satakunta"), service_body(kind="social_work", provider="Sote")]
            },
            headers=org.nurse.auth,
        )
    )
    record = ok(await web.get(pathway, params=READ, headers=org.nurse.auth))
    assert record["client_copy"] == "plan_changed"
    page = await web.get(f"/app{pathway}", headers=cookie)
    assert (
        gettext("fi", "The plan has changed since the client got their copy: give them the new summary.") in page.text
    )


def test_the_pdf_carries_the_feedback_links_qr_code_when_there_is_one() -> None:
    from client.summary import Contact, PlanSummary, summary_pdf
    from models.pathway import Language, ServiceKind

    summary = PlanSummary(
        language=Language.SV,
        case_manager=Contact(name="Terhi Virtanen", phone="+358 40 123 4567"),
        team=Contact(name="Eura work-ability team"),
        goals=[],
        services=[],
        made_on=datetime(2026, 12, 7, tzinfo=UTC),
    )
    kinds = {kind.value: kind.value for kind in ServiceKind}
    plain = summary_pdf(summary, kinds)
    with_link = summary_pdf(summary, kinds, "https://tyokyky.example.fi/feedback/abc.def")
    assert plain.startswith(b"%PDF") and b"/Subtype /Image" not in plain
    assert b"/Subtype /Image" in with_link  # the QR code
