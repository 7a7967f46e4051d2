"""Starting pathways and reading their records, for a staff member the access path has let in.

The record is read from the database; while a pathway runs, its live process (the next deadline, and
whatever it has decided but not yet written) comes from the workflow and is folded onto the record with the
same fold the database uses, so a read right after an action shows it. A closed pathway is read from the
database alone: nothing is lost when its workflow execution is deleted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError, RPCStatusCode

from api.access import AuditLine, PathwayGrant, TeamGrant, require_pathway_reader
from api.errors import ConflictError, ForbiddenError, InvalidInputError, TemporalUnavailableError
from api.schemas import (
    FollowUpEntry,
    OfferedAction,
    Page,
    PathwayListItem,
    PathwayRead,
    PathwayReceipt,
    PendingTeamReview,
    ProcessStateName,
    Timeline,
    TimelineEntry,
)
from api.services.staff import StaffMember
from api.services.temporal_errors import translated
from core.crypto import RecordSealer
from models.actions import IntakeRequest
from models.events import EventKind, FollowUpRecorded, PathwayEvent, coded_facts, summarize
from models.pathway import Stage, pathway_id_for
from models.process import ProcessState
from models.record import PathwayRecord, apply_events
from models.tables import Partner, PathwayEventRow, PathwayRow, insert_values
from records import store
from records.store import PathwayQuery, aware
from workflows import deadlines
from workflows.actions import available_actions
from workflows.client import get_process, pathway_handle, start_pathway

# How long a request waits for the pathway's worker to answer a query or an update. Without a worker an
# update would wait indefinitely; with an Idempotency-Key a retry picks up the first attempt's result.
WORKER_ANSWER_SECONDS = 30.0
# A live read that the worker does not answer this fast shows the recorded state instead of waiting.
LIVE_READ_SECONDS = 5.0
# Bounds for the listings answered in one response (caseload, team reviews).
MAX_LISTED = 500
# An intake's reservation whose workflow never started (the API died in between) is let go after this.
STALE_RESERVATION = timedelta(minutes=2)


# -- intake -------------------------------------------------------------------------------------------------


async def start(
    *,
    client: Client,
    session: Session,
    staff: StaffMember,
    task_queue: str,
    body: IntakeRequest,
    audit: AuditLine,
) -> PathwayReceipt:
    """Intake: open the client's next pathway on the given team; at most one open pathway per client.

    The database holds the client's one open pathway (a unique index) before Temporal starts it, so two
    intakes of the same client at once cannot both open one. The reservation and the intake's audit line
    are one commit. Answers as soon as Temporal has the pathway.
    """
    require_pathway_reader(staff)
    if body.team not in staff.teams:
        raise ForbiddenError(f"you can register referrals only to your own team(s), not to {body.team}")
    if body.policy is not None and not body.demo:
        raise InvalidInputError("policy can be given only for a demo pathway (demo: true)", field="policy")
    registered_at = datetime.now(UTC)
    intake = body.intake()
    intake.referred_at = intake.referred_at or registered_at
    if intake.referred_at > registered_at + timedelta(minutes=5):
        raise InvalidInputError("referred_at cannot be in the future", field="referred_at")
    row = await _reserve(client, session, body, staff.staff_id, intake.referred_at, audit)
    try:
        async with translated(row.pathway_id):
            await start_pathway(
                client,
                task_queue,
                pathway_id=row.pathway_id,
                intake=intake,
                registered_by=staff.staff_id,
                policy=body.policy,
            )
    except BaseException:
        # Nothing started: let the client's reservation go, so the intake can simply be repeated.
        await asyncio.to_thread(_release, session, row.pathway_id)
        raise
    return PathwayReceipt(
        pathway_id=row.pathway_id,
        client_reference=row.client_reference,
        ordinal=row.ordinal,
        team=row.team,
        stage=Stage.AWAITING_TRIAGE,
        registered_by=staff.staff_id,
        registered_at=registered_at,
        demo=body.demo,
    )


async def _reserve(
    client: Client, session: Session, body: IntakeRequest, registered_by: str, referred_at: datetime, audit: AuditLine
) -> Reservation:
    """The client's next pathway row with the intake's audit line, in one commit. Optimistic twice over: the
    unique index on the client's open pathway refuses a second one, and the first try takes the client's first
    pathway (most intakes are), so the common case is a single write and no read."""
    row = await asyncio.to_thread(_insert_reservation, session, body, registered_by, referred_at, audit, 1)
    if row is not None:
        return row
    for _ in range(2):
        row = await asyncio.to_thread(_insert_reservation, session, body, registered_by, referred_at, audit)
        if row is not None:
            return row
        existing = await asyncio.to_thread(store.open_pathway_of_client, session, body.client_reference)
        if existing is None:
            continue  # closed or released meanwhile: try again
        if not await _stale_reservation(client, existing):
            audit.pathway_id = existing.pathway_id  # the refusal is on the record of the pathway it was refused for
            raise ConflictError(
                f"the client already has an open pathway ({existing.pathway_id}); act on that pathway instead"
            )
        await asyncio.to_thread(_release, session, existing.pathway_id)
    raise ConflictError("the client's pathways changed while this intake ran; repeat the intake")


@dataclass(frozen=True)
class Reservation:
    """The client's next pathway, held in the database before Temporal starts it."""

    pathway_id: str
    client_reference: str
    ordinal: int
    team: str


