"""A partner organisation's side of a referral: reading it through its signed link and answering it, by the
link's page or by a signed callback from its own system.

The partner is not staff: it acts as `partner:<partner id>` on the referral it was sent and nothing else (the
workflow checks that too). What it sees is what the client consented to share, and only while sharing holds:
a referral withdrawn (the consent withdrawn, the service ended, the pathway closed) or whose consent has
expired shows nothing but that fact. Every read and answer is audited on the pathway under the partner's name.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session
from temporalio.client import Client

from api.errors import ConflictError, NotFoundError
from api.services.audit import AuditOutcome
from api.services.pathways import WORKER_ANSWER_SECONDS
from api.services.temporal_errors import translated
from core.crypto import RecordSealer
from models.actions import AnswerReferral
from models.pathway import PARTNER_ACTOR_PREFIX, ReferralAnswer, ReferralStatus
from models.process import ActionAnswer
from models.tables import AuditLogEntry, Partner, PartnerReferral, Team
from records.store import aware, referral_place
from workflows.actions import action_for
from workflows.client import act, pathway_handle
from workflows.rules import REFERRAL_ANSWERS_FROM

READ_PURPOSE = "the provider read the referral sent to it"
ANSWER_PURPOSE = "the provider answered the referral sent to it"


@dataclass(frozen=True)
class PartnerView:
    """A referral as its provider may see it now."""

    referral: PartnerReferral
    partner: Partner
    team_name: str
    message: str | None  # None when sharing has stopped
    sharing_stopped: str | None
    possible_answers: list[ReferralAnswer]

    @property
    def actor(self) -> str:
        return PARTNER_ACTOR_PREFIX + self.partner.partner_id


def _sharing_stopped(referral: PartnerReferral, now: datetime) -> str | None:
    if referral.status is ReferralStatus.WITHDRAWN:
        return "withdrawn"
    if referral.consent_expires_at is not None and aware(referral.consent_expires_at) <= now:
        return "consent_expired"
    return None


def view_of(session: Session, sealer: RecordSealer, referral_id: str, partner_id: str) -> PartnerView:
    """The referral `partner_id` was sent, as it may see it; NotFound for any other referral."""
    referral = session.get(PartnerReferral, referral_id)
    if referral is None or referral.partner_id != partner_id:
        raise NotFoundError("no such referral for your organisation")
    partner = session.get(Partner, (referral.team, partner_id))
    team = session.get(Team, referral.team)
    if partner is None or team is None:
        raise NotFoundError("no such referral for your organisation")
    # A partner taken out of the team's register sees nothing more, and answers nothing more.
    stopped = "partner_inactive" if not partner.active else _sharing_stopped(referral, datetime.now(UTC))
    message = None if stopped else sealer.open(referral.message, place=referral_place(referral_id))
    possible = (
        []
        if stopped
        else [answer for answer, since in REFERRAL_ANSWERS_FROM.items() if ReferralStatus(referral.status) in since]
    )
    return PartnerView(
        referral=referral,
        partner=partner,
        team_name=team.name,
        message=message,
        sharing_stopped=stopped,
        possible_answers=possible,
    )


def wait_until_recorded(session: Session, referral_id: str, status: ReferralStatus, timeout: float = 3.0) -> bool:
    """Whether the referral's row shows `status` within `timeout` seconds. The workflow takes an answer at
    once; the activity that records its events writes the row a moment later, and the provider's page
    should show the answer it just gave rather than the state before it."""
    waited = 0.0
    while True:
        session.expire_all()
        referral = session.get(PartnerReferral, referral_id)
        if referral is not None and ReferralStatus(referral.status) is status:
            return True
        if waited >= timeout:
            return False
        time.sleep(0.1)
        waited += 0.1


def audit_partner(session: Session, view: PartnerView, action: str, outcome: AuditOutcome, purpose: str) -> None:
    session.add(
        AuditLogEntry(
            staff_id=view.actor,
            pathway_id=view.referral.pathway_id,
            action=action,
            purpose=purpose,
            outcome=outcome.value,
        )
    )
    session.commit()


async def answer(
    *,
    client: Client,
    session: Session,
    view: PartnerView,
    answer: ReferralAnswer,
    reason: str | None,
    update_id: str,
) -> ActionAnswer:
    """The provider's answer as the pathway's `answer_referral` action, audited with its outcome."""
    outcome = AuditOutcome.OK
    try:
        if view.sharing_stopped is not None:
            raise ConflictError("the referral has been withdrawn: it can no longer be answered")
        fields = AnswerReferral(referral_id=view.referral.referral_id, answer=answer, reason=reason)
        async with translated(view.referral.pathway_id), asyncio.timeout(WORKER_ANSWER_SECONDS):
            return await act(
                pathway_handle(client, view.referral.pathway_id),
                action_for(AnswerReferral),
                actor=view.actor,
                fields=fields,
                update_id=update_id,
            )
    except ConflictError:
        outcome = AuditOutcome.REJECTED
        raise
    except Exception:
        outcome = AuditOutcome.ERROR
        raise
    finally:
        await asyncio.to_thread(audit_partner, session, view, "answer_referral", outcome, ANSWER_PURPOSE)
