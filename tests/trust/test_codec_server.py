"""The codec server the Temporal Web UI calls, in a small FastAPI app over HTTP (httpx)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import WorkflowSerializationContext

from api.codec import (
    DECODE_AUDIT_ACTION,
    CodecCORSMiddleware,
    CodecDecodeAudit,
    codec_router,
    decode_audit_entries,
)
from core.codec import KEY_ID_METADATA, WORKFLOW_ID_METADATA, EncryptionCodec, PayloadDecryptionError, parse_key_ring
from tests.support.fixtures import make_org, migrated, running_worker

from .conftest import FileServer, KeyMaterial, new_key
from .pathway_with_notes import distinctive_marker, run_pathway_with_notes

UI_ORIGIN = "http://localhost:8233"
COORDINATOR_TOKEN = "coordinator-token"
PROFESSIONAL_TOKEN = "professional-token"


def require_coordinator(authorization: Annotated[str | None, Header()] = None) -> str:
    """Stands in for the API's "authenticated coordinator" dependency."""
    if authorization == f"Bearer {COORDINATOR_TOKEN}":
        return "coordinator.aalto"
    if authorization == f"Bearer {PROFESSIONAL_TOKEN}":
        raise HTTPException(403, "only coordinators may decode payloads")
    raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})


class AuditLog:
    """Stands in for the product's access rules (api.services.codec_access): the coordinator may read every
    pathway but those in `withheld`, and unattributed payloads; every decode is recorded."""

    def __init__(self) -> None:
        self.records: list[CodecDecodeAudit] = []
        self.failing = False
        self.withheld: set[str] = set()

    async def readable(self, principal: object, workflow_ids: set[str]) -> set[str]:
        return {workflow_id for workflow_id in workflow_ids if workflow_id not in self.withheld}

    def may_read_unattributed(self, principal: object) -> bool:
        return principal == "coordinator.aalto"

    async def audit(self, record: CodecDecodeAudit) -> None:
        if self.failing:
            raise ConnectionError("audit database unavailable")
        self.records.append(record)


def codec_for(keys: dict[str, str], active: str) -> EncryptionCodec:
    ring = parse_key_ring(",".join(f"{k}:{v}" for k, v in keys.items()), active)
    assert ring is not None
    return EncryptionCodec(ring)


@pytest.fixture
def audit_log() -> AuditLog:
    return AuditLog()


@pytest.fixture
def codec(keys: KeyMaterial) -> EncryptionCodec:
    return codec_for({"key-a": keys.key_a}, "key-a")


@pytest.fixture
async def http(codec: EncryptionCodec, audit_log: AuditLog) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(codec_router(codec, authorize=require_coordinator, access=audit_log, max_body_bytes=64 * 1024))

    @app.get("/pathways")
    def pathways() -> list[str]:
        return []

    app.add_middleware(CodecCORSMiddleware, origins=[UI_ORIGIN])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
        yield client