# Built once and executed with parameters (compiled once). A Core insert, not the ORM: the unit of work's flush
# was two thirds of the reservation's CPU in the intake's profile, and nothing reads the row back.
_INSERT_RESERVATION = insert(PathwayRow.__table__)  # type: ignore[attr-defined]


def _insert_reservation(
    session: Session,
    body: IntakeRequest,
    registered_by: str,
    referred_at: datetime,
    audit: AuditLine,
    ordinal: int | None = None,
) -> Reservation | None:
    """The reservation and the audit line in one commit; None if the client already has an open pathway, or
    already had the pathway of the `ordinal` tried (otherwise the next after the client's last)."""
    ordinal = ordinal or store.pathway_count_of_client(session, body.client_reference) + 1
    reservation = Reservation(
        pathway_id=pathway_id_for(body.client_reference, ordinal),
        client_reference=body.client_reference,
        ordinal=ordinal,
        team=body.team,
    )
    values = insert_values(
        PathwayRow,
        **vars(reservation),
        demo=body.demo,
        stage=Stage.AWAITING_TRIAGE.value,
        opened_at=referred_at,
        registered_by=registered_by,
    )
    try:
        session.connection().execute(_INSERT_RESERVATION, values)
    except IntegrityError:
        session.rollback()
        return None
    entry_id = audit.insert(session, reservation.pathway_id)
    session.commit()
    audit.written(entry_id)
    return reservation


async def _stale_reservation(client: Client, row: PathwayRow) -> bool:
    """A reservation nothing was recorded for, older than a start can take, whose workflow does not exist."""
    if row.recorded_sequence > 0:
        return False
    if (
        aware(row.opened_at) > datetime.now(UTC) - STALE_RESERVATION
        and aware(row.updated_at) > datetime.now(UTC) - STALE_RESERVATION
    ):
        return False
    try:
        await pathway_handle(client, row.pathway_id).describe()
    except RPCError as err:
        return err.status is RPCStatusCode.NOT_FOUND
    return False


def _release(session: Session, pathway_id: str) -> None:
    session.rollback()
    session.execute(
        delete(PathwayRow).where(col(PathwayRow.pathway_id) == pathway_id, col(PathwayRow.recorded_sequence) == 0)
    )
    session.commit()


# -- reading one pathway -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveProcess:
    """What the pathway's workflow answered: its process, or why there is none to show."""

    process: ProcessState | None
    state: ProcessStateName
    reason: str | None = None


async def read(*, client: Client, sealer: RecordSealer, grant: PathwayGrant) -> PathwayRead:
    """The pathway's record from the database, with its live process while it runs. A process that cannot
    answer never fails the read: the record answers, and the view says why its live part is missing."""
    row = grant.pathway
    if row.closed_at is not None:
        return _read_model(await _recorded(sealer, row), row, LiveProcess(None, ProcessStateName.CLOSED))
    view = await _live_view(client, sealer, grant)
    if view.process is not ProcessStateName.FAILED:
        view.available_actions = await asyncio.to_thread(_offered_actions, grant, view)
    return view


