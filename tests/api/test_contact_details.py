"""How clients reach their case manager and the team (issue 37): each member keeps their own work phone,
e-mail and when to call; an administrator can see and correct them, and sets the team's general contact.
Bad input is a 422 that names the field and changes nothing; every change is audited."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.tables import AuditLogEntry, Notification
from tests.support.fixtures import Org
from tests.support.helpers import ok

CONTACT = {"email": "terhi.virtanen@example.fi", "work_phone": "+358 40 123 4567", "contact_hours": "Mon-Fri 9-11"}


async def test_a_member_keeps_their_own_contact_details_and_colleagues_see_them(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    me = ok(await api.put("/me/contact", json=CONTACT, headers=org.nurse.auth))
    assert (me["staff_id"], me["work_phone"], me["contact_hours"]) == (
        org.nurse.staff_id,
        "+358 40 123 4567",
        "Mon-Fri 9-11",
    )
    assert ok(await api.get("/me", headers=org.nurse.auth)) == me
    listed = {member["staff_id"]: member for member in ok(await api.get("/staff", headers=org.coordinator.auth))}
    assert listed[org.nurse.staff_id]["email"] == "terhi.virtanen@example.fi"
    # Only what is given changes (the e-mail is also where notifications go: never cleared by leaving it out).
    changed = ok(await api.put("/me/contact", json={"work_phone": "040 123 4567"}, headers=org.nurse.auth))
    assert (changed["work_phone"], changed["email"], changed["contact_hours"]) == (
        "040 123 4567",
        "terhi.virtanen@example.fi",
        "Mon-Fri 9-11",
    )
    cleared = ok(await api.put("/me/contact", json={"contact_hours": None}, headers=org.nurse.auth))
    assert cleared["contact_hours"] is None and cleared["email"] == "terhi.virtanen@example.fi"
    with Session(sqlite_engine) as session:
        lines = session.exec(select(AuditLogEntry).where(AuditLogEntry.action == "update_own_contact")).all()
    assert [line.staff_id for line in lines] == [org.nurse.staff_id] * 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"work_phone": "call me"}, "work_phone"),
        ({"work_phone": "+358 40 123 4567 ext. 12"}, "work_phone"),
        ({"email": "not-an-address"}, "email"),
        ({"contact_hours": ""}, "contact_hours"),
        ({"contact_hours": "x" * 201}, "contact_hours"),
        ({"display_name": "Someone else"}, "display_name"),
    ],
)
async def test_bad_contact_details_are_a_422_naming_the_field_and_change_nothing(
    api: httpx.AsyncClient, org: Org, body: dict[str, str], field: str
) -> None:
    ok(await api.put("/me/contact", json=CONTACT, headers=org.nurse.auth))
    response = await api.put("/me/contact", json=body, headers=org.nurse.auth)
    assert response.status_code == 422, response.text
    assert field in response.text
    me = ok(await api.get("/me", headers=org.nurse.auth))
    assert (me["email"], me["work_phone"], me["contact_hours"]) == tuple(CONTACT.values())


async def test_an_administrator_corrects_a_members_details_and_sets_the_teams_contact(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    corrected = ok(
        await api.put(
            f"/staff/{org.nurse.staff_id}/contact", json={"work_phone": "+358 2 123 456"}, headers=org.admin.auth
        )
    )
    assert corrected["work_phone"] == "+358 2 123 456"
    # The member and their coordinators hear of it: the e-mail is where notices go, so a change is seen.
    with Session(sqlite_engine) as session:
        told = session.exec(select(Notification).where(Notification.kind == "contact_corrected")).all()
    assert {notice.recipient for notice in told} == {org.nurse.staff_id, org.coordinator.staff_id}
    assert (
        await api.put(f"/staff/{org.nurse.staff_id}/contact", json={}, headers=org.coordinator.auth)
    ).status_code == 403
    assert (await api.put("/staff/nobody.here/contact", json={}, headers=org.admin.auth)).status_code == 404

    team = ok(
        await api.put(
            f"/teams/{org.team}/contact",
            json={"contact_phone": "+358 2 620 0000", "contact_email": "tyokyky@example.fi"},
            headers=org.admin.auth,
        )
    )
    assert (team["contact_phone"], team["contact_email"]) == ("+358 2 620 0000", "tyokyky@example.fi")
    listed = {item["team_id"]: item for item in ok(await api.get("/teams", headers=org.nurse.auth))}
    assert listed[org.team]["contact_phone"] == "+358 2 620 0000"
    assert (await api.put(f"/teams/{org.team}/contact", json={}, headers=org.coordinator.auth)).status_code == 403
    bad = await api.put(f"/teams/{org.team}/contact", json={"contact_phone": "soita"}, headers=org.admin.auth)
    assert bad.status_code == 422 and "contact_phone" in bad.text
    assert (await api.put("/teams/no-such-team/contact", json={}, headers=org.admin.auth)).status_code == 404
