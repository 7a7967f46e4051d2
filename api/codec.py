"""The codec server: lets staff read encrypted pathway payloads in the Temporal Web UI, pathway by pathway.

The Web UI (and `temporal workflow show --codec-endpoint`) POSTs `{"payloads": [...]}` in protobuf JSON
to `<endpoint>/decode` and `<endpoint>/encode`; with the endpoint set to `https://<api>/codec` these
routes answer. The caller is signed in (`authorize`: the browser's session cookie, which the UI sends with
credentials included, or a bearer token). Each payload is bound to its workflow when encoded
(`core.codec`), so the server knows whose it is: a payload is decoded only for staff who may read that
pathway (`CodecAccess.readable`: its team's professionals and coordinators), and is handed back still
encrypted otherwise. Every decode is audited per pathway, refusals too, before anything is returned: no
audit, no data.

A payload bound to no workflow is never decoded: every payload decoded names its pathway, or is refused
(returned still encrypted, and the refusal audited). `/encode` is refused to everyone, and audited: the Web
UI is read-only for the pathways (what it would encode is a signal, an update or a reset input typed in by
hand, which the workers refuse anyway: `core.codec`); staff act through the web app or the API, where every
action is validated and audited.

`PATHWAYS_CODEC_CORS_ORIGINS` lists the Web UI's origins (e.g. `http://localhost:8233`); CORS applies
to `/codec` only, so the UI's origin gains nothing on the rest of the API.
"""

import inspect
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
from models.tables import AuditLogEntry

CODEC_PREFIX = "/codec"
# The UI batches a history page's payloads; Temporal's own limit is 2 MiB per payload.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DECODE_AUDIT_ACTION = "codec.decode"
DECODE_AUDIT_PURPOSE = "payloads decrypted for the Temporal Web UI"
ENCODE_AUDIT_ACTION = "codec.encode"


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
    # Payloads bound to no workflow, returned still encrypted.
    unattributed: int = 0
    # An /encode request, refused.
    encode_refused: bool = False


class CodecAccess(Protocol):
    """Who may read which workflow's payloads, and where a decode is recorded."""

    async def readable(self, principal: Any, workflow_ids: set[str]) -> set[str]:
        """The ones among `workflow_ids` whose payloads `principal` may read."""

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

    if record.encode_refused:
        return [
            AuditLogEntry(
                at=record.at,
                staff_id=staff_id,
                pathway_id=None,
                action=ENCODE_AUDIT_ACTION,
                purpose=f"payloads to encrypt for the Temporal Web UI ({record.payload_count})",
                outcome="denied",
            )
        ]
    entries = [entry(pathway_id, "ok") for pathway_id in record.pathway_ids]
    entries += [entry(pathway_id, "denied") for pathway_id in record.refused_ids]
    if record.unattributed:
        entries.append(entry(None, "denied"))
    if not entries:
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
        # Bound to no workflow: whose it is cannot be known without decrypting it, so it is not decrypted.
        result.append(payload)
        unattributed += 1
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

    @router.post(
        "/encode",
        openapi_extra=_OPENAPI,
        responses={**_ERRORS, 403: {"model": CodecError, "description": "The Web UI is read-only for pathways."}},
        summary="Encrypt payloads (codec server): refused, and audited",
    )
    async def encode_payloads(request: Request, principal: Principal) -> Response:
        payloads = await _read_payloads(request, max_body_bytes)
        record = CodecDecodeAudit(
            principal=principal, at=datetime.now(UTC), payload_count=len(payloads), encode_refused=True
        )
        await _audited(access, record)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the Temporal Web UI is read-only for the pathways: act through the web app or the staff API, where "
            "every action is checked and audited",
        )

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
        await _audited(access, record)
        return _payloads_response(decoded)

    return router


async def _audited(access: CodecAccess, record: CodecDecodeAudit) -> None:
    try:
        result = access.audit(record)
        if inspect.isawaitable(result):
            await result
    except Exception:
        # Reads of client data are audited without exception: no audit entry, no decrypted data.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the request could not be recorded in the audit log, so nothing was decoded; try again later",
            headers={"Retry-After": "5"},
        ) from None


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