def _offered_actions(grant: PathwayGrant, record: PathwayRecord) -> list[OfferedAction]:
    staff = grant.staff

    def team_has_partners() -> bool:
        statement = select(Partner.partner_id).where(col(Partner.team_id) == record.team, col(Partner.active).is_(True))
        return grant.session.exec(statement.limit(1)).first() is not None

    # The partner register is read only when an action naming a partner is otherwise on offer.
    candidates = available_actions(
        record, staff_id=staff.staff_id, coordinator=staff.is_coordinator, team_has_partners=True
    )
    has_partners = any(action.names_partner for action in candidates) and team_has_partners()
    return [
        OfferedAction(name=action.name, path=f"/pathways/{record.pathway_id}/{action.path}", summary=action.summary)
        for action in candidates
        if has_partners or not action.names_partner
    ]


async def _live_view(client: Client, sealer: RecordSealer, grant: PathwayGrant) -> PathwayRead:
    row = grant.pathway
    # The process first, then the record: whatever the process had not yet recorded when asked is in the
    # database by the time it is read, or still among the process's unrecorded events; nothing falls between.
    live = await live_process(client, row.pathway_id)
    await asyncio.to_thread(grant.session.refresh, row)
    record = await _recorded(sealer, row)
    process = live.process
    if process is None:
        return _read_model(record, row, live)
    view = _read_model(_overlay(record, process), row, live)
    view.team_review_pending = process.team_review_pending
    view.overdue = deadlines.is_overdue(process)
    view.next_deadline = deadlines.next_deadline(process)
    view.record_delay = process.record_delay
    fired = set(process.fired_deadline_keys)
    view.overdue_deadlines = [
        deadline.kind
        for deadline in deadlines.all_deadlines(process)
        if deadline.kind in deadlines.OVERDUE_KINDS and deadline.key in fired
    ]
    return view


async def current_record(*, client: Client, sealer: RecordSealer, grant: PathwayGrant) -> PathwayRecord:
    """The record, or for a pathway whose first step is not written yet, what its live process has decided.
    Raises `TemporalUnavailableError` (503, Retry-After) only when neither has the pathway yet."""
    row = grant.pathway
    record = await _recorded(sealer, row)
    if record is not None:
        return record
    # Just registered: as a read does, the process first, then the record, so nothing falls between.
    live = await live_process(client, row.pathway_id)
    await asyncio.to_thread(grant.session.refresh, row)
    record = await _recorded(sealer, row)
    if live.process is not None:
        record = _overlay(record, live.process)
    if record is None:
        raise TemporalUnavailableError(
            f"pathway {row.pathway_id} was just registered and its first step has not run yet "
            f"({live.reason or 'it is being written'}); try again shortly"
        )
    return record


async def _recorded(sealer: RecordSealer, row: PathwayRow) -> PathwayRecord | None:
    return await asyncio.to_thread(store.open_record, sealer, row)


# How a workflow that is no longer open ended, for the read (a failed one needs its coordinators).
_ENDED = {
    WorkflowExecutionStatus.COMPLETED: ProcessStateName.CLOSED,
    WorkflowExecutionStatus.FAILED: ProcessStateName.FAILED,
    WorkflowExecutionStatus.TERMINATED: ProcessStateName.FAILED,
    WorkflowExecutionStatus.TIMED_OUT: ProcessStateName.FAILED,
    WorkflowExecutionStatus.CANCELED: ProcessStateName.FAILED,
}