def _as_json(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def _from_json(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


def _json_payload(value: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def _coordinator(**headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {COORDINATOR_TOKEN}", "X-Namespace": "default", **headers}


async def test_coordinator_reads_a_real_encrypted_pathway_history_and_the_read_is_audited(
    file_server: FileServer, keys: KeyMaterial, http: httpx.AsyncClient, audit_log: AuditLog, tmp_path: Path
) -> None:
    client = await file_server.connect(keys.only_a)
    marker = distinctive_marker("ui-note")
    url = f"sqlite:///{tmp_path / 'pathways.db'}"
    engine = migrated(url)
    org = make_org(engine)
    queue = f"tq-{uuid.uuid4()}"
    settings = keys.only_a.model_copy(update={"task_queue": queue, "database_url": url})
    async with running_worker(client, settings, engine) as effects:
        noted = await run_pathway_with_notes(client, queue, engine, effects.sealer, org, marker)
    pathway = noted.pathway
    history = await pathway.handle.fetch_history()
    # What the Web UI sends for the first event: the pathway's start input, encrypted.
    encrypted = list(history.events[0].workflow_execution_started_event_attributes.input.payloads)
    assert marker.encode() not in encrypted[0].data

    response = await http.post("/codec/decode", content=_as_json(encrypted), headers=_coordinator())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    [decoded] = _from_json(response.text)
    start_input = json.loads(decoded.data)
    assert start_input["intake"]["reason"] == f"Referral reason {marker}"
    [record] = audit_log.records
    assert record.principal == "coordinator.aalto"
    assert record.namespace == "default"
    assert record.payload_count == 1
    assert record.pathway_ids == (pathway.pathway_id,)


async def test_encode_is_refused_and_audited_and_a_bound_payload_round_trips(
    http: httpx.AsyncClient, audit_log: AuditLog, codec: EncryptionCodec
) -> None:
    """The Web UI is read-only for pathways: /encode (an encryption oracle for anyone signed in) is refused."""
    original = [_json_payload({"note": "contact by phone"}), _json_payload(3)]
    refused = await http.post("/codec/encode", content=_as_json(original), headers=_coordinator())
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    [record] = audit_log.records
    assert record.encode_refused and record.payload_count == 2

    bound = await codec.with_context(WorkflowSerializationContext("default", "pathway-client-0001")).encode(original)
    assert [p.metadata[KEY_ID_METADATA] for p in bound] == [b"key-a", b"key-a"]
    assert b"contact by phone" not in bound[0].data
    decoded = await http.post("/codec/decode", content=_as_json(bound), headers=_coordinator())
    assert _from_json(decoded.text) == original
    assert audit_log.records[1].pathway_ids == ("pathway-client-0001",)


async def test_a_payload_bound_to_no_pathway_is_not_decoded_and_the_refusal_is_audited(
    http: httpx.AsyncClient, audit_log: AuditLog, codec: EncryptionCodec
) -> None:
    """Unbound payloads were decrypted for any coordinator, audited without a pathway."""
    unbound = await codec.encode([_json_payload({"pathway_id": "pathway-client-0001", "note": "private"})])
    response = await http.post("/codec/decode", content=_as_json(unbound), headers=_coordinator())
    assert response.status_code == 200
    assert _from_json(response.text) == unbound and "private" not in response.text
    [record] = audit_log.records
    assert record.unattributed == 1 and record.pathway_ids == ()
    [line] = decode_audit_entries(record, "coordinator.aalto")
    assert line.outcome == "denied" and line.pathway_id is None


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": f"Bearer {PROFESSIONAL_TOKEN}"}, 403)],
)
async def test_only_an_authenticated_coordinator_can_decode(
    http: httpx.AsyncClient, audit_log: AuditLog, codec: EncryptionCodec, headers: dict[str, str], status: int
) -> None:
    encrypted = await codec.encode([_json_payload({"note": "private"})])
    response = await http.post("/codec/decode", content=_as_json(encrypted), headers=headers)
    assert response.status_code == status
    assert "private" not in response.text
    encode_response = await http.post("/codec/encode", content=_as_json([_json_payload(1)]), headers=headers)
    assert encode_response.status_code == status
    assert audit_log.records == []


async def test_a_body_that_is_not_payloads_json_gets_400_and_nothing_is_audited(
    http: httpx.AsyncClient, audit_log: AuditLog
) -> None:
    for body in ("not json", '{"payloads": "nope"}', '{"unknown": 1}', '{"payloads": [{"metadata": 5}]}'):
        response = await http.post("/codec/decode", content=body, headers=_coordinator())
        assert response.status_code == 400, body
        assert "Temporal Payloads in protobuf JSON" in response.json()["detail"]
    assert audit_log.records == []


async def test_an_oversized_body_gets_413(http: httpx.AsyncClient) -> None:
    big = [Payload(metadata={"encoding": b"binary/plain"}, data=b"x" * 70 * 1024)]
    response = await http.post("/codec/encode", content=_as_json(big), headers=_coordinator())
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["detail"]


async def test_a_payload_of_an_unknown_key_gets_422_naming_the_key_and_nothing_is_decoded(
    http: httpx.AsyncClient, audit_log: AuditLog, keys: KeyMaterial
) -> None:
    context = WorkflowSerializationContext("default", "pathway-client-0002")
    other = (
        await codec_for({"key-x": new_key()}, "key-x")
        .with_context(context)
        .encode([_json_payload({"note": "private"})])
    )
    mine = (
        await codec_for({"key-a": keys.key_a}, "key-a")
        .with_context(context)
        .encode([_json_payload({"note": "also private"})])
    )
    response = await http.post("/codec/decode", content=_as_json(mine + other), headers=_coordinator())
    assert response.status_code == 422
    assert "key 'key-x', which this process does not know" in response.json()["detail"]
    assert "private" not in response.text
    assert audit_log.records == []


async def test_when_the_audit_log_fails_nothing_is_decoded(
    http: httpx.AsyncClient, audit_log: AuditLog, codec: EncryptionCodec
) -> None:
    audit_log.failing = True
    encrypted = await codec.encode([_json_payload({"note": "private"})])
    response = await http.post("/codec/decode", content=_as_json(encrypted), headers=_coordinator())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "audit log" in response.json()["detail"]
    assert "private" not in response.text


async def test_cors_lets_the_web_ui_origin_call_the_codec_with_credentials_and_nothing_else(
    http: httpx.AsyncClient,
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await http.options("/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()

    foreign = await http.options("/codec/decode", headers={"Origin": "https://evil.example", **preflight})
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers

    # The UI's origin gains nothing on the rest of the API.
    elsewhere = await http.get("/pathways", headers={"Origin": UI_ORIGIN})
    assert "access-control-allow-origin" not in elsewhere.headers


def test_a_decode_becomes_one_audit_log_row_per_pathway_shown() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    record = CodecDecodeAudit(
        principal="coordinator.aalto",
        at=at,
        namespace="default",
        payload_count=4,
        pathway_ids=("pathway-a1b2", "pathway-c3d4"),
    )
    rows = decode_audit_entries(record, staff_id="coordinator.aalto")
    assert [(r.staff_id, r.pathway_id, r.action, r.at) for r in rows] == [
        ("coordinator.aalto", "pathway-a1b2", DECODE_AUDIT_ACTION, at),
        ("coordinator.aalto", "pathway-c3d4", DECODE_AUDIT_ACTION, at),
    ]
    assert rows[0].purpose is not None and "4 payload(s)" in rows[0].purpose
    [unknown] = decode_audit_entries(CodecDecodeAudit(principal="x", at=at), staff_id="coordinator.aalto")
    assert unknown.pathway_id is None
    refused = decode_audit_entries(
        CodecDecodeAudit(principal="x", at=at, pathway_ids=("pathway-a1b2",), refused_ids=("pathway-z9y8",)),
        staff_id="socialworker.other",
    )
    assert [(r.pathway_id, r.outcome) for r in refused] == [("pathway-a1b2", "ok"), ("pathway-z9y8", "denied")]


async def test_a_payload_is_bound_to_its_pathway_and_decoded_only_for_those_who_may_read_that_pathway(
    http: httpx.AsyncClient, audit_log: AuditLog, codec: EncryptionCodec
) -> None:
    mine = await codec.with_context(WorkflowSerializationContext("default", "pathway-mine-0001")).encode(
        [_json_payload({"note": "the team's own client"})]
    )
    theirs = await codec.with_context(WorkflowSerializationContext("default", "pathway-theirs-0002")).encode(
        [_json_payload({"note": "another team's client"})]
    )
    assert mine[0].metadata[WORKFLOW_ID_METADATA] == b"pathway-mine-0001"
    audit_log.withheld = {"pathway-theirs-0002"}
    response = await http.post("/codec/decode", content=_as_json(mine + theirs), headers=_coordinator())
    assert response.status_code == 200
    shown, withheld = _from_json(response.text)
    assert json.loads(shown.data) == {"note": "the team's own client"}
    # Handed back as it came: still encrypted, nothing of it readable.
    assert withheld == theirs[0] and b"another team" not in withheld.data
    [record] = audit_log.records
    assert record.pathway_ids == ("pathway-mine-0001",) and record.refused_ids == ("pathway-theirs-0002",)


async def test_a_payload_relabelled_to_another_pathway_does_not_decrypt(
    http: httpx.AsyncClient, audit_log: AuditLog, codec: EncryptionCodec
) -> None:
    [theirs] = await codec.with_context(WorkflowSerializationContext("default", "pathway-theirs-0002")).encode(
        [_json_payload({"note": "another team's client"})]
    )
    moved = Payload()
    moved.CopyFrom(theirs)
    moved.metadata[WORKFLOW_ID_METADATA] = b"pathway-mine-0001"
    response = await http.post("/codec/decode", content=_as_json([moved]), headers=_coordinator())
    assert response.status_code == 422
    assert "or its workflow label) was altered" in response.json()["detail"]
    assert "another team" not in response.text
    # A worker refuses it too, before even trying: payloads stay with their pathway.
    worker_side = codec.with_context(WorkflowSerializationContext("default", "pathway-mine-0001"))
    with pytest.raises(PayloadDecryptionError, match="turned up in pathway-mine-0001's history"):
        await worker_side.decode([theirs])


def test_the_codec_routes_are_documented_in_openapi(codec: EncryptionCodec) -> None:
    app = FastAPI()
    app.include_router(codec_router(codec, authorize=require_coordinator, access=AuditLog()))
    schema = app.openapi()
    decode = schema["paths"]["/codec/decode"]["post"]
    body_schema = decode["requestBody"]["content"]["application/json"]["schema"]
    # Protobuf JSON may leave an empty list out (or send null); the answer always carries it.
    assert "payloads" in body_schema["properties"] and "required" not in body_schema
    answer = decode["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["required"] == ["payloads"]
    assert {"200", "400", "401", "403", "413", "422", "503"} <= set(decode["responses"])


async def test_the_codec_answers_no_payloads_with_an_empty_list(codec: EncryptionCodec) -> None:
    app = FastAPI()
    app.include_router(codec_router(codec, authorize=require_coordinator, access=AuditLog()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec.test") as http:
        bodies: list[dict[str, list[object] | None]] = [{}, {"payloads": None}, {"payloads": []}]
        for body in bodies:
            response = await http.post("/codec/decode", json=body, headers=_coordinator())
            assert response.status_code == 200
            assert response.json() == {"payloads": []}
