"""The client's feedback without an account (issue 37): a team member makes a link for the client (signed,
valid for a set time, used once, withdrawable); the client answers on a short page, and the answer is the
pathway's `record_feedback` update with the actor `client:<link id>`, exactly as staff-entered feedback is,
applied once (the link's id is the update's id), audited, and told to the case manager by the pathway.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select
from temporalio.client import Client

from api.errors import ConflictError, NotFoundError
from api.services import audit
from api.services.audit import AuditOutcome
from api.services.temporal_errors import translated
from core.links import FeedbackLinks, InvalidLink
from models.actions import RecordFeedback
from models.pathway import CLIENT_ACTOR_PREFIX, Language
from models.tables import ClientFeedbackLink, PathwayRow
from workflows.actions import action_for
from workflows.client import act, pathway_handle

MAX_ACTIVE_LINKS = 5
# Who withdrew a link that its pathway's closing ended.
PATHWAY_CLOSED = "pathway_closed"


class LinkState(StrEnum):
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    INVALID = "invalid"  # altered, not ours, or for no link we know


def state_of(row: ClientFeedbackLink, now: datetime) -> LinkState:
    if row.used_at is not None:
        return LinkState.USED
    if row.withdrawn_at is not None:
        return LinkState.WITHDRAWN
    if _aware(row.expires_at) <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_link(
    session: Session,
    links: FeedbackLinks,
    *,
    pathway: PathwayRow,
    language: Language,
    created_by: str,
    valid_for: timedelta,
    now: datetime,
) -> tuple[ClientFeedbackLink, str]:
    """A new link for the pathway's client, in the client's language; at most a few open at once."""
    if pathway.closed_at is not None:
        raise ConflictError(f"pathway {pathway.pathway_id} is closed: its client can no longer give feedback here")
    if not links.enabled:
        raise ConflictError("feedback links are not configured: set PATHWAYS_PARTNER_LINK_SECRETS")
    open_links = [row for row in list_links(session, pathway.pathway_id) if state_of(row, now) is LinkState.OPEN]
    if len(open_links) >= MAX_ACTIVE_LINKS:
        raise ConflictError(
            f"the pathway has {len(open_links)} open feedback links: withdraw one, or wait until one is used"
        )
    row = ClientFeedbackLink(
        link_id=secrets.token_hex(8),
        pathway_id=pathway.pathway_id,
        team=pathway.team,
        language=language,
        created_by=created_by,
        created_at=now,
        expires_at=(now + valid_for).replace(microsecond=0),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row, links.url(row.link_id, _aware(row.expires_at))


def list_links(session: Session, pathway_id: str) -> list[ClientFeedbackLink]:
    statement = select(ClientFeedbackLink).where(ClientFeedbackLink.pathway_id == pathway_id)
    return list(session.exec(statement.order_by(col(ClientFeedbackLink.created_at))))


def withdraw_link(session: Session, *, pathway_id: str, link_id: str, by: str, now: datetime) -> ClientFeedbackLink:
    row = session.get(ClientFeedbackLink, link_id)
    if row is None or row.pathway_id != pathway_id:
        raise NotFoundError(f"no feedback link {link_id} on pathway {pathway_id}")
    if row.used_at is not None:
        raise ConflictError(f"feedback link {link_id} was already used: the client's answer is on the pathway")
    if row.withdrawn_at is None:
        row.withdrawn_at, row.withdrawn_by = now, by
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


@dataclass(frozen=True)
class Resolved:
    state: LinkState
    row: ClientFeedbackLink | None


def resolve(session: Session, links: FeedbackLinks, token: str, now: datetime) -> Resolved:
    """What a token stands for: an open link, or why it is not one (a signature that does not hold, or a link
    we do not know, is `invalid`; the expiry is the link's own, as signed)."""
    try:
        link_id, _expires = links.verify(token)
    except InvalidLink:
        return Resolved(LinkState.INVALID, None)
    row = session.get(ClientFeedbackLink, link_id)
    if row is None:
        return Resolved(LinkState.INVALID, None)
    return Resolved(state_of(row, now), row)


async def submit(
    client: Client, session: Session, row: ClientFeedbackLink, feedback: RecordFeedback, now: datetime
) -> bool:
    """The client's answer, as the pathway's `record_feedback` update. The link is claimed first (in one
    statement: open, not withdrawn), so a second request, or a withdrawal meanwhile, cannot use it too; a claim
    whose answer Temporal did not take (away, busy, refused) is given back, and a retry sends the same update
    id, which Temporal applies once. True for the request that used the link (audited); False if another
    request had it."""
    if not _claim(session, row.link_id, now):
        return False
    actor = f"{CLIENT_ACTOR_PREFIX}{row.link_id}"
    try:
        async with translated(row.pathway_id):
            await act(
                pathway_handle(client, row.pathway_id),
                action_for(RecordFeedback),
                actor=actor,
                fields=feedback,
                update_id=f"client-feedback:{row.link_id}",
            )
    except ConflictError as err:
        if "is closed" in err.detail:
            _end_with_pathway(session, row.link_id, now)  # the link ends with its pathway
        else:
            _release(session, row.link_id)
        raise
    except Exception:
        _release(session, row.link_id)
        raise
    audit.record(session, staff_id=actor, pathway_id=row.pathway_id, action="client_feedback", outcome=AuditOutcome.OK)
    return True


def _claim(session: Session, link_id: str, now: datetime) -> bool:
    claimed = session.execute(
        update(ClientFeedbackLink)
        .where(
            col(ClientFeedbackLink.link_id) == link_id,
            col(ClientFeedbackLink.used_at).is_(None),
            col(ClientFeedbackLink.withdrawn_at).is_(None),
        )
        .values(used_at=now)
    )
    session.commit()
    # An UPDATE answers a CursorResult, which counts the rows it changed: one only for the request that won.
    return bool(getattr(claimed, "rowcount", 0) == 1)


def _end_with_pathway(session: Session, link_id: str, now: datetime) -> None:
    session.rollback()
    session.execute(
        update(ClientFeedbackLink)
        .where(col(ClientFeedbackLink.link_id) == link_id)
        .values(used_at=None, withdrawn_at=now, withdrawn_by=PATHWAY_CLOSED)
    )
    session.commit()


def _release(session: Session, link_id: str) -> None:
    session.rollback()
    session.execute(update(ClientFeedbackLink).where(col(ClientFeedbackLink.link_id) == link_id).values(used_at=None))
    session.commit()


def url_of(links: FeedbackLinks, row: ClientFeedbackLink) -> str:
    return links.url(row.link_id, _aware(row.expires_at))
