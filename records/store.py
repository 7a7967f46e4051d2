"""The client record in the database: how a batch of events is filed, and how the record is read back.

Functions take the caller's `Session`, so the activity that records a workflow task's decisions writes
events, the record document, the status columns, team-review items and the outbox rows in one
transaction (`activities.records`). Every write is idempotent: events are unique on (pathway, sequence)
and the document is folded only with events after its `recorded_sequence`.

Sealed places (`core.crypto`): `pathway:<id>:record`, `event:<id>:<sequence>`, `review:<review id>`,
`referral:<referral id>` (the message a provider reads under the client's consent).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from core.crypto import RecordSealer
from models.events import (
    EventKind,
    PathwayEvent,
    ReferralAnswered,
    ReferralReceived,
    ReferralSent,
    ReferralWithdrawn,
    TeamReviewDecided,
    TeamReviewOpened,
    coded_facts,
    event_from_parts,
    free_texts,
    summarize,
)
from models.pathway import ReferralStatus, Stage
from models.process import ProcessStatus
from models.record import PathwayRecord, apply_events
from models.tables import (
    AuditLogEntry,
    Notification,
    PartnerReferral,
    PathwayEventRow,
    PathwayRow,
    TeamReviewItem,
    utc_now,
)

log = logging.getLogger("pathways.records")

SYSTEM_STAFF_ID = "system"


def record_place(pathway_id: str) -> str:
    return f"pathway:{pathway_id}:record"


def event_place(pathway_id: str, sequence: int) -> str:
    return f"event:{pathway_id}:{sequence}"


def review_place(review_id: str) -> str:
    return f"review:{review_id}"


def referral_place(referral_id: str) -> str:
    return f"referral:{referral_id}"


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; everything the product writes is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class RecordBatchRefused(ValueError):
    """A batch the database can never take as it is (its events do not follow the record's)."""


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


@functools.cache
def _insert_ignoring_conflict_statement(dialect: str, table: Any, conflict: tuple[str, ...]) -> Any:
    # Built once per table and executed with parameters, so SQLAlchemy compiles it once: values inlined with
    # `.values(...)` would make a new statement (and cache key) for every row, which showed in the profile.
    module: Any = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:  # pragma: no cover (the product runs on SQLite and PostgreSQL)
        raise RuntimeError(f"unsupported database {dialect}")
    # RETURNING, not rowcount: drivers do not all report a row count for ON CONFLICT DO NOTHING.
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict)).returning(table.c[conflict[0]])


def insert_ignoring_conflict(session: Session, table: Any, values: dict[str, Any], conflict: list[str]) -> bool:
    """Insert unless a row with the same unique key exists; True if this call inserted it."""
    statement = _insert_ignoring_conflict_statement(session.get_bind().dialect.name, table, tuple(conflict))
    # On the transaction's connection, past the ORM's execution layer (nothing pending in the session depends on
    # these rows, so skipping its autoflush changes nothing).
    return session.connection().execute(statement, values).first() is not None


PATHWAY_TABLE = PathwayRow.__table__  # type: ignore[attr-defined]

# What filing changes on a pathway's row: the folded record, its coded columns and the status columns.
FILED_COLUMNS = (
    "record",
    "recorded_sequence",
    "stage",
    "case_manager",
    "route",
    "team_review_pending",
    "overdue",
    "next_deadline_at",
    "next_deadline_kind",
    "closed_at",
    "closure_reason",
    "updated_at",
)

# Core statements built once and executed with parameters (compiled once), returning plain rows: the ORM's
# identity map, its UPDATE ... RETURNING into an object and its unit of work flushing the row were half of a
# follow-up's filing in the worker's profile (bench/PROFILE.md, eighteenth round).
_LOCK_PATHWAY = (
    update(PATHWAY_TABLE)
    .where(PATHWAY_TABLE.c.pathway_id == bindparam("locked_pathway_id"))
    .values(updated_at=bindparam("locked_at"))
    .returning(*(PATHWAY_TABLE.c[name] for name in FILED_COLUMNS))
)
_FILE_ROW = (
    update(PATHWAY_TABLE)
    .where(PATHWAY_TABLE.c.pathway_id == bindparam("filed_pathway_id"))
    .values({name: bindparam(f"filed_{name}") for name in FILED_COLUMNS})
)