async def live_process(client: Client, pathway_id: str) -> LiveProcess:
    """Ask the pathway's workflow for its process, within `LIVE_READ_SECONDS`; never raises."""
    try:
        async with asyncio.timeout(LIVE_READ_SECONDS):
            process = await get_process(pathway_handle(client, pathway_id), open_only=True)
    except TimeoutError:
        return _unavailable("the pathway's worker did not answer in time (it may be busy, or none is running)")
    except WorkflowQueryRejectedError as err:
        state = _ENDED.get(err.status, ProcessStateName.UNAVAILABLE) if err.status else ProcessStateName.UNAVAILABLE
        if state is ProcessStateName.FAILED:
            return LiveProcess(
                None,
                state,
                "the pathway's process has ended without closing the pathway; its coordinators can recover it "
                '(docs/operations.md, "A failed pathway")',
            )
        return LiveProcess(None, state, None if state is ProcessStateName.CLOSED else "the process has ended")
    except WorkflowQueryFailedError:
        # The worker took the query but could not answer it: its workflow task keeps failing (a missing key,
        # a defect). Its log says which; the record stays readable.
        return _unavailable("the pathway's worker cannot load its process right now (see the worker's log)")
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return _unavailable("Temporal has no process for this pathway (it was removed)")
        return _unavailable("Temporal cannot be reached right now")
    except (RuntimeError, TemporalError):
        return _unavailable("Temporal cannot be reached right now")
    except Exception as err:  # the answer could not be read (a key or a model this process lacks)
        return _unavailable(f"the pathway's process answered in a form this process cannot read ({type(err).__name__})")
    return LiveProcess(process, ProcessStateName.CLOSED if process.is_closed else ProcessStateName.RUNNING)


def _unavailable(reason: str) -> LiveProcess:
    return LiveProcess(None, ProcessStateName.UNAVAILABLE, reason)


def _overlay(record: PathwayRecord | None, process: ProcessState) -> PathwayRecord | None:
    """The record with what the process has decided but the database has not got yet."""
    unrecorded = [
        event for event in process.unrecorded_events if record is None or event.sequence > record.recorded_sequence
    ]
    if not unrecorded:
        return record
    return apply_events(process.pathway_id, record.model_copy(deep=True) if record else None, unrecorded)


def _read_model(record: PathwayRecord | None, row: PathwayRow, live: LiveProcess) -> PathwayRead:
    if record is None:
        raise TemporalUnavailableError(
            f"pathway {row.pathway_id} was just registered and its first step has not run yet "
            f"({live.reason or 'it is being written'}); try again shortly"
        )
    return PathwayRead(
        **record.model_dump(),
        measures=record.measured(),
        client_copy=record.client_copy_state(),
        team_review_pending=row.team_review_pending,
        overdue=row.overdue,
        next_deadline=None,
        process=live.state,
        live_unavailable_reason=live.reason,
    )


def _entry_of_row(row: PathwayEventRow) -> TimelineEntry:
    return TimelineEntry(
        sequence=row.sequence,
        at=aware(row.at),
        actor=row.actor,
        kind=row.kind,
        stage=Stage(row.stage),
        summary=row.summary,
        details=row.details,
        recorded=True,
    )


def _entry_of_event(event: PathwayEvent) -> TimelineEntry:
    return TimelineEntry(
        sequence=event.sequence,
        at=event.at,
        actor=event.actor,
        kind=event.kind.value,
        stage=event.stage,
        summary=summarize(event),
        details=coded_facts(event),
        recorded=False,
    )


def _encode_token(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode("ascii")


def _decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError) as err:
        raise InvalidInputError("page_token is not a token this API handed out", field="page_token") from err
    if not isinstance(value, dict):
        raise InvalidInputError("page_token is not a token this API handed out", field="page_token")
    return value


def _int_from_token(token: dict[str, Any] | None, key: str) -> int:
    if token is None:
        return 0
    value = token.get(key)
    if not isinstance(value, int) or value < 0:
        raise InvalidInputError("page_token is not a token this API handed out", field="page_token")
    return value


async def timeline(*, client: Client, grant: PathwayGrant, page_size: int, page_token: str | None) -> Timeline:
    """What happened, in order, and who did it: a page of the recorded events (and, on the last page of a
    running pathway, what is decided but still being written)."""
    after = _int_from_token(_decode_token(page_token), "after")
    # As for the record: the process first, then the rows, so no event falls between the two.
    closed = grant.pathway.closed_at is not None
    live = LiveProcess(None, ProcessStateName.CLOSED) if closed else await live_process(client, grant.pathway_id)
    rows = await asyncio.to_thread(store.event_rows, grant.session, grant.pathway_id, after=after, limit=page_size + 1)
    items = [_entry_of_row(row) for row in rows[:page_size]]
    if len(rows) > page_size:
        return Timeline(items=items, next_page_token=_encode_token({"after": items[-1].sequence}))
    if live.process is not None:
        last = items[-1].sequence if items else after
        items += [_entry_of_event(event) for event in live.process.unrecorded_events if event.sequence > last]
    return Timeline(items=items, next_page_token=None, process=live.state, live_unavailable_reason=live.reason)


