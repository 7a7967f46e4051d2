"""The codec server mounted in the real app: coordinators read encrypted payloads in the Web UI, audited."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.api.common.v1 import Payloads
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import sessions
from core.settings import Settings
from core.temporal import data_converter
from models.tables import AuditLogEntry, SignInMethod
from tests.support.fixtures import Org, running_worker, serving
from tests.support.helpers import eventually, intake_body, ok

UI_ORIGIN = "http://localhost:8233"
REASON = "Codec-server test reason 7f3a: only a coordinator may read this"


@pytest.fixture
def encrypted_settings(tmp_path: Path, task_queue: str) -> Settings:
    key = base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
    return Settings(
        task_queue=task_queue,
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        encryption_keys=f"k1:{key}",
        encryption_active_key="k1",
        codec_cors_origins=UI_ORIGIN,
    )


@pytest.fixture
async def encrypted_api(
    env: WorkflowEnvironment, encrypted_settings: Settings, sqlite_engine: Engine
) -> AsyncIterator[httpx.AsyncClient]:
    client = await env.connect_client(data_converter=data_converter(encrypted_settings))
    app = create_app(encrypted_settings, temporal_client=client, engine=sqlite_engine)
    async with running_worker(client, encrypted_settings, sqlite_engine), serving(app) as http:
        yield http


async def test_coordinator_decodes_the_encrypted_history_and_the_read_is_audited(
    encrypted_api: httpx.AsyncClient, env: WorkflowEnvironment, org: Org, sqlite_engine: Engine
) -> None:
    state = ok(
        await encrypted_api.post("/pathways", json=intake_body(org.team, reason=REASON), headers=org.nurse.auth), 201
    )
    pathway_id = state["pathway_id"]

    # Through the API the pathway reads as usual ...
    async def record() -> dict[str, object] | None:
        response = await encrypted_api.get(f"/pathways/{pathway_id}", headers=org.nurse.auth)
        return response.json() if response.status_code == 200 else None

    assert (await eventually(record, what="the record"))["referral"]["reason"] == REASON

    # ... while Temporal holds only ciphertext (a client without the key sees encrypted payloads).
    raw_history = await env.client.get_workflow_handle(pathway_id).fetch_history()
    started = raw_history.events[0].workflow_execution_started_event_attributes.input
    assert started.payloads[0].metadata["encoding"] == b"binary/encrypted"
    assert REASON.encode() not in started.payloads[0].data
    body = json_format.MessageToJson(Payloads(payloads=list(started.payloads)))

    # Every payload names its pathway, authenticated with the ciphertext.
    assert started.payloads[0].metadata["encryption-workflow-id"] == pathway_id.encode()

    headers = {"Content-Type": "application/json", "X-Namespace": "default"}
    for member in (org.coordinator, org.nurse):
        decoded = await encrypted_api.post("/codec/decode", content=body, headers={**headers, **member.auth})
        assert decoded.status_code == 200, decoded.text
        plain = json_format.Parse(decoded.text, Payloads())
        assert REASON.encode() in plain.payloads[0].data

    # Staff of another team get the payload back as it came: still encrypted.
    for member in (org.outsider, org.other_coordinator):
        withheld = await encrypted_api.post("/codec/decode", content=body, headers={**headers, **member.auth})
        assert withheld.status_code == 200
        assert json_format.Parse(withheld.text, Payloads()).payloads[0] == started.payloads[0]
        assert REASON not in withheld.text
    # Administrators read no client data; nobody unsigned-in reads anything.
    assert (
        await encrypted_api.post("/codec/decode", content=body, headers={**headers, **org.admin.auth})
    ).status_code == 403
    assert (await encrypted_api.post("/codec/decode", content=body, headers=headers)).status_code == 401

    with Session(sqlite_engine) as session:
        decodes = session.exec(
            select(AuditLogEntry)
            .where(AuditLogEntry.action == "codec.decode", AuditLogEntry.pathway_id == pathway_id)
            .order_by(AuditLogEntry.id)  # type: ignore[arg-type]
        ).all()
    assert [(entry.staff_id, entry.outcome) for entry in decodes] == [
        (org.coordinator.staff_id, "ok"),
        (org.nurse.staff_id, "ok"),
        (org.outsider.staff_id, "denied"),
        (org.other_coordinator.staff_id, "denied"),
    ]

    preflight = await encrypted_api.options(
        "/codec/decode",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert preflight.headers.get("access-control-allow-origin") == UI_ORIGIN
    assert preflight.headers.get("access-control-allow-credentials") == "true"


async def test_the_web_uis_decode_with_the_signed_in_session_cookie_works_and_a_stale_one_does_not(
    encrypted_api: httpx.AsyncClient, env: WorkflowEnvironment, org: Org, sqlite_engine: Engine
) -> None:
    """What the Web UI sends: no Authorization header, the browser's session cookie (credentials included)."""
    state = ok(
        await encrypted_api.post("/pathways", json=intake_body(org.team, reason=REASON), headers=org.nurse.auth), 201
    )
    raw_history = await env.client.get_workflow_handle(state["pathway_id"]).fetch_history()
    started = raw_history.events[0].workflow_execution_started_event_attributes.input
    body = json_format.MessageToJson(Payloads(payloads=list(started.payloads)))
    with Session(sqlite_engine) as session:
        secret, _ = sessions.open_session(session, staff_id=org.coordinator.staff_id, method=SignInMethod.OIDC, hours=1)
    ui = {"Content-Type": "application/json", "X-Namespace": "default", "Origin": UI_ORIGIN}
    decoded = await encrypted_api.post(
        "/codec/decode", content=body, headers={**ui, "Cookie": f"{sessions.COOKIE}={secret}"}
    )
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == UI_ORIGIN
    assert decoded.headers["access-control-allow-credentials"] == "true"
    assert REASON.encode() in json_format.Parse(decoded.text, Payloads()).payloads[0].data
    with Session(sqlite_engine) as session:
        sessions.end_session(session, secret)
    ended = await encrypted_api.post(
        "/codec/decode", content=body, headers={**ui, "Cookie": f"{sessions.COOKIE}={secret}"}
    )
    assert ended.status_code == 401
    assert "sign in again" in ended.json()["detail"]


async def test_without_encryption_no_codec_server_is_mounted(api: httpx.AsyncClient, org: Org) -> None:
    response = await api.post("/codec/decode", json={"payloads": []}, headers=org.coordinator.auth)
    assert response.status_code in (404, 405)