def lock_pathway(session: Session, pathway_id: str) -> dict[str, Any] | None:
    """The columns filing changes of the pathway's row, the row locked for this transaction: an UPDATE, so SQLite
    takes its write lock at once (a read-then-write transaction could fail on a writer that came in between) and
    PostgreSQL locks the row; the same statement returns the row as it is under the lock."""
    lock = {"locked_pathway_id": pathway_id, "locked_at": utc_now()}
    found = session.connection().execute(_LOCK_PATHWAY, lock).first()
    return dict(found._mapping) if found is not None else None


def row_for_referral(event: ReferralReceived, pathway_id: str, ordinal: int) -> PathwayRow:
    return PathwayRow(
        pathway_id=pathway_id,
        client_reference=event.client_reference,
        ordinal=ordinal,
        team=event.team,
        demo=event.demo,
        stage=Stage.AWAITING_TRIAGE.value,
        opened_at=event.referred_at,
        registered_by=event.registered_by,
    )


def ordinal_of(pathway_id: str) -> int:
    _, dot, ordinal = pathway_id.rpartition(".")
    return int(ordinal) if dot and ordinal.isdigit() else 1


@dataclass(frozen=True)
class FiledEvents:
    recorded_sequence: int  # the record holds every event up to this one
    new_events: int  # how many of the batch's events were not filed before


def file_events(
    session: Session,
    sealer: RecordSealer,
    *,
    pathway_id: str,
    team: str,
    events: Sequence[PathwayEvent],
    status: ProcessStatus | None,
) -> FiledEvents:
    """File a batch: event rows, the folded record, status columns and team-review items. A batch whose events
    the record is already past (an action's answer filed after a later deadline's write) leaves the status alone:
    it is older than the one there."""
    row = lock_pathway(session, pathway_id)
    if row is None:
        referral = next((event for event in events if isinstance(event, ReferralReceived)), None)
        if referral is None:
            raise RecordBatchRefused(f"{pathway_id} has no record yet and the batch does not start with its referral")
        # Opened outside the API (or the API's own write was lost): the referral makes the row.
        session.add(row_for_referral(referral, pathway_id, ordinal_of(pathway_id)))
        session.flush()
        row = lock_pathway(session, pathway_id)
        assert row is not None
    recorded_before = row["recorded_sequence"]
    stale = bool(events) and events[-1].sequence < recorded_before
    new_events = [event for event in events if event.sequence > recorded_before]
    for event in new_events:
        texts = free_texts(event)
        values = {
            "pathway_id": pathway_id,
            "sequence": event.sequence,
            "team": team,
            "at": event.at,
            "actor": event.actor,
            "kind": event.kind.value,
            "summary": summarize(event)[:500],
            "stage": event.stage.value,
            "details": coded_facts(event),
            "texts": sealer.seal(texts, place=event_place(pathway_id, event.sequence)) if texts else None,
        }
        insert_ignoring_conflict(session, PathwayEventRow.__table__, values, ["pathway_id", "sequence"])  # type: ignore[attr-defined]
        _file_team_review(session, sealer, pathway_id, team, event)
        _file_referral(session, sealer, pathway_id, team, event)
    changed = dict(row)
    if new_events:
        document = _open_sealed_record(sealer, pathway_id, row["record"])
        try:
            folded = apply_events(pathway_id, document, list(new_events))
        except ValueError as err:
            raise RecordBatchRefused(str(err)) from err
        assert folded is not None
        changed["record"] = sealer.seal(folded.model_dump(mode="json"), place=record_place(pathway_id))
        changed["recorded_sequence"] = folded.recorded_sequence
        changed["stage"] = folded.stage.value
        changed["case_manager"] = folded.case_manager
        changed["route"] = folded.assessment.route.value if folded.assessment else None
        if folded.closure is not None:
            changed["closed_at"] = folded.closure.closed_at
            changed["closure_reason"] = folded.closure.reason.value
    if status is not None and not stale:
        changed.update(status_columns(status, route=changed["route"]))
    if changed != row:
        changed["updated_at"] = utc_now()
        filed = {"filed_pathway_id": pathway_id, **{f"filed_{name}": value for name, value in changed.items()}}
        session.connection().execute(_FILE_ROW, filed)
    return FiledEvents(recorded_sequence=changed["recorded_sequence"], new_events=len(new_events))


def status_columns(status: ProcessStatus, *, route: str | None) -> dict[str, Any]:
    """The row's columns a process status sets (the route only once the status has one)."""
    return {
        "stage": status.stage.value,
        "case_manager": status.case_manager,
        "route": status.route.value if status.route else route,
        "team_review_pending": status.team_review_pending,
        "overdue": status.overdue,
        "next_deadline_at": status.next_deadline.due_at if status.next_deadline else None,
        "next_deadline_kind": status.next_deadline.kind.value if status.next_deadline else None,
    }


