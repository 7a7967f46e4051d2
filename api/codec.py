"""The codec server: lets staff read encrypted pathway payloads in the Temporal Web UI, pathway by pathway.

The Web UI (and `temporal workflow show --codec-endpoint`) POSTs `{"payloads": [...]}` in protobuf JSON
to `<endpoint>/decode` and `<endpoint>/encode`; with the endpoint set to `https://<api>/codec` these
routes answer. The caller is signed in (`authorize`: the browser's session cookie, which the UI sends with
credentials included, or a bearer token). Each payload is bound to its workflow when encoded
(`core.codec`), so the server knows whose it is: a payload is decoded only for staff who may read that
pathway (`CodecAccess.readable`: its team's professionals and coordinators), and is handed back still
encrypted otherwise. Every decode is audited per pathway, refusals too, before anything is returned: no
audit, no data.

Payloads written before the binding carry no workflow id: they are decrypted, and returned only when the
pathways they name are all readable, or, naming none, to a coordinator.

`PATHWAYS_CODEC_CORS_ORIGINS` lists the Web UI's origins (e.g. `http://localhost:8233`); CORS applies
to `/codec` only, so the UI's origin gains nothing on the rest of the API.
"""

import inspect
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from google.protobuf import json_format
from pydantic import BaseModel
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from core.codec import ENCODING, PayloadDecryptionError, bound_workflow_id
from models.pathway import WORKFLOW_ID_PREFIX, validate_client_reference
from models.tables import AuditLogEntry

CODEC_PREFIX = "/codec"
# The UI batches a history page's payloads; Temporal's own limit is 2 MiB per payload.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DECODE_AUDIT_ACTION = "codec.decode"
DECODE_AUDIT_PURPOSE = "payloads decrypted for the Temporal Web UI"


@dataclass(frozen=True)
class CodecDecodeAudit:
    """One decode request, as the audit log needs it."""

    principal: Any  # what `authorize` returned: the signed-in staff member
    at: datetime
    namespace: str | None = None
    payload_count: int = 0
    # The workflows whose payloads were decoded, and those refused to this caller.
    pathway_ids: tuple[str, ...] = ()
    refused_ids: tuple[str, ...] = ()
    # Payloads decoded that name no workflow (system workflows' own, or written before the binding).
    unattributed: int = 0


class CodecAccess(Protocol):
    """Who may read which workflow's payloads, and where a decode is recorded."""

    async def readable(self, principal: Any, workflow_ids: set[str]) -> set[str]:
        """The ones among `workflow_ids` whose payloads `principal` may read."""

    def may_read_unattributed(self, principal: Any) -> bool:
        """Whether `principal` may read a payload that names no pathway."""

    async def audit(self, record: CodecDecodeAudit) -> None:
        """Record the decode; raising makes the request fail with nothing decoded."""


def decode_audit_entries(record: CodecDecodeAudit, staff_id: str) -> list[AuditLogEntry]:
    """Audit log rows for a decode: one per pathway shown, one per pathway refused, and one without a
    pathway for payloads that name none (or for a request that showed nothing at all)."""
    purpose = f"{DECODE_AUDIT_PURPOSE} ({record.payload_count} payload(s), namespace {record.namespace or '-'})"

    def entry(pathway_id: str | None, outcome: str) -> AuditLogEntry:
        return AuditLogEntry(
            at=record.at,
            staff_id=staff_id,
            pathway_id=pathway_id,
            action=DECODE_AUDIT_ACTION,
            purpose=purpose,
            outcome=outcome,
        )

    entries = [entry(pathway_id, "ok") for pathway_id in record.pathway_ids]
    entries += [entry(pathway_id, "denied") for pathway_id in record.refused_ids]
    if record.unattributed or not entries:
        entries.append(entry(None, "ok"))
    return entries


class CodecError(BaseModel):
    detail: str


_PAYLOADS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["payloads"],
    "properties": {
        "payloads": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "metadata": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
                    "data": {"type": "string", "format": "byte"},
                },
            },
        }
    },
}
# Protobuf JSON omits an empty repeated field and reads null as empty, so a client written with protobuf (the
# Temporal CLI) may send `{}` for no payloads: the request may leave `payloads` out or null; the answer
# always has it (found by fuzzing).
_BYTES_OR_NULL: dict[str, Any] = {"anyOf": [{"type": "string", "format": "byte"}, {"type": "null"}]}
_PAYLOADS_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "payloads": {
            "anyOf": [
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "metadata": {
                                "anyOf": [
                                    {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
                                    {"type": "null"},
                                ]
                            },
                            "data": _BYTES_OR_NULL,
                        },
                    },
                },
                {"type": "null"},
            ]
        }
    },
}
_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _PAYLOADS_REQUEST_SCHEMA}}},
    "responses": {
        "200": {"description": "The payloads", "content": {"application/json": {"schema": _PAYLOADS_SCHEMA}}}
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": CodecError, "description": description}
    for code, description in {
        400: "The body is not Temporal Payloads JSON",
        # The authorize dependency's answers (found by fuzzing: they were undocumented).
        401: "No valid credentials (answered with WWW-Authenticate: Bearer)",
        403: "An administrator (administrators read no client data)",
        413: "The body is too large",
        422: "A payload cannot be decrypted with the keys this server knows",
        503: "The decode could not be audited, so nothing was decoded",
    }.items()
}


