"""The staff web app over HTTP (the real app, a real worker and dev server): signed in with the browser's
session, on the API's services, access path and audit. The browser tests (tests/browser) click through it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.auth import sessions
from models.tables import AuditLogEntry, Notification, PathwayRow, SignInMethod
from tests.support.fixtures import Member, Org
from tests.support.helpers import eventually, intake_body, ok

REASON = "Web page test: unemployed for two years, back pain"
# The JSON API's reads name their purpose (the pages take theirs from the context).
READ = {"purpose": "client_work"}


def signed_in(engine: Engine, member: Member) -> dict[str, str]:
    with Session(engine) as session:
        secret, _ = sessions.open_session(session, staff_id=member.staff_id, method=SignInMethod.DEVELOPMENT, hours=1)
    return {"Cookie": f"{sessions.COOKIE}={secret}"}


def form_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, "no form token on the page"
    return match.group(1)


async def new_pathway(web: httpx.AsyncClient, engine: Engine, org: Org) -> str:
    cookie = signed_in(engine, org.nurse)
    page = await web.get("/app/intake", headers=cookie)
    body = {**intake_body(org.team, reason=REASON), "csrf": form_token(page)}
    response = await web.post("/app/intake", data=body, headers=cookie)
    assert response.status_code == 303, response.text
    pathway_id = response.headers["location"].split("/app/pathways/")[1].split("?")[0]

    def recorded() -> bool:
        with Session(engine) as session:
            row = session.get(PathwayRow, pathway_id)
            return row is not None and row.recorded_sequence >= 1

    await eventually(recorded, what="the referral in the record")
    return pathway_id


async def test_without_a_session_a_page_sends_the_browser_to_sign_in_and_back(web: httpx.AsyncClient) -> None:
    response = await web.get("/app/pathways/pathway-someone-0001?tab=plan")
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?return_to=/app/pathways/pathway-someone-0001?tab=plan"
    assert (await web.get("/")).headers["location"] == "/app/"


async def test_a_bearer_token_does_not_open_the_pages(web: httpx.AsyncClient, org: Org) -> None:
    response = await web.get("/app/", headers=org.nurse.auth)
    assert response.status_code == 303 and response.headers["location"].startswith("/auth/login")


async def test_a_nurse_registers_a_referral_and_reads_it_and_both_are_audited(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    page = await web.get(f"/app/pathways/{pathway_id}?done=start", headers=signed_in(sqlite_engine, org.nurse))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert REASON in page.text and "Tallennettu." in page.text  # the reason, and "Saved." after the intake
    assert '<html lang="fi">' in page.text  # the nurse's own language
    assert "Odottaa tiimin käsittelyä" in page.text  # awaiting triage, in Finnish
    with Session(sqlite_engine) as session:
        actions = session.exec(
            select(AuditLogEntry.action, AuditLogEntry.outcome).where(AuditLogEntry.pathway_id == pathway_id)
        ).all()
    assert ("start", "ok") in actions and ("read_pathway", "ok") in actions


async def test_another_teams_pathway_is_a_403_page_and_the_attempt_is_audited(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=signed_in(sqlite_engine, org.outsider))
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"]
    assert "is not on your team(s)" in page.text and REASON not in page.text
    with Session(sqlite_engine) as session:
        denied = session.exec(
            select(AuditLogEntry).where(
                AuditLogEntry.pathway_id == pathway_id, AuditLogEntry.staff_id == org.outsider.staff_id
            )
        ).all()
    assert [(entry.action, entry.outcome) for entry in denied] == [("read_pathway", "denied")]


async def test_a_refused_action_shows_the_rules_reason_beside_its_form_and_changes_nothing(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    cookie = signed_in(sqlite_engine, org.nurse)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=cookie)
    # Not offered at this stage, but a stale page (or a crafted post) may still send it: the rule refuses.
    response = await web.post(
        f"/app/pathways/{pathway_id}/do/complete_assessment",
        data={"csrf": form_token(page), "summary": "Early", "recommendation": "Too early"},
        headers=cookie,
    )
    assert response.status_code == 409, response.text[-3000:]
    # Its form is not on the page at this stage, so the reason is shown at the top, as an alert.
    assert re.search(
        r'role="alert"[^>]*>[^<]*completing the assessment is not possible at stage awaiting_triage', response.text
    )
    record = ok(await web.get(f"/pathways/{pathway_id}", params=READ, headers=org.nurse.auth))
    assert record["stage"] == "awaiting_triage"
    # The audit says the action was refused (not "ok"), and that the page shown again was read.
    assert _outcomes(sqlite_engine, pathway_id, "complete_assessment") == ["rejected"]
    assert "ok" in _outcomes(sqlite_engine, pathway_id, "read_pathway")


def _outcomes(engine: Engine, pathway_id: str, action: str) -> list[str]:
    with Session(engine) as session:
        lines = session.exec(
            select(AuditLogEntry)
            .where(AuditLogEntry.pathway_id == pathway_id, AuditLogEntry.action == action)
            .order_by(AuditLogEntry.id)  # type: ignore[arg-type]
        ).all()
        return [line.outcome for line in lines]


async def test_a_field_the_model_refuses_gets_its_message_beside_it_and_nothing_is_sent(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    cookie = signed_in(sqlite_engine, org.coordinator)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=cookie)
    response = await web.post(
        f"/app/pathways/{pathway_id}/do/triage",
        data={"csrf": form_token(page), "route": "no_need", "case_manager": org.nurse.staff_id},
        headers=cookie,
    )
    assert response.status_code == 422
    assert "the no_need route needs redirect_note" in response.text
    assert 'aria-invalid="true"' in response.text
    record = ok(await web.get(f"/pathways/{pathway_id}", params=READ, headers=org.coordinator.auth))
    assert record["stage"] == "awaiting_triage"
    assert _outcomes(sqlite_engine, pathway_id, "triage") == ["invalid"]


async def test_a_post_without_the_forms_token_is_refused(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    response = await web.post(
        f"/app/pathways/{pathway_id}/do/triage",
        data={"route": "health_check", "case_manager": org.nurse.staff_id},
        headers=signed_in(sqlite_engine, org.coordinator),
    )
    assert response.status_code == 403
    assert "did not come from this site" in response.text


async def test_a_coordinator_triages_in_place_and_the_page_shows_it(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    pathway_id = await new_pathway(web, sqlite_engine, org)
    cookie = signed_in(sqlite_engine, org.coordinator)
    page = await web.get(f"/app/pathways/{pathway_id}", headers=cookie)
    response = await web.post(
        f"/app/pathways/{pathway_id}/do/triage",
        data={"csrf": form_token(page), "route": "health_check", "case_manager": org.nurse.staff_id},
        headers=cookie,
    )
    assert response.status_code == 303
    # The seeds ask for the Work Ability Score at triage: the page opens at its form.
    assert response.headers["location"] == (
        f"/app/pathways/{pathway_id}?done=triage&purpose=supervision#record_work_ability"
    )
    after = await web.get(response.headers["location"].split("#")[0], headers=cookie)
    assert org.nurse.staff_id in after.text
    record = ok(await web.get(f"/pathways/{pathway_id}", params=READ, headers=org.coordinator.auth))
    assert record["stage"] == "assessment" and record["case_manager"] == org.nurse.staff_id


async def test_coordinator_pages_are_for_coordinators(web: httpx.AsyncClient, sqlite_engine: Engine, org: Org) -> None:
    for path in ("/app/team", "/app/reviews", "/app/reports", "/app/reports/chart.png"):
        assert (await web.get(path, headers=signed_in(sqlite_engine, org.nurse))).status_code == 403, path
        coordinator = await web.get(path, headers=signed_in(sqlite_engine, org.coordinator))
        assert coordinator.status_code == 200, path
    chart = await web.get("/app/reports/chart.png", headers=signed_in(sqlite_engine, org.coordinator))
    assert chart.content.startswith(b"\x89PNG")


async def test_the_language_is_the_one_chosen_else_the_browsers_else_the_members_own(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    cookie = signed_in(sqlite_engine, org.nurse)
    finnish = await web.get("/app/", headers=cookie)
    assert "Omat asiakkaani" in finnish.text
    chosen = await web.post("/app/language", data={"language": "sv", "back": "/app/"}, headers=cookie)
    assert chosen.status_code == 303 and chosen.headers["location"] == "/app/"
    language = chosen.cookies["pathways_language"]
    swedish = await web.get("/app/", headers={"Cookie": f"{cookie['Cookie']}; pathways_language={language}"})
    assert '<html lang="sv">' in swedish.text and "Mina klienter" in swedish.text
    english = await web.get("/app/", headers={"Cookie": f"{cookie['Cookie']}; pathways_language=en"})
    assert "My caseload" in english.text
    # Until the member chooses, a browser that asks for one of the pages' languages gets it (here Swedish,
    # preferred over English); one that asks for none of them gets the member's own (Finnish).
    browser = await web.get("/app/", headers={**cookie, "Accept-Language": "de-DE, sv;q=0.8, en;q=0.5"})
    assert '<html lang="sv">' in browser.text
    elsewhere = await web.get("/app/", headers={**cookie, "Accept-Language": "de-DE, fr;q=0.7"})
    assert '<html lang="fi">' in elsewhere.text
    chosen_wins = await web.get(
        "/app/", headers={"Cookie": f"{cookie['Cookie']}; pathways_language=en", "Accept-Language": "sv"}
    )
    assert '<html lang="en">' in chosen_wins.text


async def test_the_inbox_shows_the_notices_and_marks_them_read(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    await new_pathway(web, sqlite_engine, org)
    cookie = signed_in(sqlite_engine, org.coordinator)

    async def notice() -> httpx.Response | None:
        page = await web.get("/app/inbox", headers=cookie)
        return page if "/read" in page.text else None

    page = await eventually(notice, what="the new-referral notice in the coordinator's inbox")
    notification_id = re.search(r"/app/inbox/(\d+)/read", page.text).group(1)  # type: ignore[union-attr]
    marked = await web.post(f"/app/inbox/{notification_id}/read", data={"csrf": form_token(page)}, headers=cookie)
    assert marked.status_code == 303
    with Session(sqlite_engine) as session:
        row = session.get(Notification, int(notification_id))
        assert row is not None and row.read_at is not None and row.recipient == org.coordinator.staff_id
    after = await web.get("/app/inbox", headers=cookie)
    assert f"/app/inbox/{notification_id}/read" not in after.text


async def test_a_coordinator_hands_all_of_a_case_managers_pathways_over_from_the_team_page(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    coordinator = signed_in(sqlite_engine, org.coordinator)
    pathways = [await new_pathway(web, sqlite_engine, org) for _ in range(2)]
    for pathway_id in pathways:
        triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
        ok(await web.post(f"/pathways/{pathway_id}/triage", json=triage, headers=org.coordinator.auth))
    team = await web.get("/app/team", params={"team": org.team}, headers=coordinator)
    # The coordinator's Finnish, naming the case manager by name (not their staff id).
    nurse_name = org.nurse.staff_id.replace(".", " ").title()
    assert f"Siirrä kaikki käyttäjän {nurse_name} polut" in team.text
    form = {
        "csrf": form_token(team),
        "team": org.team,
        "from_case_manager": org.nurse.staff_id,
        "to_case_manager": org.social_worker.staff_id,
        "reason": "Long leave",
        "handover_key": "0" * 32,
    }
    nurse = signed_in(sqlite_engine, org.nurse)
    nurse_page = await web.get("/app/intake", headers=nurse)
    by_nurse = await web.post("/app/team/handovers", data={**form, "csrf": form_token(nurse_page)}, headers=nurse)
    assert by_nurse.status_code == 403 and "only a coordinator" in by_nurse.text
    done = await web.post("/app/team/handovers", data=form, headers=coordinator)
    assert done.status_code == 200, done.text
    assert "Ehdotettu: 2 · hylätty: 0 · epäonnistui: 0" in done.text
    for pathway_id in pathways:
        assert pathway_id in done.text
        record = ok(await web.get(f"/pathways/{pathway_id}", params=READ, headers=org.coordinator.auth))
        assert record["case_manager"] == org.nurse.staff_id
        assert record["handover"]["to_case_manager"] == org.social_worker.staff_id
    # Sent again (the same form), nothing is proposed twice.
    again = await web.post("/app/team/handovers", data=form, headers=coordinator)
    assert "Ehdotettu: 2 · hylätty: 0 · epäonnistui: 0" in again.text
    record = ok(await web.get(f"/pathways/{pathways[0]}", params=READ, headers=org.coordinator.auth))
    assert len([h for h in record["handovers"] if h["outcome"] == "withdrawn"]) == 0


async def test_a_coordinator_keeps_the_partner_register_on_its_page(
    web: httpx.AsyncClient, sqlite_engine: Engine, org: Org
) -> None:
    coordinator = signed_in(sqlite_engine, org.coordinator)
    page = await web.get("/app/partners", params={"team": org.team}, headers=coordinator)
    assert page.status_code == 200
    token = form_token(page)
    base = {"csrf": token, "team": org.team, "kind": "kela", "language": "fi"}
    # An e-mail partner without its address: the reason beside the form, nothing saved.
    refused = await web.post(
        "/app/partners",
        data={**base, "partner_id": "kela-pori", "name": "Kela Pori", "channel": "email"},
        headers=coordinator,
    )
    assert refused.status_code == 422 and "needs its e-mail address" in refused.text
    assert ok(await web.get(f"/teams/{org.team}/partners", headers=org.coordinator.auth)) == []
    added = await web.post(
        "/app/partners",
        data={**base, "partner_id": "kela-pori", "name": "Kela Pori", "channel": "email", "email": "kela@pori.example"},
        headers=coordinator,
    )
    assert added.status_code == 303
    hooked = await web.post(
        "/app/partners",
        data={
            **base,
            "partner_id": "tyopaja-pori",
            "name": "Työpaja Pori",
            "kind": "service_provider",
            "channel": "webhook",
            "webhook_url": "https://tyopaja.example/referrals",
        },
        headers=coordinator,
    )
    # The webhook secret is shown this once, on the page (never in a URL).
    secret = re.search(r"<code>([A-Za-z0-9_-]{40,})</code>", hooked.text)
    assert hooked.status_code == 200 and secret is not None
    listed = {
        p["partner_id"]: p for p in ok(await web.get(f"/teams/{org.team}/partners", headers=org.coordinator.auth))
    }
    assert set(listed) == {"kela-pori", "tyopaja-pori"} and listed["kela-pori"]["email"] == "kela@pori.example"
    stopped = await web.post(
        "/app/partners/kela-pori/active", data={"csrf": token, "team": org.team, "active": "false"}, headers=coordinator
    )
    assert stopped.status_code == 303
    active = ok(await web.get(f"/teams/{org.team}/partners", headers=org.coordinator.auth))
    assert [p["partner_id"] for p in active] == ["tyopaja-pori"]
    # A professional reads partners through the forms, but does not keep the register.
    nurse = signed_in(sqlite_engine, org.nurse)
    assert (await web.get("/app/partners", params={"team": org.team}, headers=nurse)).status_code == 403
