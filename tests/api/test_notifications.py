"""The signed-in staff member's inbox from the notification table."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from models.pathway import Language
from models.tables import Notification, NotificationChannel
from tests.support.fixtures import Org
from tests.support.helpers import ok


def _notification(recipient: str, key: str, channel: NotificationChannel = NotificationChannel.INBOX) -> Notification:
    return Notification(
        idempotency_key=key,
        recipient=recipient,
        kind="assigned_case_manager",
        pathway_id="pathway-client-abc123",
        team="eura-team",
        language=Language.FI,
        subject="Uusi asiakkuus",
        body="Sinut on nimetty asiakasvastaavaksi.",
        channel=channel,
    )


async def test_inbox_shows_own_inbox_notifications_and_marks_them_read(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as session:
        mine = _notification(org.nurse.staff_id, "k1")
        theirs = _notification(org.social_worker.staff_id, "k2")
        emailed = _notification(org.nurse.staff_id, "k3", NotificationChannel.EMAIL)
        session.add_all([mine, theirs, emailed])
        session.commit()
        mine_id, theirs_id = mine.id, theirs.id

    inbox = ok(await api.get("/notifications", headers=org.nurse.auth))
    assert [n["id"] for n in inbox] == [mine_id]
    assert inbox[0]["read_at"] is None

    read = ok(await api.post(f"/notifications/{mine_id}/read", headers=org.nurse.auth))
    assert read["read_at"] is not None
    assert ok(await api.get("/notifications", params={"unread_only": "true"}, headers=org.nurse.auth)) == []

    someone_elses = await api.post(f"/notifications/{theirs_id}/read", headers=org.nurse.auth)
    assert someone_elses.status_code == 404
    assert someone_elses.json()["detail"] == f"no notification {theirs_id} in your inbox"
