"""The client's feedback without an account (issue 37), on the real app, worker and dev server: a team member
makes a link; the client answers on a short page in their language that shows no client data; the answer is
the pathway's feedback (actor the client's link), once, audited, and the case manager is told. A used, an
expired, a withdrawn and a tampered link each get their own page and change nothing; a flood gets 429."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.i18n import gettext
from core.settings import Settings
from models.tables import AuditLogEntry, ClientFeedbackLink, Notification
from tests.support.fixtures import Org, settings_for
from tests.support.helpers import eventually, intake_body, ok
from tests.web.test_pages import READ, form_token, signed_in

LINK_SECRET = "feedback-link-secret-for-the-tests-0123456789"
REASON = "Reason: long unemployment and back pain"
NOT_VALID = (
    "This link is not valid. Check that you copied the whole address, or ask your contact person for a new link."
)


@pytest.fixture
def settings(tmp_path: Path, task_queue: str, sqlite_url: str) -> Settings:
    return settings_for(
        tmp_path, task_queue, sqlite_url, partner_link_secrets=LINK_SECRET, public_url="http://localhost:8000"
    )


async def _pathway(web: httpx.AsyncClient, org: Org, language: str = "sv") -> str:
    body = intake_body(org.team, reason=REASON, client_language=language)
    receipt = ok(await web.post("/pathways", json=body, headers=org.nurse.auth), 201)
    pathway = f"/pathways/{receipt['pathway_id']}"

    async def recorded() -> bool:
        return (await web.get(pathway, params=READ, headers=org.nurse.auth)).status_code == 200

    await eventually(recorded, what="the referral recorded")
    triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
    ok(await web.post(f"{pathway}/triage", json=triage, headers=org.coordinator.auth))
    return pathway


async def _link(web: httpx.AsyncClient, org: Org, pathway: str) -> dict[str, Any]:
    link: dict[str, Any] = ok(
        await web.post(f"{pathway}/feedback-links", json={"valid_days": 14}, headers=org.nurse.auth), 201
    )
    return link


def _path(link: dict[str, Any]) -> str:
    return str(link["url"]).removeprefix("http://localhost:8000")


async def test_the_client_answers_once_in_their_language_and_the_case_manager_is_told(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway = await _pathway(web, org, "sv")
    link = await _link(web, org, pathway)
    assert (
        link["state"] == "open"
        and link["language"] == "sv"
        and link["url"].startswith("http://localhost:8000/feedback/")
    )
    page = await web.get(_path(link))
    assert page.status_code == 200 and '<html lang="sv">' in page.text
    assert gettext("sv", "Do you know whom to contact?") in page.text
    for private in (REASON, org.nurse.staff_id, pathway.removeprefix("/pathways/"), "client-"):
        assert private not in page.text  # the page shows no client data
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"

    wrong = await web.post(_path(link), data={"rating": "7", "knows": "maybe", "comment": "x"})
    assert wrong.status_code == 422
    assert (
        gettext("sv", "Choose a rating from 1 to 5.") in wrong.text and gettext("sv", "Answer yes or no.") in wrong.text
    )
    assert ok(await web.get(pathway, params=READ, headers=org.nurse.auth))["feedback_count"] == 0

    answers = await asyncio.gather(
        web.post(_path(link), data={"rating": "4", "knows": "yes", "comment": "Bra stöd"}),
        web.post(_path(link), data={"rating": "4", "knows": "yes", "comment": "Bra stöd"}),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 410]  # taken once; the repeat is told so
    record = ok(await web.get(pathway, params=READ, headers=org.nurse.auth))
    assert record["feedback_count"] == 1  # once, though sent twice at once
    [feedback] = record["feedback"]
    assert feedback["rating"] == 4 and feedback["recorded_by"] == f"client:{link['link_id']}"
    timeline = ok(await web.get(f"{pathway}/timeline", params=READ, headers=org.nurse.auth))
    [event] = [entry for entry in timeline["items"] if entry["kind"] == "feedback_recorded"]
    assert event["details"]["knows_whom_to_contact"] is True

    used = await web.get(_path(link))
    assert (
        used.status_code == 410
        and gettext("sv", "This link has already been used, and the answer was received. Thank you.") in used.text
    )
    again = await web.post(_path(link), data={"rating": "1", "knows": "no"})
    assert again.status_code == 410
    assert ok(await web.get(pathway, params=READ, headers=org.nurse.auth))["feedback_count"] == 1

    async def told() -> list[Notification]:
        with Session(sqlite_engine) as session:
            return list(
                session.exec(
                    select(Notification).where(
                        Notification.pathway_id == pathway.removeprefix("/pathways/"),
                        Notification.kind == "client_feedback_received",
                    )
                )
            )

    [notice] = await eventually(told, what="the case manager's notice")
    assert notice.recipient == org.nurse.staff_id and "Bra stöd" not in notice.body  # never what the client said
    with Session(sqlite_engine) as session:
        lines = session.exec(select(AuditLogEntry).where(AuditLogEntry.action == "client_feedback")).all()
    assert [line.staff_id for line in lines] == [f"client:{link['link_id']}"]
    # The case manager reads the answer on the pathway page, as the client's own.
    page = await web.get(f"/app{pathway}", headers=signed_in(sqlite_engine, org.nurse))
    feedback_section = page.text.split('id="feedback-title"')[1].split("</ul>")[0]
    assert "Bra stöd" in feedback_section
    assert gettext("fi", "the client, through their feedback link") in feedback_section
    assert gettext("fi", "knows whom to contact") in feedback_section


async def test_an_expired_a_withdrawn_and_a_tampered_link_each_get_their_page_and_change_nothing(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway = await _pathway(web, org, "fi")
    expired = await _link(web, org, pathway)
    withdrawn = await _link(web, org, pathway)
    tampered = await _link(web, org, pathway)
    with Session(sqlite_engine) as session:
        row = session.get(ClientFeedbackLink, expired["link_id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(row)
        session.commit()
    ok(await web.post(f"{pathway}/feedback-links/{withdrawn['link_id']}/withdraw", headers=org.nurse.auth))
    forged = _path(tampered)[:-3] + ("AAA" if not _path(tampered).endswith("AAA") else "BBB")
    for path, status, text in (
        (
            _path(expired),
            410,
            "This link has expired. If you want to give feedback, ask your contact person for a new link.",
        ),
        (
            _path(withdrawn),
            410,
            "This link is no longer in use. If you want to give feedback, ask your contact person.",
        ),
        (
            forged,
            404,
            NOT_VALID,
        ),
        (
            "/feedback/nonsense",
            404,
            NOT_VALID,
        ),
    ):
        page = await web.get(path, headers={"Accept-Language": "fi"})
        assert page.status_code == status, path
        assert gettext("fi", text) in page.text
        sent = await web.post(path, data={"rating": "5", "knows": "yes"}, headers={"Accept-Language": "fi"})
        assert sent.status_code == status
    assert ok(await web.get(pathway, params=READ, headers=org.nurse.auth))["feedback_count"] == 0
    states = {
        item["link_id"]: item["state"]
        for item in ok(await web.get(f"{pathway}/feedback-links", params=READ, headers=org.nurse.auth))
    }
    assert (states[expired["link_id"]], states[withdrawn["link_id"]], states[tampered["link_id"]]) == (
        "expired",
        "withdrawn",
        "open",
    )


async def test_a_flood_of_tries_on_a_link_is_answered_429_with_when_to_try_again(
    web: httpx.AsyncClient, org: Org
) -> None:
    pathway = await _pathway(web, org)
    link = await _link(web, org, pathway)
    statuses = [(await web.post(_path(link), data={"rating": "", "knows": ""})).status_code for _ in range(6)]
    assert statuses[:5] == [422] * 5 and statuses[5] == 429
    limited = await web.post(_path(link), data={"rating": "5", "knows": "yes"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert ok(await web.get(pathway, params=READ, headers=org.nurse.auth))["feedback_count"] == 0


async def test_links_are_the_teams_to_make_and_not_for_a_closed_pathway(web: httpx.AsyncClient, org: Org) -> None:
    pathway = await _pathway(web, org)
    assert (await web.post(f"{pathway}/feedback-links", json={}, headers=org.outsider.auth)).status_code == 403
    assert (
        await web.post(f"{pathway}/feedback-links", json={"valid_days": 61}, headers=org.nurse.auth)
    ).status_code == 422
    assert (
        await web.post(f"{pathway}/feedback-links/0123456789abcdef/withdraw", headers=org.nurse.auth)
    ).status_code == 404
    ok(
        await web.post(
            f"{pathway}/close", json={"reason": "client_declined", "note": "Declined"}, headers=org.nurse.auth
        )
    )

    async def closed() -> bool:
        record: dict[str, Any] = ok(await web.get(pathway, params=READ, headers=org.nurse.auth))
        return bool(record["stage"] == "closed")

    await eventually(closed, what="closed")
    refused = await web.post(f"{pathway}/feedback-links", json={}, headers=org.nurse.auth)
    assert refused.status_code == 409 and "closed" in refused.text


async def test_a_link_made_the_moment_the_pathway_is_registered_is_in_the_clients_language(
    web: httpx.AsyncClient, org: Org
) -> None:
    # Found by the stateful fuzzing: a link asked for before the first workflow task had written the record
    # answered 503. The client's language is in the live process by then, as a read shows it.
    for language in ("sv", "fi", "en"):
        body = intake_body(org.team, reason=REASON, client_language=language)
        receipt = ok(await web.post("/pathways", json=body, headers=org.nurse.auth), 201)
        link = ok(
            await web.post(
                f"/pathways/{receipt['pathway_id']}/feedback-links", json={"valid_days": 3}, headers=org.nurse.auth
            ),
            201,
        )
        assert link["language"] == language and link["state"] == "open"


async def test_staff_make_and_withdraw_a_link_on_the_pathway_page_and_its_qr_code_is_on_the_summary(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway = await _pathway(web, org, "en")
    cookie = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app{pathway}", headers=cookie)
    assert page.status_code == 200, page.headers.get("location")
    made = await web.post(
        f"/app{pathway}/feedback-links", data={"csrf": form_token(page), "valid_days": "7"}, headers=cookie
    )
    assert made.status_code == 303 and made.headers["location"].endswith("#feedback-links")
    page = await web.get(f"/app{pathway}", headers=cookie)
    [link] = ok(await web.get(f"{pathway}/feedback-links", params=READ, headers=org.nurse.auth))
    assert link["url"] in page.text and "<svg" in page.text.split('id="feedback-links"')[1]
    summary = await web.get(f"/app{pathway}/summary", headers=cookie)
    assert link["url"] in summary.text and 'class="qr"' in summary.text and "<title>" in summary.text

    withdrawn = await web.post(
        f"/app{pathway}/feedback-links/{link['link_id']}/withdraw", data={"csrf": form_token(page)}, headers=cookie
    )
    assert withdrawn.status_code == 303
    summary = await web.get(f"/app{pathway}/summary", headers=cookie)
    assert link["url"] not in summary.text  # a withdrawn link is not printed any more
    assert (await web.get(_path(link))).status_code == 410


async def test_a_link_whose_pathway_closed_says_so_and_ends_with_it(web: httpx.AsyncClient, org: Org) -> None:
    pathway = await _pathway(web, org, "fi")
    link = await _link(web, org, pathway)
    ok(
        await web.post(
            f"{pathway}/close", json={"reason": "client_declined", "note": "Declined"}, headers=org.nurse.auth
        )
    )
    sent = await web.post(_path(link), data={"rating": "5", "knows": "yes"})
    assert sent.status_code == 410
    assert (
        gettext("fi", "This link is no longer in use. If you want to give feedback, ask your contact person.")
        in sent.text
    )
    [listed] = ok(await web.get(f"{pathway}/feedback-links", params=READ, headers=org.nurse.auth))
    assert listed["state"] == "withdrawn" and listed["used_at"] is None
    assert ok(await web.get(pathway, params=READ, headers=org.nurse.auth))["feedback_count"] == 0


async def test_odd_input_on_the_client_and_staff_pages_gets_a_page_that_says_what_was_wrong(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway = await _pathway(web, org, "fi")
    link = await _link(web, org, pathway)
    too_long = await web.get("/feedback/" + "A" * 500, headers={"Accept-Language": "sv"})
    assert too_long.status_code == 404 and too_long.headers["content-type"].startswith("text/html")
    assert gettext("sv", NOT_VALID) in too_long.text
    long_comment = await web.post(_path(link), data={"rating": "3", "knows": "no", "comment": "x" * 5000})
    assert (
        long_comment.status_code == 422
        and gettext("fi", "The comment is too long: at most 1000 characters.") in long_comment.text
    )
    assert (await web.get("/accessibility?lang=toolong", headers={"Accept-Language": "sv"})).status_code == 200
    cookie = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app{pathway}", headers=cookie)
    wrong = await web.post(
        f"/app{pathway}/feedback-links", data={"csrf": form_token(page), "valid_days": "90"}, headers=cookie
    )
    assert (
        wrong.status_code == 422
        and "valid_days" in wrong.text
        and wrong.headers["content-type"].startswith("text/html")
    )
    assert len(ok(await web.get(f"{pathway}/feedback-links", params=READ, headers=org.nurse.auth))) == 1  # nothing made
    assert ok(await web.get(pathway, params=READ, headers=org.nurse.auth))["feedback_count"] == 0
