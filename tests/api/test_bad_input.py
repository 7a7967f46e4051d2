"""Bad input of every kind gets a clear 4xx that says what was wrong, and changes nothing: no pathway
started, no state change, no rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.client import Client

from api.limits import MAX_BODY_BYTES
from models.tables import AuditLogEntry, Notification, PathwayEventRow, PathwayRow, TeamReviewItem
from tests.support.fixtures import Org
from tests.support.helpers import (
    client_reference as new_client_reference,
)
from tests.support.helpers import (
    eventually,
    intake_body,
    ok,
)
from tests.support.helpers import (
    start_via_api as start,
)

IDENTITY_CODES = ["131052-308T", "010190A123M", "client-131052-308T"]
INJECTIONS = [
    "client'; DROP TABLE audit_log;--",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://example.org/a}",
    "client-a' OR '1'='1",
    "../../etc/passwd",
]


def _row_counts(sqlite_engine: Engine) -> dict[str, int]:
    with Session(sqlite_engine) as session:
        return {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in (AuditLogEntry, Notification, PathwayEventRow, PathwayRow, TeamReviewItem)
        }


async def _pathway_ids(client: Client, team: str) -> set[str]:
    return {w.id async for w in client.list_workflows(f"PathwayTeam = '{team}'")}


@pytest.fixture
async def settled(api: httpx.AsyncClient, org: Org, sqlite_engine: Engine) -> AsyncIterator[dict[str, Any]]:
    """A pathway in planning whose effects have all landed, so row counts are stable."""
    state = await start(api, org.nurse.auth, org.team)
    pathway = f"/pathways/{state['pathway_id']}"
    ok(
        await api.post(
            f"{pathway}/triage",
            json={"route": "health_check", "case_manager": org.nurse.staff_id},
            headers=org.coordinator.auth,
        )
    )
    answer = ok(
        await api.post(
            f"{pathway}/assessment", json={"summary": "Done", "recommendation": "Work"}, headers=org.nurse.auth
        )
    )
    assert answer["stage"] == "planning"

    def caught_up() -> bool:
        with Session(sqlite_engine) as session:
            row = session.get(PathwayRow, state["pathway_id"])
            return row is not None and row.recorded_sequence == answer["last_event_sequence"]

    await eventually(caught_up, what="the record caught up")
    yield state


async def _assert_refused_and_nothing_changed(
    api: httpx.AsyncClient,
    sqlite_engine: Engine,
    org: Org,
    pathway: dict[str, Any],
    method: str,
    path: str,
    *,
    status: int,
    says: str,
    **request: Any,
) -> None:
    before_rows = _row_counts(sqlite_engine)
    before_state = ok(await api.get(f"/pathways/{pathway['pathway_id']}", headers=org.nurse.auth))
    after_read = _row_counts(sqlite_engine)  # the read above is audited; count from here
    response = await api.request(method, path, **request)
    assert response.status_code == status, response.text
    assert says in response.text, response.text
    assert _row_counts(sqlite_engine)["PathwayEventRow"] == before_rows["PathwayEventRow"]
    assert _row_counts(sqlite_engine)["Notification"] == before_rows["Notification"]
    new_audit = _row_counts(sqlite_engine)["AuditLogEntry"] - after_read["AuditLogEntry"]
    # At most the line that records the refusal itself (for refusals the workflow made).
    assert new_audit in (0, 1)
    if new_audit:
        with Session(sqlite_engine) as session:
            last = session.exec(select(AuditLogEntry).order_by(AuditLogEntry.id.desc())).first()  # type: ignore[union-attr]
        assert last is not None and last.outcome != "ok"
    after_state = ok(await api.get(f"/pathways/{pathway['pathway_id']}", headers=org.nurse.auth))
    assert after_state == before_state


# -- oversized bodies -------------------------------------------------------------------------------------


async def test_oversized_body_is_413_with_the_limit_and_starts_nothing(
    api: httpx.AsyncClient, org: Org, client: Client, sqlite_engine: Engine
) -> None:
    before = _row_counts(sqlite_engine)
    body = intake_body(org.team, reason="x" * (MAX_BODY_BYTES + 1))
    response = await api.post("/pathways", json=body, headers=org.nurse.auth)
    assert response.status_code == 413
    assert response.json() == {"detail": f"the request body is larger than the limit of {MAX_BODY_BYTES} bytes"}

    # Streamed without a Content-Length, the limit holds too.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = await api.post(
        "/pathways", content=chunks(), headers={**org.nurse.auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert _row_counts(sqlite_engine) == before
    assert await _pathway_ids(client, org.team) == set()


async def test_long_text_within_the_body_limit_is_422_naming_the_field(
    api: httpx.AsyncClient, org: Org, client: Client
) -> None:
    response = await api.post("/pathways", json=intake_body(org.team, reason="x" * 5000), headers=org.nurse.auth)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "reason"] and "at most 4000 characters" in error["msg"]
    assert await _pathway_ids(client, org.team) == set()


# -- wrong types, unknown enum values, identity codes, injection-looking identifiers ------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"remote_services_needed": "perhaps"}, "remote_services_needed", "valid boolean"),
        ({"team": 42}, "team", "valid string"),
        ({"referral_source": "telepathy"}, "referral_source", "'self_referral'"),
        ({"client_language": "klingon"}, "client_language", "'fi'"),
        ({"referred_at": "yesterday"}, "referred_at", "valid datetime"),
        ({"reason": ["a", "list"]}, "reason", "valid string"),
        ({"registered_by": "someone.else"}, "registered_by", "Extra inputs are not permitted"),
    ],
)
async def test_intake_with_wrong_types_or_unknown_values_is_422_naming_the_field_and_starts_nothing(
    api: httpx.AsyncClient,
    org: Org,
    client: Client,
    sqlite_engine: Engine,
    overrides: dict[str, Any],
    field: str,
    says: str,
) -> None:
    before = _row_counts(sqlite_engine)
    response = await api.post("/pathways", json={**intake_body(org.team), **overrides}, headers=org.nurse.auth)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(e["loc"] == ["body", field] and says in e["msg"] for e in errors), errors
    assert _row_counts(sqlite_engine) == before
    assert await _pathway_ids(client, org.team) == set()


@pytest.mark.parametrize("reference", IDENTITY_CODES + INJECTIONS)
async def test_client_reference_that_is_an_identity_code_or_injection_is_422_not_echoed_and_starts_nothing(
    api: httpx.AsyncClient, org: Org, client: Client, sqlite_engine: Engine, reference: str
) -> None:
    before = _row_counts(sqlite_engine)
    response = await api.post(
        "/pathways", json=intake_body(org.team, client_reference=reference), headers=org.nurse.auth
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "client_reference"]
    assert "client_reference" in error["msg"]
    assert reference not in response.text
    assert _row_counts(sqlite_engine) == before
    assert await _pathway_ids(client, org.team) == set()


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_looking_filter_values_are_422_and_never_reach_the_query(
    api: httpx.AsyncClient, org: Org, value: str
) -> None:
    for parameter in ("team", "case_manager"):
        response = await api.get("/pathways", params={parameter: value}, headers=org.nurse.auth)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", parameter]
    response = await api.get("/pathways", params={"stage": value}, headers=org.nurse.auth)
    assert response.status_code == 422


async def test_injection_looking_free_text_is_kept_verbatim_as_text_and_harms_nothing(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine
) -> None:
    # Free text may legitimately contain any characters: it is stored and returned as is, never run.
    text = " | ".join(INJECTIONS)
    state = await start(api, org.nurse.auth, org.team, reason=text)
    assert state["referral"]["reason"] == text
    read = ok(await api.get(f"/pathways/{state['pathway_id']}", headers=org.nurse.auth))
    assert read["referral"]["reason"] == text
    assert _row_counts(sqlite_engine)["AuditLogEntry"] > 0  # the audit table is still there


# -- actions: dates in the wrong order, future dates, unknown values -----------------------------------------


async def test_plan_with_a_service_ending_before_it_starts_is_422_and_changes_nothing(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, settled: dict[str, Any]
) -> None:
    start_at = datetime.now(UTC) + timedelta(days=10)
    service = {
        "kind": "vocational_rehabilitation",
        "provider": "Kela",
        "planned_start": start_at.isoformat(),
        "planned_end": (start_at - timedelta(days=1)).isoformat(),
    }
    await _assert_refused_and_nothing_changed(
        api, sqlite_engine, org, settled, "POST", f"/pathways/{settled['pathway_id']}/plan",
        status=422, says="planned_end must be after planned_start",
        json={"services": [service]}, headers=org.nurse.auth,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("follow-ups", {"channel": "phone", "note": "Called", "contacted_at": "FUTURE"}, "contacted_at cannot be"),
        ("outcome", {"solution": "studies", "description": "Admitted", "started_at": "FUTURE"}, "started_at cannot be"),
    ],
)
async def test_future_dates_where_they_make_no_sense_are_refused_with_the_reason_and_change_nothing(
    api: httpx.AsyncClient,
    org: Org,
    sqlite_engine: Engine,
    settled: dict[str, Any],
    path: str,
    body: dict[str, Any],
    says: str,
) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {key: future if value == "FUTURE" else value for key, value in body.items()}
    # The pathway's own rules refuse it (409, the action cannot apply): the reason names the field.
    await _assert_refused_and_nothing_changed(
        api, sqlite_engine, org, settled, "POST", f"/pathways/{settled['pathway_id']}/{path}",
        status=409, says=says, json=body, headers=org.nurse.auth,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("follow-ups", {"channel": "carrier_pigeon", "note": "Hi"}, "channel"),
        ("outcome", {"solution": "lottery_win", "description": "Rich"}, "solution"),
        ("feedback", {"rating": "five"}, "rating"),
        ("feedback", {"rating": 0}, "rating"),
        ("close", {"reason": "bored", "note": "x"}, "reason"),
        ("follow-ups", {"channel": "phone", "note": "Called", "contacted_at": "2026-13-45T99:00:00Z"}, "contacted_at"),
    ],
)
async def test_action_with_a_wrong_type_or_unknown_value_is_422_naming_the_field_and_changes_nothing(
    api: httpx.AsyncClient,
    org: Org,
    sqlite_engine: Engine,
    settled: dict[str, Any],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    await _assert_refused_and_nothing_changed(
        api, sqlite_engine, org, settled, "POST", f"/pathways/{settled['pathway_id']}/{path}",
        status=422, says=f'"{field}"', json=body, headers=org.nurse.auth,
    )  # fmt: skip


async def test_body_that_is_not_json_is_422_and_changes_nothing(
    api: httpx.AsyncClient, org: Org, sqlite_engine: Engine, settled: dict[str, Any]
) -> None:
    await _assert_refused_and_nothing_changed(
        api, sqlite_engine, org, settled, "POST", f"/pathways/{settled['pathway_id']}/feedback",
        status=422, says="JSON decode error",
        content=b"{'rating': 5", headers={**org.nurse.auth, "Content-Type": "application/json"},
    )  # fmt: skip


def test_identity_code_list_holds_valid_codes() -> None:
    # Guard for the parametrisation above: these must be recognised as identity codes, or the test proves less.
    from models.pathway import looks_like_personal_identity_code

    assert all(looks_like_personal_identity_code(code) for code in IDENTITY_CODES)
    assert new_client_reference() not in IDENTITY_CODES


# -- what the fuzzing found, pinned ------------------------------------------------------------------------


async def test_body_that_is_not_utf8_is_422_like_any_malformed_body(api: httpx.AsyncClient, org: Org) -> None:
    response = await api.post(
        "/pathways", content=b"\xff\xfe{", headers={**org.nurse.auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


async def test_page_token_not_handed_out_by_the_api_is_422_not_a_server_error(api: httpx.AsyncClient, org: Org) -> None:
    response = await api.get("/pathways", params={"page_token": "bm90LWEtdG9rZW4="}, headers=org.nurse.auth)
    assert response.status_code == 422
    assert "page_token is not a token this API handed out" in response.text


async def test_report_dates_must_be_iso_8601_and_in_order(api: httpx.AsyncClient, org: Org) -> None:
    auth = org.coordinator.auth
    response = await api.get("/reports/outcomes", params={"team": org.team, "to": "0.5"}, headers=auth)
    assert response.status_code == 422
    assert "ISO 8601" in response.text
    wrong_order = {"team": org.team, "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    response = await api.get("/reports/outcomes", params=wrong_order, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "'from' must be before 'to'"


async def test_method_not_allowed_lists_every_method_of_the_path(api: httpx.AsyncClient) -> None:
    response = await api.request("DELETE", "/pathways")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


async def test_ids_and_offsets_beyond_the_database_integer_are_422_not_a_server_error(
    api: httpx.AsyncClient, org: Org
) -> None:
    huge = str(2**64)
    response = await api.post(f"/notifications/{huge}/read", headers=org.nurse.auth)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "notification_id"]
    response = await api.get("/notifications", params={"offset": huge}, headers=org.nurse.auth)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "offset"]
