"""The security review's findings (issue 35), one test each: each failed on the code the review read and passes
on the fix. The larger ones have files of their own (sign-in, webhooks, the codec server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from api.auth import sessions
from core.settings import Settings
from models.tables import AuditLogEntry, Partner, SignInMethod
from tests.support.fixtures import Org, serving
from tests.support.helpers import intake_body, ok, start_via_api
from web.app import create_app as create_web_app


async def test_a_partner_update_that_nulls_a_required_field_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """Found by fuzzing: `{"email": ..., "active": null}` answered 500 (NOT NULL constraint failed)."""
    body = {"partner_id": "kela-pori", "name": "Kela Pori", "kind": "kela", "channel": "email", "email": "a@kela.fi"}
    ok(await api.post(f"/teams/{org.team}/partners", json=body, headers=org.coordinator.auth), 201)
    for nulled in ({"email": "b@kela.fi", "active": None}, {"name": None}, {"language": None}, {"channel": None}):
        answer = await api.patch(f"/teams/{org.team}/partners/kela-pori", json=nulled, headers=org.coordinator.auth)
        assert answer.status_code == 422, answer.text
        [field] = [name for name, value in nulled.items() if value is None]
        assert f"{field} cannot be null" in answer.text
    with Session(sqlite_engine) as session:
        partner = session.get(Partner, (org.team, "kela-pori"))
        assert partner is not None and partner.active and partner.email == "a@kela.fi" and partner.name == "Kela Pori"


@pytest.mark.parametrize(
    "where",
    [
        {"oidc_issuer": "https://login.example.org", "oidc_client_id": "pathways"},
        {"public_url": "https://pathways.example.org"},
        {"public_url": "http://pathways.internal:8000"},
        {"api_host": "0.0.0.0"},
    ],
    ids=["identity-provider", "https-address", "named-host", "all-interfaces"],
)
def test_the_development_sign_in_refuses_to_start_anywhere_but_on_one_machine(where: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="PATHWAYS_DEV_SIGN_IN is for `make run` on one machine only"):
        Settings.model_validate({"dev_sign_in": True, **where})
    assert Settings(dev_sign_in=True).dev_sign_in  # make run's own: loopback, no provider
    assert Settings.model_validate(where).dev_sign_in is False


@pytest.mark.parametrize(
    "where",
    [
        {"public_url": "https://pathways.example.org"},
        {"public_url": "http://pathways.internal:8000"},
        {"api_host": "0.0.0.0"},
    ],
    ids=["https-address", "named-host", "all-interfaces"],
)
def test_webhooks_to_this_machine_are_allowed_only_where_the_service_runs_on_one_machine(where: dict[str, Any]) -> None:
    """The switch for the tests' local receivers only refused an https address: with a named internal host or an
    API listening on every interface, a partner's webhook could reach this machine's own ports."""
    with pytest.raises(ValidationError, match="PATHWAYS_WEBHOOK_LOOPBACK is for development and tests on one machine"):
        Settings.model_validate({"webhook_loopback": True, **where})
    assert Settings(webhook_loopback=True).webhook_loopback  # make run's and the tests' own: loopback only
    assert Settings.model_validate(where).webhook_loopback is False


@pytest.fixture
async def web(client: Client, settings: Settings, sqlite_engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings.model_copy(update={"public_url": "https://pathways.example.org"})
    app = create_web_app(settings, temporal_client=client, engine=sqlite_engine)
    async with serving(app) as http:
        yield http


async def test_every_page_and_answer_carries_the_security_headers(
    web: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """Only /docs had a policy: the staff pages, the partner page and the sign-in pages had none."""
    with Session(sqlite_engine) as session:
        secret, _ = sessions.open_session(
            session, staff_id=org.nurse.staff_id, method=SignInMethod.DEVELOPMENT, hours=1
        )
    pages = {
        # Over https the session cookie is a __Host- cookie, which the pages read.
        "/app/": {"Cookie": f"{sessions.cookie_name('https://pathways.example.org')}={secret}"},
        "/partner/referrals/not-a-token": {},
        "/auth/signed-out": {},
        "/healthz": {},
    }
    for path, headers in pages.items():
        response = await web.get(path, headers=headers)
        assert response.status_code < 500, (path, response.status_code)
        if path == "/app/":
            assert response.status_code == 200, "signed in with the __Host- cookie"
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, path
        assert "script-src" not in policy, f"{path}: pages run no script"
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["strict-transport-security"].startswith("max-age="), path
    partner = await web.get("/partner/referrals/not-a-token")
    assert partner.headers["referrer-policy"] == "no-referrer", "the partner page keeps its stricter policy"
    docs = await web.get("/docs")
    assert "script-src 'self'" in docs.headers["content-security-policy"]


async def test_webhook_addresses_inside_the_network_are_refused_and_only_coordinators_say_where_referrals_go(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """Any https host was accepted (IP literals included) and http to localhost; an administrator could send the
    team's referrals elsewhere."""
    url = f"/teams/{org.team}/partners"
    for inside in ("https://169.254.169.254/latest", "https://10.0.0.5/hooks", "http://localhost:9/hooks"):
        body = {
            "partner_id": "tyopaja",
            "name": "Työpaja",
            "kind": "service_provider",
            "channel": "webhook",
            "webhook_url": inside,
        }
        answer = await api.post(url, json=body, headers=org.coordinator.auth)
        assert answer.status_code == 422 and "webhook_url is not allowed" in answer.text, answer.text
    email = {"partner_id": "kela-pori", "name": "Kela Pori", "kind": "kela", "channel": "email", "email": "a@kela.fi"}
    assert (await api.post(url, json=email, headers=org.admin.auth)).status_code == 403
    ok(await api.post(url, json=email, headers=org.coordinator.auth), 201)
    moved = await api.patch(f"{url}/kela-pori", json={"email": "thief@example.org"}, headers=org.admin.auth)
    assert moved.status_code == 403 and "says where its partners' referrals go" in moved.text
    ok(await api.patch(f"{url}/kela-pori", json={"active": False}, headers=org.admin.auth))
    with Session(sqlite_engine) as session:
        partner = session.get(Partner, (org.team, "kela-pori"))
        assert partner is not None and partner.email == "a@kela.fi" and not partner.active