def _file_team_review(session: Session, sealer: RecordSealer, pathway_id: str, team: str, event: PathwayEvent) -> None:
    if isinstance(event, TeamReviewOpened):
        insert_ignoring_conflict(
            session,
            TeamReviewItem.__table__,  # type: ignore[attr-defined]
            {
                "review_id": event.review_id,
                "pathway_id": pathway_id,
                "team": team,
                "cause": event.cause.value,
                "reason": sealer.seal(event.reason, place=review_place(event.review_id)),
                "opened_by": event.actor,
                "opened_at": event.at,
            },
            ["review_id"],
        )
    elif isinstance(event, TeamReviewDecided):
        session.execute(
            update(TeamReviewItem)
            .where(col(TeamReviewItem.review_id) == event.review_id, col(TeamReviewItem.decided_at).is_(None))
            .values(decided_at=event.at, decided_by=event.actor, decision=event.decision.value)
        )


def _file_referral(session: Session, sealer: RecordSealer, pathway_id: str, team: str, event: PathwayEvent) -> None:
    """The provider's view of a referral: what its link page and webhook show, and whether sharing holds."""
    if isinstance(event, ReferralSent):
        row = session.get(PartnerReferral, event.referral_id) or PartnerReferral(
            referral_id=event.referral_id,
            pathway_id=pathway_id,
            team=team,
            partner_id=event.partner_id,
            service_id=event.service_id,
            service_kind=event.service_kind.value,
            planned_start=event.planned_start,
            message="",
            sent_at=event.at,
            answer_due=event.answer_due,
        )
        row.planned_start, row.planned_end, row.remote = event.planned_start, event.planned_end, event.remote
        row.message = sealer.seal(event.message, place=referral_place(event.referral_id))
        row.status, row.sent_at, row.answer_due = ReferralStatus.SENT, event.at, event.answer_due
        row.consent_expires_at = event.consent_expires_at
        session.add(row)
    elif isinstance(event, ReferralAnswered):
        session.execute(
            update(PartnerReferral)
            .where(col(PartnerReferral.referral_id) == event.referral_id)
            .values(status=ReferralStatus(event.answer.value), answered_at=event.at)
        )
    elif isinstance(event, ReferralWithdrawn):
        session.execute(
            update(PartnerReferral)
            .where(col(PartnerReferral.referral_id) == event.referral_id)
            .values(status=ReferralStatus.WITHDRAWN, withdrawn_at=event.at)
        )


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def open_record(sealer: RecordSealer, row: PathwayRow) -> PathwayRecord | None:
    return _open_sealed_record(sealer, row.pathway_id, row.record)


def _open_sealed_record(sealer: RecordSealer, pathway_id: str, sealed: str | None) -> PathwayRecord | None:
    if sealed is None:
        return None
    return PathwayRecord.model_validate(sealer.open(sealed, place=record_place(pathway_id)))


def event_of_row(sealer: RecordSealer, row: PathwayEventRow) -> PathwayEvent:
    """The typed event of a row, its free texts unsealed."""
    texts = sealer.open(row.texts, place=event_place(row.pathway_id, row.sequence)) if row.texts else {}
    return event_from_parts(
        sequence=row.sequence,
        at=aware(row.at),
        actor=row.actor,
        stage=row.stage,
        kind=row.kind,
        facts=row.details,
        texts=texts,
    )


def event_rows(
    session: Session, pathway_id: str, *, after: int = 0, limit: int = 100, kinds: Sequence[EventKind] = ()
) -> list[PathwayEventRow]:
    statement = (
        select(PathwayEventRow)
        .where(col(PathwayEventRow.pathway_id) == pathway_id, col(PathwayEventRow.sequence) > after)
        .order_by(col(PathwayEventRow.sequence))
        .limit(limit)
    )
    if kinds:
        statement = statement.where(col(PathwayEventRow.kind).in_([kind.value for kind in kinds]))
    return list(session.scalars(statement))


