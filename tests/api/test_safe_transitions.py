"""Safe transitions on the real dev server, through HTTP: dated commitments that fire, warm hand-overs (one
by one and in bulk), referrals to partner organisations with the client's consent (a signed link by real
e-mail, a signed webhook to a real receiver and its signed callback), service transitions and network
meetings. The pure rules are pinned in `tests/workflows/test_safe_transitions_rules.py`; these prove the
workflow runs them durably and that the notices reach people and partners.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from activities.delivery import sign_webhook
from core.settings import Settings
from models.tables import AuditLogEntry, Notification
from tests.support.fixtures import Org, SmtpInbox, WebhookReceiver, serving, settings_for
from tests.support.helpers import eventually, ok, service_body, start_via_api
from web.app import create_app as create_web_app

LINK_SECRET = "partner-link-secret-for-the-tests-0123456789"
KELA = "kela-satakunta"
# On this machine: the test's webhook receiver listens here too (PATHWAYS_WEBHOOK_LOOPBACK is for one machine only).
PUBLIC_URL = "http://localhost:8000"


@pytest.fixture
def settings(tmp_path: Path, task_queue: str, sqlite_url: str, smtp_inbox: SmtpInbox) -> Settings:
    """The worker's and the API's settings: real SMTP for partner e-mails, partner links on."""
    smtp = smtp_inbox.settings().model_dump(include={n for n in Settings.model_fields if n.startswith("smtp_")})
    return settings_for(
        tmp_path,
        task_queue,
        sqlite_url,
        partner_link_secrets=LINK_SECRET,
        public_url=PUBLIC_URL,
        webhook_loopback=True,  # the test's webhook receiver listens on this machine
        **smtp,
    )


def _policy(**durations: str) -> dict[str, Any]:
    return {"policy": durations, "demo": True}


async def _in_services(
    api: httpx.AsyncClient, org: Org, services: list[dict[str, Any]], **policy: str
) -> tuple[str, list[str], dict[str, Any]]:
    """A pathway with the nurse as case manager and this plan: its URL, the services' ids, the plan's answer."""
    record = await start_via_api(api, org.nurse.auth, org.team, **_policy(**policy))
    pathway = f"/pathways/{record['pathway_id']}"
    triage = {"route": "health_check", "case_manager": org.nurse.staff_id}
    ok(await api.post(f"{pathway}/triage", json=triage, headers=org.coordinator.auth))
    assessment = {"summary": "Fair work ability", "recommendation": "Services"}
    ok(await api.post(f"{pathway}/assessment", json=assessment, headers=org.nurse.auth))
    answer = ok(await api.post(f"{pathway}/plan", json={"services": services}, headers=org.nurse.auth))
    return pathway, answer["created_ids"], answer


def _inbox(engine: Engine, recipient: str, kind: str | None = None) -> list[Notification]:
    with Session(engine) as session:
        query = select(Notification).where(col(Notification.recipient) == recipient)
        if kind is not None:
            query = query.where(col(Notification.kind) == kind)
        return list(session.exec(query))


def _now_plus(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _record(api: httpx.AsyncClient, pathway: str, auth: dict[str, str]) -> dict[str, Any]:
    return ok(await api.get(pathway, headers=auth))  # type: ignore[no-any-return]


# -- every dated commitment fires -------------------------------------------------------------------------------


async def test_a_missed_start_reminds_the_case_manager_then_goes_to_the_team(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    service = service_body(days=0)
    pathway, [service_id], _ = await _in_services(
        api, org, [service], commitment_grace="PT1S", commitment_escalate_after="PT2S"
    )
    [reminder] = await eventually(
        lambda: _inbox(sqlite_engine, org.nurse.staff_id, "service_start_missed"), what="the missed-start reminder"
    )
    assert reminder.pathway_id == pathway.rsplit("/", 1)[1] and reminder.language == "fi"  # the nurse's language
    assert reminder.due_at is not None and reminder.due_at.date() == datetime.now(UTC).date()  # the planned start

    async def escalated() -> dict[str, Any] | None:
        record = await _record(api, pathway, org.nurse.auth)
        return record if record["team_review_pending"] else None

    record = await eventually(escalated, what="the escalation to the team")
    assert [review["cause"] for review in record["team_reviews"] if review["decided_at"] is None] == [
        "service_not_started"
    ]
    assert _inbox(sqlite_engine, org.coordinator.staff_id, "escalated_to_team_review")
    # Starting the service settles it: nothing late about it stays outstanding.
    ok(await api.post(f"{pathway}/services/{service_id}", json={"change": "started"}, headers=org.nurse.auth))
    status = await _record(api, pathway, org.nurse.auth)
    assert not status["next_deadline"] or not status["next_deadline"]["kind"].startswith("service_start")


async def test_every_other_dated_commitment_reaches_whoever_must_act(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    """An investigation past its due date, a goal at its target date, an active service past its planned
    end and a team review left pending: each tells the case manager (or the coordinators) once."""
    record = await start_via_api(
        api,
        org.nurse.auth,
        org.team,
        **_policy(commitment_grace="PT1S", commitment_escalate_after="P30D", team_review_allowed="PT2S"),
    )
    pathway = f"/pathways/{record['pathway_id']}"
    triage = {"route": "extended_assessment", "assessment_level": "basic", "case_manager": org.nurse.staff_id}
    ok(await api.post(f"{pathway}/triage", json=triage, headers=org.coordinator.auth))
    [investigation_id] = ok(
        await api.post(
            f"{pathway}/investigations",
            json={"description": "Physiotherapy", "due_at": _now_plus(seconds=1)},
            headers=org.nurse.auth,
        )
    )["created_ids"]
    goal = {"text": "Back to work part-time", "target_date": _now_plus(seconds=1)}
    ok(await api.post(f"{pathway}/goals", json=goal, headers=org.nurse.auth))
    ok(await api.post(f"{pathway}/team-review", json={"reason": "Pension question"}, headers=org.nurse.auth))
    nurse = org.nurse.staff_id
    await eventually(lambda: _inbox(sqlite_engine, nurse, "investigation_overdue"), what="the investigation")
    await eventually(lambda: _inbox(sqlite_engine, nurse, "goal_review_due"), what="the goal review")
    await eventually(
        lambda: _inbox(sqlite_engine, org.coordinator.staff_id, "team_review_stalled"), what="the stalled review"
    )
    decision = {"decision": "continue", "note": "Go on"}
    ok(await api.post(f"{pathway}/team-review/decision", json=decision, headers=org.coordinator.auth))
    result = {"result_summary": "Can work part-time"}
    ok(await api.post(f"{pathway}/investigations/{investigation_id}/complete", json=result, headers=org.nurse.auth))
    assessment = {"summary": "Fair", "recommendation": "Rehabilitation"}
    ok(await api.post(f"{pathway}/assessment", json=assessment, headers=org.nurse.auth))
    ending = service_body(days=0) | {"planned_end": _now_plus(seconds=2)}
    [service_id] = ok(await api.post(f"{pathway}/plan", json={"services": [ending]}, headers=org.nurse.auth))[
        "created_ids"
    ]
    ok(await api.post(f"{pathway}/services/{service_id}", json={"change": "started"}, headers=org.nurse.auth))
    await eventually(lambda: _inbox(sqlite_engine, nurse, "service_end_passed"), what="the planned end")
    for kind in ("investigation_overdue", "goal_review_due", "service_end_passed"):
        assert len(_inbox(sqlite_engine, nurse, kind)) == 1, kind
    record = await _record(api, pathway, org.nurse.auth)
    assert record["deadline_notices"] >= 4


async def test_set_plan_answers_the_gaps_the_plan_already_has(api: httpx.AsyncClient, org: Org) -> None:
    first = service_body(days=0) | {"planned_end": _now_plus(days=30)}
    later = service_body(kind="social_work", provider="Sosiaalityö", days=120)
    _, ids, answer = await _in_services(api, org, [first, later])
    gaps = [warning for warning in answer["warnings"] if warning["code"] == "plan_gap"]
    assert len(gaps) == 2, answer["warnings"]  # between the two services, and after the last one ends
    between = gaps[0]
    assert between["message"].startswith("the plan leaves the client without a service")
    assert datetime.fromisoformat(between["starts"]) < datetime.fromisoformat(between["ends"])
    assert len(ids) == 2  # a warning, not a refusal: the plan is set


# -- warm hand-over ------------------------------------------------------------------------------------------------


async def test_a_handover_is_pending_until_the_new_case_manager_accepts_it_with_a_note(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    pathway, _, _ = await _in_services(api, org, [service_body(days=0)])
    nurse, social_worker = org.nurse.staff_id, org.social_worker.staff_id
    body = {"case_manager": social_worker, "reason": "Social needs dominate"}
    answer = ok(await api.post(f"{pathway}/case-manager", json=body, headers=org.coordinator.auth))
    assert (answer["case_manager"], answer["handover_to"]) == (nurse, social_worker)
    record = await _record(api, pathway, org.nurse.auth)
    assert record["case_manager"] == nurse and record["handover"]["to_case_manager"] == social_worker
    assert _inbox(sqlite_engine, social_worker, "handover_proposed")
    assert _inbox(sqlite_engine, nurse, "handover_pending")

    accept = {"note": "Met the client with the nurse", "client_informed": True, "client_informed_via": "in_person"}
    not_theirs = await api.post(f"{pathway}/handover/accept", json=accept, headers=org.nurse.auth)
    assert not_theirs.status_code == 409
    assert f"only {social_worker}" in not_theirs.json()["detail"]
    uninformed = await api.post(
        f"{pathway}/handover/accept", json=accept | {"client_informed": False}, headers=org.social_worker.auth
    )
    assert uninformed.status_code == 409 and "the client knows whom to contact" in uninformed.json()["detail"]
    assert (await _record(api, pathway, org.nurse.auth))["case_manager"] == nurse  # refusals changed nothing

    answer = ok(await api.post(f"{pathway}/handover/accept", json=accept, headers=org.social_worker.auth))
    assert (answer["case_manager"], answer["handover_to"]) == (social_worker, None)
    record = await _record(api, pathway, org.social_worker.auth)
    assert record["handover"] is None and record["handovers"][-1]["outcome"] == "accepted"
    period = record["case_manager_history"][-1]
    assert (period["staff_id"], period["handover_note"]) == (social_worker, "Met the client with the nurse")
    assert period["client_informed_via"] == "in_person"
    assert _inbox(sqlite_engine, nurse, "handover_accepted")


async def test_a_stalled_handover_reminds_the_incoming_case_manager_then_escalates(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    pathway, _, _ = await _in_services(
        api, org, [service_body(days=0)], handover_accept_within="PT1S", handover_escalate_after="PT1S"
    )
    body = {"case_manager": org.social_worker.staff_id, "reason": "Long absence"}
    ok(await api.post(f"{pathway}/case-manager", json=body, headers=org.coordinator.auth))
    await eventually(
        lambda: _inbox(sqlite_engine, org.social_worker.staff_id, "handover_reminder"), what="the reminder"
    )

    async def escalated() -> list[str]:
        record = await _record(api, pathway, org.coordinator.auth)
        return [r["cause"] for r in record["team_reviews"] if r["decided_at"] is None]

    assert await eventually(escalated, what="the escalation") == ["handover_stalled"]
    # The previous case manager stays responsible, and hears of the escalation.
    assert (await _record(api, pathway, org.nurse.auth))["case_manager"] == org.nurse.staff_id
    assert _inbox(sqlite_engine, org.nurse.staff_id, "escalated_to_team_review")


async def test_a_coordinator_hands_all_open_pathways_over_in_one_request(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    first, _, _ = await _in_services(api, org, [service_body(days=0)])
    second, _, _ = await _in_services(api, org, [service_body(days=0)])
    third, _, _ = await _in_services(api, org, [service_body(days=0)])
    social_worker = org.social_worker.staff_id
    # One is already being handed to the social worker: its result says so, the others go ahead.
    ok(
        await api.post(
            f"{third}/case-manager", json={"case_manager": social_worker, "reason": "x"}, headers=org.coordinator.auth
        )
    )
    request = {"from_case_manager": org.nurse.staff_id, "to_case_manager": social_worker, "reason": "Long absence"}
    refused_by_role = await api.post(f"/teams/{org.team}/handovers", json=request, headers=org.nurse.auth)
    assert refused_by_role.status_code == 403
    results = ok(await api.post(f"/teams/{org.team}/handovers", json=request, headers=org.coordinator.auth))
    assert (results["proposed"], results["refused"], results["failed"]) == (2, 1, 0)
    by_pathway = {result["pathway_id"]: result for result in results["results"]}
    assert set(by_pathway) == {path.rsplit("/", 1)[1] for path in (first, second, third)}
    refused = by_pathway[third.rsplit("/", 1)[1]]
    assert refused["outcome"] == "refused" and "already pending" in refused["detail"]
    for path in (first, second):
        record = await _record(api, path, org.coordinator.auth)
        assert record["handover"]["to_case_manager"] == social_worker
    with Session(sqlite_engine) as session:
        audited = session.exec(
            select(AuditLogEntry.pathway_id).where(col(AuditLogEntry.action) == "assign_case_manager")
        ).all()
    assert {path.rsplit("/", 1)[1] for path in (first, second, third)} <= set(audited)


# -- service transitions and network meetings ------------------------------------------------------------------------


async def test_an_interrupted_service_of_two_opens_a_transition_decided_by_a_replacement(
    api: httpx.AsyncClient, org: Org
) -> None:
    pathway, [rehab, social], _ = await _in_services(
        api, org, [service_body(days=0), service_body(kind="social_work", provider="Sosiaalityö", days=0)]
    )
    for service_id in (rehab, social):
        ok(await api.post(f"{pathway}/services/{service_id}", json={"change": "started"}, headers=org.nurse.auth))
    answer = ok(
        await api.post(
            f"{pathway}/services/{rehab}", json={"change": "interrupted", "note": "Ill"}, headers=org.nurse.auth
        )
    )
    [transition_id] = answer["created_ids"]
    record = await _record(api, pathway, org.nurse.auth)
    [transition] = record["transitions"]
    assert (transition["cause"], transition["decision"], transition["active_services_left"]) == ("interrupted", None, 1)
    assert answer["next_deadline"]["kind"] == "transition_reminder"

    no_replacement = await api.post(
        f"{pathway}/transitions/{transition_id}/decision",
        json={"decision": "replace", "note": "A new provider"},
        headers=org.nurse.auth,
    )
    assert no_replacement.status_code == 422 and "replacement" in no_replacement.text
    decided = {"decision": "replace", "note": "A new provider", "replacement": service_body(provider="Pori", days=7)}
    ok(await api.post(f"{pathway}/transitions/{transition_id}/decision", json=decided, headers=org.nurse.auth))
    record = await _record(api, pathway, org.nurse.auth)
    [transition] = record["transitions"]
    assert transition["decision"] == "replace" and transition["without_gap"] is True
    assert transition["replacement_service_id"] in {s["service_id"] for s in record["services"]}
    again = await api.post(f"{pathway}/transitions/{transition_id}/decision", json=decided, headers=org.nurse.auth)
    assert again.status_code == 409


async def test_a_network_meeting_reminds_ahead_and_its_decisions_revise_the_plan(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    pathway, _, _ = await _in_services(api, org, [service_body(days=0)], network_meeting_reminder_before="PT2S")
    participants = [
        {"role": "team_member", "staff_id": org.social_worker.staff_id},
        {"role": "client", "remote": True},
    ]
    meeting = {"at": _now_plus(seconds=3), "participants": participants, "remote": True, "agenda": "Next steps"}
    ok(await api.post(f"{pathway}/network-meetings", json=meeting, headers=org.nurse.auth))
    await eventually(lambda: _inbox(sqlite_engine, org.nurse.staff_id, "network_meeting_soon"), what="the reminder")
    outsider = [{"role": "team_member", "staff_id": org.outsider.staff_id}]
    wrong = await api.post(
        f"{pathway}/network-meetings", json=meeting | {"participants": outsider}, headers=org.nurse.auth
    )
    assert wrong.status_code in (403, 422) and org.outsider.staff_id in wrong.text
    held = {
        "held_at": _now_plus(seconds=0),
        "participants": participants,
        "decisions": "Add social work; meet again in a month",
        "plan": {"services": [service_body(kind="social_work", provider="Sosiaalityö", days=3)]},
        "next_meeting_at": _now_plus(days=30),
    }
    ok(await api.post(f"{pathway}/network-meetings/held", json=held, headers=org.nurse.auth))
    record = await _record(api, pathway, org.nurse.auth)
    assert record["plan"]["version"] == 2 and record["network_meetings"][-1]["revised_plan"] is True
    assert record["next_network_meeting"] is not None


# -- referrals to partners, with consent --------------------------------------------------------------------------


async def _register(api: httpx.AsyncClient, org: Org, **fields: Any) -> dict[str, Any]:
    body = {"partner_id": KELA, "name": "Kela Satakunta", "kind": "kela", "language": "fi"} | fields
    return ok(await api.post(f"/teams/{org.team}/partners", json=body, headers=org.coordinator.auth), 201)  # type: ignore[no-any-return]


async def _consent(api: httpx.AsyncClient, pathway: str, org: Org, **fields: Any) -> str:
    body = {"partner_id": KELA, "scopes": ["referral"], "given_at": _now_plus(seconds=0)} | fields
    answer = ok(await api.post(f"{pathway}/consents", json=body, headers=org.nurse.auth))
    return answer["created_ids"][0]  # type: ignore[no-any-return]


MESSAGE = "Needs a work try-out with a reduced day; afternoons are hard"


async def test_a_referral_by_email_reaches_the_provider_who_answers_through_the_signed_link(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, smtp_inbox: SmtpInbox, settings: Settings, client: Client
) -> None:
    await _register(api, org, channel="email", email="referrals@kela.example")
    pathway, [service_id], _ = await _in_services(api, org, [service_body(days=7)])
    refer = {"partner_id": KELA, "message": MESSAGE}
    without_consent = await api.post(f"{pathway}/services/{service_id}/referral", json=refer, headers=org.nurse.auth)
    assert without_consent.status_code == 409 and "has not consented" in without_consent.json()["detail"]
    unknown = await api.post(
        f"{pathway}/services/{service_id}/referral", json=refer | {"partner_id": "nobody-here"}, headers=org.nurse.auth
    )
    assert unknown.status_code == 422
    assert (
        unknown.json()["detail"][0]["msg"] == f"partner_id: team {org.team} has no partner nobody-here in its register"
    )

    consent_id = await _consent(api, pathway, org)
    answer = ok(await api.post(f"{pathway}/services/{service_id}/referral", json=refer, headers=org.nurse.auth))
    [referral_id] = answer["created_ids"]
    [mail] = await eventually(lambda: smtp_inbox.to("referrals@kela.example"), what="the referral e-mail")
    text = mail.get_content()
    # The e-mail carries the link, never the client's details or the message (they are behind the link).
    assert MESSAGE not in text and pathway.rsplit("/", 1)[1] not in text
    link = re.search(rf"{re.escape(PUBLIC_URL)}(/partner/referrals/\S+)", text)
    assert link is not None, text
    page_path = link.group(1)

    web = create_web_app(settings, temporal_client=client, engine=sqlite_engine)
    async with serving(web) as browser:
        page = await browser.get(page_path)
        assert page.status_code == 200 and MESSAGE in page.text
        assert page.headers["referrer-policy"] == "no-referrer" and "no-store" in page.headers["cache-control"]
        tampered = await browser.get(page_path[:-2] + ("AA" if not page_path.endswith("AA") else "BB"))
        assert tampered.status_code == 403 and MESSAGE not in tampered.text
        key = re.search(r'name="answer_key" value="([^"]+)"', page.text)
        assert key is not None
        declined_without_reason = await browser.post(page_path, data={"answer": "declined", "answer_key": key[1]})
        assert declined_without_reason.status_code == 422
        accepted = await browser.post(page_path, data={"answer": "accepted", "answer_key": key[1]})
        assert accepted.status_code == 200, accepted.text
        record = await _record(api, pathway, org.nurse.auth)
        assert record["referrals"][0]["status"] == "accepted"
        assert _inbox(sqlite_engine, org.nurse.staff_id, "referral_answered")

        # Withdrawing the consent stops the sharing: the page shows nothing more, the provider is told.
        ok(await api.post(f"{pathway}/consents/{consent_id}/withdraw", json={}, headers=org.nurse.auth))
        await eventually(lambda: len(smtp_inbox.to("referrals@kela.example")) == 2, what="the withdrawal e-mail")
        after = await browser.get(page_path)
        assert after.status_code == 200 and MESSAGE not in after.text
    record = await _record(api, pathway, org.nurse.auth)
    assert record["referrals"][0]["status"] == "withdrawn" and record["consents"][0]["withdrawn_at"]
    with Session(sqlite_engine) as session:
        partner_reads = session.exec(
            select(AuditLogEntry).where(col(AuditLogEntry.action) == "read_partner_referral")
        ).all()
    assert partner_reads and all(entry.pathway_id == pathway.rsplit("/", 1)[1] for entry in partner_reads)
    assert referral_id


async def test_a_webhook_partner_gets_the_signed_referral_and_answers_with_a_signed_callback(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, webhook_receiver: WebhookReceiver
) -> None:
    saved = await _register(api, org, channel="webhook", webhook_url=webhook_receiver.url)
    secret = saved["webhook_secret"]
    assert secret and len(secret) >= 32
    pathway, [service_id], _ = await _in_services(api, org, [service_body(days=0)])
    await _consent(api, pathway, org)
    refer = {"partner_id": KELA, "message": MESSAGE}
    [referral_id] = ok(await api.post(f"{pathway}/services/{service_id}/referral", json=refer, headers=org.nurse.auth))[
        "created_ids"
    ]
    [delivered] = await eventually(lambda: webhook_receiver.requests, what="the referral webhook")
    timestamp = delivered.headers["x-pathways-timestamp"]
    assert delivered.headers["x-pathways-signature"] == sign_webhook(secret, timestamp, delivered.body)
    payload = json.loads(delivered.body)
    assert payload["referral_id"] == referral_id and payload["referral"]["message"] == MESSAGE
    assert payload["callback_url"] == f"{PUBLIC_URL}/partner/callbacks/referrals"

    def signed(body: dict[str, Any], *, key: str = secret, delivery: str = "d-1") -> dict[str, Any]:
        raw = json.dumps({**body, "delivery_id": delivery}).encode()  # the delivery id is signed with the body
        now = str(int(time.time()))
        headers = {
            "X-Pathways-Timestamp": now,
            "X-Pathways-Signature": sign_webhook(key, now, raw),
            "X-Pathways-Delivery": delivery,
            "Content-Type": "application/json",
        }
        return {"content": raw, "headers": headers}

    callback = "/partner/callbacks/referrals"
    started = {"referral_id": referral_id, "answer": "started"}
    forged = await api.post(callback, **signed(started, key="not-the-partners-secret-" * 2))
    assert forged.status_code == 401 and "signature does not match" in forged.json()["detail"]
    assert (await _record(api, pathway, org.nurse.auth))["referrals"][0]["status"] == "sent"
    first = ok(await api.post(callback, **signed(started)))
    assert (first["referral_id"], first["answer"], first["stage"]) == (referral_id, "started", "in_services")
    assert ok(await api.post(callback, **signed(started))) == first  # the same delivery id, retried, applies once
    # A captured callback replayed under a new X-Pathways-Delivery header is the same signed answer: once.
    captured = signed(started)
    replayed = {**captured, "headers": {**captured["headers"], "X-Pathways-Delivery": "d-3"}}
    refused = await api.post(callback, **replayed)
    assert refused.status_code == 422 and "differs from the signed delivery_id" in refused.text
    unsigned = {**captured, "headers": {k: v for k, v in captured["headers"].items() if k != "X-Pathways-Delivery"}}
    assert ok(await api.post(callback, **unsigned)) == first  # the same signed answer: applied once
    record = await _record(api, pathway, org.nurse.auth)
    assert record["referrals"][0]["status"] == "started"
    assert {s["service_id"]: s["status"] for s in record["services"]}[service_id] == "active"
    assert [a["answer"] for a in record["referrals"][0]["answers"]] == ["started"]
    # A partner taken out of the register answers nothing more, however well signed.
    ok(await api.patch(f"/teams/{org.team}/partners/{KELA}", json={"active": False}, headers=org.coordinator.auth))
    inactive = await api.post(callback, **signed({"referral_id": referral_id, "answer": "ended"}, delivery="d-4"))
    assert inactive.status_code == 401


async def test_an_unanswered_referral_reminds_the_case_manager_then_escalates(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    await _register(api, org, channel="email", email="referrals@kela.example")
    pathway, [service_id], _ = await _in_services(
        api, org, [service_body(days=7)], referral_answer_within="PT1S", commitment_escalate_after="PT1S"
    )
    await _consent(api, pathway, org)
    refer = {"partner_id": KELA, "message": MESSAGE}
    ok(await api.post(f"{pathway}/services/{service_id}/referral", json=refer, headers=org.nurse.auth))
    await eventually(
        lambda: _inbox(sqlite_engine, org.nurse.staff_id, "referral_unanswered"), what="the unanswered reminder"
    )

    async def escalated() -> list[str]:
        record = await _record(api, pathway, org.coordinator.auth)
        return [r["cause"] for r in record["team_reviews"] if r["decided_at"] is None]

    assert await eventually(escalated, what="the escalation") == ["referral_unanswered"]