async def test_a_change_of_where_a_partners_referrals_go_is_told_to_the_teams_other_coordinators(
    api: httpx.AsyncClient, web: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """A coordinator's change of a partner's destination was audited but told to nobody: a stolen session could
    redirect the team's referrals unnoticed. The other coordinators of the team now get a notice (inbox, and
    e-mail where it is on); the one who changed it, other teams, and changes elsewhere in the entry do not."""
    from models.pathway import Language
    from models.tables import Notification, StaffRole
    from ops.admin import add_staff

    colleague_token = add_staff(
        sqlite_engine,
        staff_id="second.coordinator",
        display_name="Second Coordinator",
        role=StaffRole.COORDINATOR,
        teams=[org.team],
        language=Language.SV,
        email=None,
    )
    colleague = {"Authorization": f"Bearer {colleague_token}"}
    url = f"/teams/{org.team}/partners"
    email = {"partner_id": "kela-pori", "name": "Kela Pori", "kind": "kela", "channel": "email", "email": "a@kela.fi"}
    ok(await api.post(url, json=email, headers=org.coordinator.auth), 201)

    async def notices(headers: dict[str, str]) -> list[dict[str, Any]]:
        inbox = ok(await api.get("/notifications", headers=headers))
        return [item for item in inbox if item["kind"] == "partner_destination_changed"]

    ok(await api.patch(f"{url}/kela-pori", json={"name": "Kela Pori (toimisto)"}, headers=org.coordinator.auth))
    assert await notices(colleague) == []  # the name is not where referrals go

    ok(await api.patch(f"{url}/kela-pori", json={"email": "b@kela.fi"}, headers=org.coordinator.auth))
    [told] = await notices(colleague)
    assert told["pathway_id"] is None and told["team"] == org.team
    assert "kela-pori" in told["subject"] and org.coordinator.staff_id in told["body"]
    assert "ändrade" in told["body"]  # in the colleague's own language
    assert await notices(org.coordinator.auth) == [] and await notices(org.other_coordinator.auth) == []

    # The same address again changes nothing, and tells nobody.
    ok(await api.patch(f"{url}/kela-pori", json={"email": "b@kela.fi"}, headers=org.coordinator.auth))
    assert len(await notices(colleague)) == 1
    with Session(sqlite_engine) as session:
        rows = session.exec(select(Notification).where(col(Notification.kind) == "partner_destination_changed")).all()
    assert [row.recipient for row in rows] == ["second.coordinator"]

    # The colleague reads it in the web app's inbox, linked to the register rather than a pathway.
    with Session(sqlite_engine) as session:
        secret, _ = sessions.open_session(
            session, staff_id="second.coordinator", method=SignInMethod.DEVELOPMENT, hours=1
        )
    cookie = {"Cookie": f"{sessions.cookie_name('https://pathways.example.org')}={secret}"}
    page = await web.get("/app/inbox", headers=cookie)
    assert page.status_code == 200, page.text
    assert f'href="/app/partners?team={org.team}"' in page.text and "/app/pathways/None" not in page.text


async def test_a_service_account_uses_only_its_actions_and_is_named_as_such_in_the_audit(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    from ops.admin import add_service_account

    token = add_service_account(
        sqlite_engine,
        staff_id=f"svc.{org.team}",
        display_name="Statistics export",
        teams=[org.team],
        actions=["list_pathways", "read_record"],
        purpose="reporting: monthly statistics of the programme",
    )
    service = {"Authorization": f"Bearer {token}"}
    pathway = (await start_via_api(api, org.nurse.auth, org.team))["pathway_id"]
    # The service's own requests name no purpose: its declared one is used.
    api = httpx.AsyncClient(transport=api._transport, base_url="http://api.test")
    listed = ok(await api.get("/pathways", headers=service))
    assert pathway in {item["pathway_id"] for item in listed["items"]}
    ok(await api.get(f"/pathways/{pathway}", headers=service))
    for method, path, body in (
        ("GET", f"/pathways/{pathway}/timeline", None),
        ("POST", f"/pathways/{pathway}/follow-ups", {"channel": "phone", "note": "x"}),
        ("GET", "/notifications", None),
        ("POST", "/me/tokens", {"label": "more"}),
        ("GET", "/staff", None),
        ("POST", "/pathways", intake_body(org.team)),
    ):
        refused = await api.request(method, path, json=body, headers=service)
        assert refused.status_code == 403, (path, refused.text)
        assert "service account" in refused.json()["detail"]
    with Session(sqlite_engine) as session:
        lines = session.exec(select(AuditLogEntry).where(col(AuditLogEntry.staff_id) == f"svc.{org.team}")).all()
    by_action = {(line.action, line.outcome): line.purpose for line in lines}
    assert by_action[("read_record", "ok")] == "reporting: monthly statistics of the programme"
    assert ("read_timeline", "denied") in by_action and ("record_follow_up", "denied") in by_action
    assert ("start", "denied") in by_action


def test_a_partner_link_token_never_reaches_the_access_log() -> None:
    """The access log wrote `/partner/referrals/<token>`: a bearer credential for the referral. A process set
    up as the API is logs uvicorn's access line for such a request."""
    token = "eyJyZWZlcnJhbCI6InIxIn0.c2lnbmF0dXJl"
    script = (
        "import logging; from core.logs import configure_logging; from core.settings import Settings; "
        "configure_logging(Settings(log_format='json')); "
        "logging.getLogger('uvicorn.access').info('%s - \"%s %s HTTP/%s\" %d', '127.0.0.1:5000', 'GET', "
        f"'/partner/referrals/{token}?lang=fi', '1.1', 200)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "/partner/referrals/…?lang=fi" in done.stderr and token not in done.stderr


def test_a_clients_feedback_link_token_never_reaches_the_access_log() -> None:
    """A client's feedback link answers on the client's pathway: its token stays out of the access log too."""
    token = "YWJjZGVmMDEyMzQ1Njc4OXwxNzk5OTk5OTk5.c2lnbmF0dXJlLW9mLWl0"
    script = (
        "import logging; from core.logs import configure_logging; from core.settings import Settings; "
        "configure_logging(Settings(log_format='json')); "
        "logging.getLogger('uvicorn.access').info('%s - \"%s %s HTTP/%s\" %d', '127.0.0.1:5000', 'POST', "
        f"'/feedback/{token}', '1.1', 200)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "/feedback/…" in done.stderr and token not in done.stderr


def test_over_https_the_session_cookie_is_a_host_cookie() -> None:
    """The cookie had no __Host- prefix: a sibling host could plant one."""
    assert sessions.cookie_name("https://pathways.example.org") == "__Host-pathways_session"
    assert sessions.cookie_name("http://localhost:8000") == "pathways_session"


async def test_every_read_of_a_pathway_names_its_purpose_and_the_api_refuses_one_without(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, settings: Settings, client: Client
) -> None:
    """`purpose` was optional and the web app never sent one: reads were audited without a purpose."""
    pathway = (await start_via_api(api, org.nurse.auth, org.team))["pathway_id"]
    app = create_web_app(settings, temporal_client=client, engine=sqlite_engine)
    async with serving(app) as with_default:
        transport = with_default._transport  # the same app, but a client that names no purpose
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as bare:
            for path in (f"/pathways/{pathway}", f"/pathways/{pathway}/timeline", "/pathways"):
                refused = await bare.get(path, headers=org.coordinator.auth)
                assert refused.status_code == 422, (path, refused.text)
                assert "client_work, supervision" in refused.text
            wrong = await bare.get(f"/pathways/{pathway}", params={"purpose": "curiosity"}, headers=org.nurse.auth)
            assert wrong.status_code == 422 and "'curiosity' is not one of" in wrong.text
            read = await bare.get(
                f"/pathways/{pathway}", params={"purpose": "supervision: monthly check"}, headers=org.coordinator.auth
            )
            assert read.status_code == 200, read.text
            assert (await bare.get("/me/caseload", headers=org.nurse.auth)).status_code == 200  # one's own cases
            # The web app takes the purpose from the context, and asks where the context gives none.
            with Session(sqlite_engine) as session:
                nurse_cookie, _ = sessions.open_session(
                    session, staff_id=org.nurse.staff_id, method=SignInMethod.DEVELOPMENT, hours=1
                )
                other_cookie, _ = sessions.open_session(
                    session, staff_id=org.social_worker.staff_id, method=SignInMethod.DEVELOPMENT, hours=1
                )
            own = await bare.get(f"/app/pathways/{pathway}", headers={"Cookie": f"{sessions.COOKIE}={nurse_cookie}"})
            assert own.status_code == 200 and 'name="purpose"' not in own.text
            other = {"Cookie": f"{sessions.COOKIE}={other_cookie}"}
            asked = await bare.get(f"/app/pathways/{pathway}", headers=other)
            assert asked.status_code == 200 and 'type="radio" id="purpose-team_review"' in asked.text
            given = await bare.get(f"/app/pathways/{pathway}", params={"purpose": "team_review"}, headers=other)
            assert given.status_code == 200 and 'name="purpose"' not in given.text
    with Session(sqlite_engine) as session:
        lines = session.exec(select(AuditLogEntry).where(col(AuditLogEntry.pathway_id) == pathway)).all()
    reads = [
        (line.staff_id, line.action, line.outcome, line.purpose) for line in lines if line.action.startswith("read")
    ]
    assert (org.coordinator.staff_id, "read_record", "ok", "supervision: monthly check") in reads
    assert (org.nurse.staff_id, "read_pathway", "ok", "client_work") in reads
    assert (org.social_worker.staff_id, "read_pathway", "ok", "team_review") in reads
    assert all(purpose for _, _, outcome, purpose in reads if outcome == "ok"), reads


async def test_a_date_or_duration_beyond_any_pathway_is_refused_before_it_can_overflow_a_deadline(
    api: httpx.AsyncClient, org: Org
) -> None:
    """Found by the stateful fuzzing: a demo policy of a million days made the intake answer 500 (a deadline
    past year 9999); a goal dated 9999-12-31 would have failed its pathway's every task the same way."""
    huge = intake_body(org.team, demo=True, policy={"triage_due_after": "P999999D"})
    refused = await api.post("/pathways", json=huge, headers=org.nurse.auth)
    assert refused.status_code == 422 and "triage_due_after can be at most 3660 days" in refused.text
    far = await api.post(
        "/pathways", json=intake_body(org.team, referred_at="1066-10-14T09:00:00Z"), headers=org.nurse.auth
    )
    assert far.status_code == 422 and "referred_at must be in the years 1900-2199" in far.text
    pathway_id = ok(await api.post("/pathways", json=intake_body(org.team), headers=org.nurse.auth), 201)["pathway_id"]
    goal = await api.post(
        f"/pathways/{pathway_id}/goals",
        json={"text": "Back to work", "target_date": "9999-12-31T00:00:00Z"},
        headers=org.nurse.auth,
    )
    assert goal.status_code == 422 and "target_date must be in the years 1900-2199" in goal.text
