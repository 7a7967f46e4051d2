"""Partner systems answer referrals here, signed with the webhook secret the team gave them.

`POST /partner/callbacks/referrals` with the JSON body `{"referral_id", "answer", "reason"}`, the headers
`X-Pathways-Timestamp` (Unix seconds) and `X-Pathways-Signature: sha256=<hex of HMAC-SHA256(secret,
"<timestamp>.<raw body>")>` (the scheme of the webhooks we send), and optionally `X-Pathways-Delivery`: the
same delivery id, retried, applies once. An unknown referral and a wrong signature get the same answer.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field, ValidationError, model_validator

from api.deps import SealerDep, SessionDep, SettingsDep, TemporalClientDep
from api.errors import InvalidInputError, NotAuthenticatedError, NotFoundError
from api.schemas import Body, ErrorBody
from api.services import partner_referrals
from core.links import InvalidLink, verify_callback
from models.pathway import ITEM_ID_PATTERN, ReferralAnswer
from models.process import ActionAnswer
from models.tables import Partner, PartnerReferral

router = APIRouter()
MAX_CALLBACK_BYTES = 16 * 1024
_NOT_VERIFIED = "the callback is not signed by a partner this referral was sent to"


class ReferralCallback(Body):
    referral_id: str = Field(pattern=ITEM_ID_PATTERN)
    answer: ReferralAnswer
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="Required when declined.")
    delivery_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The partner's own id of this answer, signed with the body: a retry with the same id applies once.",
    )

    @model_validator(mode="after")
    def _reason_for_decline(self) -> ReferralCallback:
        if self.answer is ReferralAnswer.DECLINED and not self.reason:
            raise ValueError("a declined referral needs the reason")
        return self


class ReferralCallbackAnswer(BaseModel):
    """The answer was applied; a retried delivery gets this same answer and applies nothing more."""

    referral_id: str
    answer: ReferralAnswer
    stage: str = Field(description="The pathway's stage after the answer.")


@router.post(
    "/partner/callbacks/referrals",
    responses={
        400: {"model": ErrorBody, "description": "The body is not a referral answer."},
        401: {"model": ErrorBody, "description": "Not signed with the partner's secret, or the timestamp is old."},
        409: {"model": ErrorBody, "description": "The referral cannot take this answer now (the reason says why)."},
    },
    summary="A partner system's signed answer to a referral",
)
async def referral_callback(
    request: Request,
    session: SessionDep,
    sealer: SealerDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    timestamp: Annotated[str, Header(alias="X-Pathways-Timestamp")],
    signature: Annotated[str, Header(alias="X-Pathways-Signature")],
    delivery: Annotated[str | None, Header(alias="X-Pathways-Delivery", max_length=200)] = None,
) -> ReferralCallbackAnswer:
    raw = await request.body()
    if len(raw) > MAX_CALLBACK_BYTES:
        raise InvalidInputError(f"the body is over {MAX_CALLBACK_BYTES} bytes", field="body")
    try:
        body = ReferralCallback.model_validate_json(raw)
    except ValidationError as err:
        reasons = "; ".join(error["msg"] for error in err.errors())
        raise InvalidInputError(f"not a referral answer: {reasons}", field="body") from err
    referral = await asyncio.to_thread(session.get, PartnerReferral, body.referral_id)
    partner = await asyncio.to_thread(session.get, Partner, (referral.team, referral.partner_id)) if referral else None
    if referral is None or partner is None or not partner.webhook_secret or not partner.active:
        raise NotAuthenticatedError(_NOT_VERIFIED)
    try:
        verify_callback(
            partner.webhook_secret,
            timestamp,
            raw,
            signature,
            now=datetime.now(UTC),
            tolerance=timedelta(seconds=settings.partner_callback_tolerance_seconds),
        )
    except InvalidLink as err:
        raise NotAuthenticatedError(f"{_NOT_VERIFIED}: {err}") from err
    try:
        view = await asyncio.to_thread(
            partner_referrals.view_of, session, sealer, referral.referral_id, partner.partner_id
        )
    except NotFoundError as err:
        raise NotAuthenticatedError(_NOT_VERIFIED) from err
    # The answer applies once per signed message: its id comes from what the signature covers (the timestamp
    # and the body), never from the unsigned X-Pathways-Delivery header alone, so a captured callback replayed
    # under a new delivery id is the same answer. A partner retrying names its delivery in the signed body.
    delivery_id = hashlib.sha256(timestamp.encode() + b"." + raw).hexdigest()
    if delivery is not None and body.delivery_id not in (None, delivery):
        raise InvalidInputError("X-Pathways-Delivery differs from the signed delivery_id", field="delivery_id")
    if body.delivery_id is not None:
        delivery_id = hashlib.sha256(body.delivery_id.encode()).hexdigest()
    answer: ActionAnswer = await partner_referrals.answer(
        client=client,
        session=session,
        view=view,
        answer=body.answer,
        reason=body.reason,
        update_id=f"partner-callback:{body.referral_id}:{delivery_id}"[:300],
    )
    return ReferralCallbackAnswer(referral_id=body.referral_id, answer=body.answer, stage=answer.stage.value)