async def _read_payloads(request: Request, max_body_bytes: int) -> list[Payload]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body_bytes:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the body is larger than {max_body_bytes} bytes")
    try:
        return list(json_format.Parse(bytes(body), Payloads()).payloads)
    except (json_format.ParseError, UnicodeDecodeError) as err:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f'the body must be Temporal Payloads in protobuf JSON, {{"payloads": [...]}}: {err}',
        ) from None


def _payloads_response(payloads: Iterable[Payload]) -> Response:
    return Response(
        content=json_format.MessageToJson(Payloads(payloads=payloads), always_print_fields_with_no_presence=True),
        media_type="application/json",
    )


def _pathway_ids_in(payloads: Iterable[Payload]) -> tuple[str, ...]:
    """Which pathways the decoded payloads belong to, from the ids and client references they carry."""
    found: set[str] = set()

    def walk(value: Any, depth: int) -> None:
        if depth > 8:
            return
        if isinstance(value, dict):
            pathway_id = value.get("pathway_id")
            if isinstance(pathway_id, str) and pathway_id.startswith(WORKFLOW_ID_PREFIX):
                found.add(pathway_id)
            reference = value.get("client_reference")
            if isinstance(reference, str):
                try:
                    found.add(WORKFLOW_ID_PREFIX + validate_client_reference(reference))
                except ValueError:
                    pass
            for child in value.values():
                walk(child, depth + 1)
        elif isinstance(value, list):
            for child in value:
                walk(child, depth + 1)

    for payload in payloads:
        if payload.metadata.get("encoding") != b"json/plain":
            continue
        try:
            walk(json.loads(payload.data), 0)
        except ValueError:
            continue
    return tuple(sorted(found))


async def _decode_for(
    codec: PayloadCodec, access: CodecAccess, principal: Any, payloads: list[Payload]
) -> tuple[list[Payload], set[str], set[str], int]:
    """Each payload decoded if the caller may read it, else as it came; with the workflows shown and refused
    and how many decoded payloads named none."""
    bound = {payload_id for payload in payloads if (payload_id := bound_workflow_id(payload))}
    readable = await access.readable(principal, bound) if bound else set()
    shown: set[str] = set()
    refused: set[str] = set()
    unattributed = 0
    result: list[Payload] = []
    for payload in payloads:
        if payload.metadata.get("encoding") != ENCODING:
            result.append(payload)  # not encrypted: nothing to decode or to withhold
            continue
        workflow_id = bound_workflow_id(payload)
        if workflow_id is not None:
            if workflow_id in readable:
                [decoded] = await codec.decode([payload])
                result.append(decoded)
                shown.add(workflow_id)
            else:
                result.append(payload)
                refused.add(workflow_id)
            continue
        # Written before the binding: whose it is shows only once decrypted.
        [decoded] = await codec.decode([payload])
        named = set(_pathway_ids_in([decoded]))
        if named:
            allowed = await access.readable(principal, named)
            if allowed == named:
                result.append(decoded)
                shown |= named
            else:
                result.append(payload)
                refused |= named - allowed
        elif access.may_read_unattributed(principal):
            result.append(decoded)
            unattributed += 1
        else:
            result.append(payload)
    return result, shown, refused, unattributed


def codec_router(
    codec: PayloadCodec,
    authorize: Callable[..., Any],
    access: CodecAccess,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> APIRouter:
    """POST /codec/encode and /codec/decode for `codec`, behind the `authorize` dependency.

    `access.audit` is called once per decode, before the decoded payloads leave the server; if it fails
    the request fails with 503 and nothing is returned.
    """
    # Annotations here are evaluated at definition time (no `from __future__ import annotations` in this
    # module): FastAPI must see the `authorize` dependency this router was built with.
    router = APIRouter(prefix=CODEC_PREFIX, tags=["codec"])
    Principal = Annotated[Any, Depends(authorize)]

    @router.post("/encode", openapi_extra=_OPENAPI, responses=_ERRORS, summary="Encrypt payloads (codec server)")
    async def encode_payloads(request: Request, principal: Principal) -> Response:
        payloads = await _read_payloads(request, max_body_bytes)
        return _payloads_response(await codec.encode(payloads))

    @router.post("/decode", openapi_extra=_OPENAPI, responses=_ERRORS, summary="Decrypt payloads (codec server)")
    async def decode_payloads(request: Request, principal: Principal) -> Response:
        payloads = await _read_payloads(request, max_body_bytes)
        try:
            decoded, shown, refused, unattributed = await _decode_for(codec, access, principal, payloads)
        except PayloadDecryptionError as err:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
        record = CodecDecodeAudit(
            principal=principal,
            at=datetime.now(UTC),
            namespace=request.headers.get("x-namespace"),
            payload_count=len(decoded),
            pathway_ids=tuple(sorted(shown)),
            refused_ids=tuple(sorted(refused)),
            unattributed=unattributed,
        )
        try:
            result = access.audit(record)
            if inspect.isawaitable(result):
                await result
        except Exception:
            # Reads of client data are audited without exception: no audit entry, no decrypted data.
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the decode could not be recorded in the audit log, so nothing was decoded; try again later",
                headers={"Retry-After": "5"},
            ) from None
        return _payloads_response(decoded)

    return router


class CodecCORSMiddleware:
    """CORS for the Temporal Web UI's origins on `/codec` only; the rest of the API stays same-origin."""

    def __init__(self, app: ASGIApp, origins: Sequence[str], path_prefix: str = CODEC_PREFIX) -> None:
        self._app = app
        self._path_prefix = path_prefix
        self._cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            # The UI sends the namespace, and forwards the user's credentials when configured to.
            allow_headers=["authorization", "content-type", "x-namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(self._path_prefix):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)