# Listings read the coded columns as plain rows: a caseload lists hundreds of pathways, and an ORM object per
# row (with the sealed record document, kilobytes each) cost more than the query itself.
LISTING_COLUMNS = (
    col(PathwayRow.pathway_id),
    col(PathwayRow.client_reference),
    col(PathwayRow.stage),
    col(PathwayRow.team),
    col(PathwayRow.case_manager),
    col(PathwayRow.route),
    col(PathwayRow.team_review_pending),
    col(PathwayRow.overdue),
    col(PathwayRow.next_deadline_at),
    col(PathwayRow.next_deadline_kind),
    col(PathwayRow.opened_at),
    col(PathwayRow.closed_at),
    col(PathwayRow.demo),
)
# The listing columns' names, in order: a row is read by zipping these onto its values (a keyed dict per row
# from `Row._asdict` was half of a 200-item caseload's Python time).
LISTING_FIELDS: tuple[str, ...] = tuple(select(*LISTING_COLUMNS).selected_columns.keys())
ListedPathway = Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class PathwayQuery:
    teams: Sequence[str]
    stage: Stage | None = None
    case_manager: str | None = None
    team_review_pending: bool | None = None
    overdue: bool | None = None
    open: bool | None = None
    client_reference: str | None = None


def find_pathways(
    session: Session, query: PathwayQuery, *, limit: int, after: tuple[datetime, str] | None
) -> list[ListedPathway]:
    """Pathways of the given teams matching the query, newest referral first (keyset pages): `LISTING_COLUMNS`."""
    statement = select(*LISTING_COLUMNS).where(col(PathwayRow.team).in_(list(query.teams)))
    if query.stage is not None:
        statement = statement.where(col(PathwayRow.stage) == query.stage.value)
    if query.case_manager is not None:
        statement = statement.where(col(PathwayRow.case_manager) == query.case_manager)
    if query.team_review_pending is not None:
        statement = statement.where(col(PathwayRow.team_review_pending).is_(query.team_review_pending))
    if query.overdue is not None:
        statement = statement.where(col(PathwayRow.overdue).is_(query.overdue))
    if query.open is True:
        statement = statement.where(col(PathwayRow.closed_at).is_(None))
    elif query.open is False:
        statement = statement.where(col(PathwayRow.closed_at).is_not(None))
    if query.client_reference is not None:
        statement = statement.where(col(PathwayRow.client_reference) == query.client_reference)
    if after is not None:
        opened_at, pathway_id = after
        statement = statement.where(
            or_(
                col(PathwayRow.opened_at) < opened_at,
                and_(col(PathwayRow.opened_at) == opened_at, col(PathwayRow.pathway_id) < pathway_id),
            )
        )
    statement = statement.order_by(col(PathwayRow.opened_at).desc(), col(PathwayRow.pathway_id).desc()).limit(limit)
    return list(session.execute(statement).all())


def caseload_rows(session: Session, *, case_manager: str, teams: Sequence[str], limit: int) -> list[ListedPathway]:
    """The open pathways a staff member is case manager of, soonest deadline first (none last): `LISTING_COLUMNS`."""
    return list(session.execute(caseload_query(case_manager=case_manager, teams=teams, limit=limit)).all())


def caseload_query(*, case_manager: str, teams: Sequence[str], limit: int) -> Select[*tuple[Any, ...]]:
    """The caseload's select, found through `ix_pathway_caseload` (case manager, team, still open)."""
    return (
        select(*LISTING_COLUMNS)
        .where(
            col(PathwayRow.case_manager) == case_manager,
            col(PathwayRow.team).in_(list(teams)),
            col(PathwayRow.closed_at).is_(None),
        )
        .order_by(
            col(PathwayRow.next_deadline_at).is_(None), col(PathwayRow.next_deadline_at), col(PathwayRow.opened_at)
        )
        .limit(limit)
    )


def pending_review_rows(
    session: Session, *, teams: Sequence[str], limit: int
) -> list[tuple[TeamReviewItem, PathwayRow]]:
    """Pending team reviews of the teams, oldest first, each with its pathway."""
    statement = (
        select(TeamReviewItem, PathwayRow)
        .join(PathwayRow, col(PathwayRow.pathway_id) == col(TeamReviewItem.pathway_id))
        .where(col(TeamReviewItem.team).in_(list(teams)), col(TeamReviewItem.decided_at).is_(None))
        .order_by(col(TeamReviewItem.opened_at), col(TeamReviewItem.review_id))
        .limit(limit)
    )
    return [(item, pathway) for item, pathway in session.execute(statement).all()]


def open_pathway_of_client(session: Session, client_reference: str) -> PathwayRow | None:
    return session.scalars(
        select(PathwayRow).where(
            col(PathwayRow.client_reference) == client_reference, col(PathwayRow.closed_at).is_(None)
        )
    ).first()


def pathway_count_of_client(session: Session, client_reference: str) -> int:
    count = session.scalar(
        select(func.max(PathwayRow.ordinal)).where(col(PathwayRow.client_reference) == client_reference)
    )
    return int(count or 0)