def timeline_page_token(after_sequence: int) -> str:
    """The page token of the timeline's page after this event (as the API hands out in next_page_token)."""
    return _encode_token({"after": after_sequence})


async def follow_ups(
    *, sealer: RecordSealer, grant: PathwayGrant, page_size: int, page_token: str | None
) -> Page[FollowUpEntry]:
    """Every follow-up contact with its note, oldest first, a page at a time."""
    after = _int_from_token(_decode_token(page_token), "after")
    rows = await asyncio.to_thread(
        store.event_rows,
        grant.session,
        grant.pathway_id,
        after=after,
        limit=page_size + 1,
        kinds=(EventKind.FOLLOW_UP_RECORDED,),
    )
    entries: list[FollowUpEntry] = []
    for row in rows[:page_size]:
        event = store.event_of_row(sealer, row)
        if isinstance(event, FollowUpRecorded):
            entries.append(
                FollowUpEntry(
                    sequence=event.sequence,
                    contacted_at=event.contacted_at,
                    channel=event.channel,
                    note=event.note,
                    recorded_by=event.actor,
                )
            )
    token = _encode_token({"after": rows[page_size - 1].sequence}) if len(rows) > page_size else None
    return Page(items=entries, next_page_token=token)


# -- listings -------------------------------------------------------------------------------------------------


def list_item(row: store.ListedPathway) -> PathwayListItem:
    """A listing's item from a row of `store.LISTING_COLUMNS` (validated in one call: hundreds per caseload)."""
    return PathwayListItem.model_validate(dict(zip(store.LISTING_FIELDS, row, strict=True)))


async def list_pathways(
    *, grant: TeamGrant, query: PathwayQuery, page_size: int, page_token: str | None
) -> Page[PathwayListItem]:
    """One page of the caller's teams' pathways matching the query, newest referral first."""
    token = _decode_token(page_token)
    after: tuple[datetime, str] | None = None
    if token is not None:
        try:
            after = (datetime.fromisoformat(str(token["opened_at"])), str(token["pathway_id"]))
        except (KeyError, ValueError) as err:
            raise InvalidInputError("page_token is not a token this API handed out", field="page_token") from err
    rows = await asyncio.to_thread(store.find_pathways, grant.session, query, limit=page_size + 1, after=after)
    items = [list_item(row) for row in rows[:page_size]]
    grant.show([item.pathway_id for item in items])
    next_token = None
    if len(rows) > page_size:
        last = rows[page_size - 1]
        next_token = _encode_token({"opened_at": aware(last.opened_at).isoformat(), "pathway_id": last.pathway_id})
    return Page(items=items, next_page_token=next_token)


async def caseload(*, grant: TeamGrant) -> list[PathwayListItem]:
    """The open pathways the caller is case manager of, soonest deadline first."""
    rows = await asyncio.to_thread(
        store.caseload_rows, grant.session, case_manager=grant.staff.staff_id, teams=grant.teams, limit=MAX_LISTED
    )
    items = [list_item(row) for row in rows]
    grant.show([item.pathway_id for item in items])
    return items


async def pending_team_reviews(*, sealer: RecordSealer, grant: TeamGrant) -> list[PendingTeamReview]:
    """The teams' pending team-review items, oldest first, with the reason the team needs."""
    pairs = await asyncio.to_thread(store.pending_review_rows, grant.session, teams=grant.teams, limit=MAX_LISTED)
    reviews = [
        PendingTeamReview(
            pathway_id=pathway.pathway_id,
            team=item.team,
            review_id=item.review_id,
            cause=item.cause,
            reason=str(sealer.open(item.reason, place=store.review_place(item.review_id))),
            opened_by=item.opened_by,
            opened_at=item.opened_at,
            case_manager=pathway.case_manager,
            stage=Stage(pathway.stage),
        )
        for item, pathway in pairs
    ]
    grant.show(sorted({review.pathway_id for review in reviews}))
    return reviews