def cohort_events(session: Session, teams: Sequence[str], period_from: datetime | None) -> list[PathwayEventRow]:
    """Every event of the teams' pathways that may belong to a referral cohort starting at `period_from`,
    in pathway and sequence order (reports make the exact cut on the referral date).

    A referral is registered no earlier than it arrived, so pathways registered before `period_from` are
    left out here; the end of the period cannot bound the query (a referral of the period may be
    registered later).
    """
    cohort = select(col(PathwayEventRow.pathway_id)).where(
        col(PathwayEventRow.kind) == EventKind.REFERRAL_RECEIVED.value, col(PathwayEventRow.team).in_(list(teams))
    )
    if period_from is not None:
        cohort = cohort.where(col(PathwayEventRow.at) >= period_from)
    statement = (
        select(PathwayEventRow)
        .where(col(PathwayEventRow.pathway_id).in_(cohort))
        .order_by(col(PathwayEventRow.pathway_id), col(PathwayEventRow.sequence))
    )
    return list(session.scalars(statement))


# --------------------------------------------------------------------------------------------------
# Key rotation
# --------------------------------------------------------------------------------------------------


def reseal(session: Session, sealer: RecordSealer, *, batch: int = 500) -> int:
    """Seal again with the active key every value sealed with another one (or stored plain while encryption
    is on); how many were rewritten. After it, keys other than the active one can be dropped."""
    rewritten = 0

    def rewrite(stored: str, place: str) -> str | None:
        nonlocal rewritten
        if not sealer.needs_reseal(stored):
            return None
        rewritten += 1
        return sealer.seal(sealer.open(stored, place=place, allow_plain=True), place=place)

    for row in session.scalars(
        select(PathwayRow).where(col(PathwayRow.record).is_not(None)).execution_options(yield_per=batch)
    ):
        assert row.record is not None
        if (value := rewrite(row.record, record_place(row.pathway_id))) is not None:
            row.record = value
    for event in session.scalars(
        select(PathwayEventRow).where(col(PathwayEventRow.texts).is_not(None)).execution_options(yield_per=batch)
    ):
        assert event.texts is not None
        if (value := rewrite(event.texts, event_place(event.pathway_id, event.sequence))) is not None:
            event.texts = value
    for item in session.scalars(select(TeamReviewItem).execution_options(yield_per=batch)):
        if (value := rewrite(item.reason, review_place(item.review_id))) is not None:
            item.reason = value
    for referral in session.scalars(select(PartnerReferral).execution_options(yield_per=batch)):
        if (value := rewrite(referral.message, referral_place(referral.referral_id))) is not None:
            referral.message = value
    return rewritten


# --------------------------------------------------------------------------------------------------
# Record lifecycle: erasure after the retention period
# --------------------------------------------------------------------------------------------------


def expired_pathways(
    session: Session, *, now: datetime, retention: timedelta, demo_retention: timedelta, limit: int
) -> list[str]:
    statement = (
        select(col(PathwayRow.pathway_id))
        .where(
            col(PathwayRow.closed_at).is_not(None),
            or_(
                and_(col(PathwayRow.demo).is_(False), col(PathwayRow.closed_at) < now - retention),
                and_(col(PathwayRow.demo).is_(True), col(PathwayRow.closed_at) < now - demo_retention),
            ),
        )
        .order_by(col(PathwayRow.closed_at))
        .limit(limit)
    )
    return list(session.scalars(statement))


def erase_record(session: Session, pathway_id: str, *, purpose: str) -> None:
    """Erase a pathway's record (row, events, team reviews, referrals, notifications) and audit the erasure.

    The audit log keeps its lines: they name only the pathway id, and they are the processing's own record.
    """
    session.execute(delete(PathwayEventRow).where(col(PathwayEventRow.pathway_id) == pathway_id))
    session.execute(delete(TeamReviewItem).where(col(TeamReviewItem.pathway_id) == pathway_id))
    session.execute(delete(PartnerReferral).where(col(PartnerReferral.pathway_id) == pathway_id))
    session.execute(delete(Notification).where(col(Notification.pathway_id) == pathway_id))
    session.execute(delete(PathwayRow).where(col(PathwayRow.pathway_id) == pathway_id))
    session.execute(
        insert(AuditLogEntry).values(
            at=utc_now(),
            staff_id=SYSTEM_STAFF_ID,
            pathway_id=pathway_id,
            action="erase_record",
            purpose=purpose[:300],
            outcome="ok",
        )
    )
