"""Filing the record: a batch of events becomes rows and the folded record once, whatever the retries, on
SQLite and PostgreSQL; a record past its retention is erased by the scheduled upkeep, audited."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import Delivery
from activities.outbox import OutboxDispatcher
from activities.records import RecordActivities, RecordRetention
from api.schemas import PathwayListItem
from api.services.pathways import list_item
from core.crypto import RecordSealer
from core.db import session_scope
from core.settings import Settings
from models import actions as a
from models.effects import EraseExpiredRecords, RecordBatch
from models.events import Closed, FollowUpRecorded, ReferralReceived, TeamReviewOpened
from models.pathway import (
    ClosureReason,
    ContactChannel,
    Language,
    NotificationKind,
    ReferralSource,
    Stage,
    TeamReviewCause,
    TriageRoute,
)
from models.process import Deadline, Notice, ProcessStatus, Recipient
from models.tables import AuditLogEntry, Notification, NotificationChannel, PathwayEventRow, PathwayRow, TeamReviewItem
from records import store
from tests.support.fixtures import Org, make_org, running_worker
from tests.support.helpers import eventually, intake
from tests.support.pathways import start_driven
from workflows.client import OUTBOX_SCHEDULE_ID, RETENTION_SCHEDULE_ID, UpkeepIntervals, ensure_schedules

TEAM = "eura-team"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _events(pathway_id: str, *, closed_at: datetime | None = None) -> list:  # type: ignore[type-arg]
    events: list = [  # type: ignore[type-arg]
        ReferralReceived(
            sequence=1,
            at=T0,
            actor="coordinator.aalto",
            stage=Stage.AWAITING_TRIAGE,
            client_reference=pathway_id.removeprefix("pathway-"),
            team=TEAM,
            referral_source=ReferralSource.SELF_REFERRAL,
            client_language=Language.FI,
            remote_services_needed=False,
            referred_at=T0,
            registered_by="coordinator.aalto",
            reason="The reason",
        ),
        TeamReviewOpened(
            sequence=2,
            at=T0,
            actor="system",
            stage=Stage.AWAITING_TRIAGE,
            review_id=f"review-{pathway_id}",
            cause=TeamReviewCause.TRIAGE_OVERDUE,
            reason="triage is overdue",
        ),
        FollowUpRecorded(
            sequence=3,
            at=T0,
            actor="nurse.virtanen",
            stage=Stage.AWAITING_TRIAGE,
            contacted_at=T0,
            channel=ContactChannel.PHONE,
            note="A note",
        ),
    ]
    if closed_at is not None:
        events.append(
            Closed(
                sequence=4,
                at=closed_at,
                actor="coordinator.aalto",
                stage=Stage.CLOSED,
                closure_reason=ClosureReason.OTHER,
                note="Closed",
            )
        )
    return events


def _activities(engine: Engine, retention: RecordRetention | None = None) -> RecordActivities:
    return RecordActivities(
        engine,
        RecordSealer(None),
        OutboxDispatcher(engine, Delivery(email=None, webhook=None)),  # type: ignore[arg-type]
        retention or RecordRetention(closed_records=timedelta(days=365), demo_records=timedelta(minutes=5)),
    )


async def test_a_batch_filed_twice_is_filed_once_with_its_status_and_team_review(engine: Engine) -> None:
    pathway_id = f"pathway-client-{uuid.uuid4().hex[:10]}"
    status = ProcessStatus(
        stage=Stage.AWAITING_TRIAGE,
        team_review_pending=True,
        overdue=True,
        next_deadline=Deadline(kind="triage_due", due_at=T0 + timedelta(days=14), key="k"),
    )
    batch = RecordBatch(pathway_id=pathway_id, team=TEAM, events=_events(pathway_id), status=status)
    activities = _activities(engine)
    first = await ActivityEnvironment().run(activities.record_pathway_changes, batch)
    again = await ActivityEnvironment().run(activities.record_pathway_changes, batch)
    assert (first.recorded_events, again.recorded_events, again.recorded_sequence) == (3, 0, 3)
    with Session(engine) as session:
        row = session.get(PathwayRow, pathway_id)
        assert row is not None and row.recorded_sequence == 3
        assert (row.team_review_pending, row.overdue, row.next_deadline_kind) == (True, True, "triage_due")
        record = store.open_record(RecordSealer(None), row)
        assert record is not None and record.follow_ups[0].note == "A note"
        assert session.scalar(select(func.count()).where(col(PathwayEventRow.pathway_id) == pathway_id)) == 3
        review = session.get(TeamReviewItem, f"review-{pathway_id}")
        assert (
            review is not None
            and RecordSealer(None).open(review.reason, place=store.review_place(review.review_id))
            == "triage is overdue"
        )


async def test_a_listing_row_reads_back_as_the_item_staff_see_with_times_in_utc(engine: Engine) -> None:
    """The caseload and the search read the listing columns as plain rows (no ORM object, no keyed dict):
    every column lands on the item's field of the same name, and SQLite's naive times come back in UTC."""
    pathway_id = f"pathway-client-{uuid.uuid4().hex[:10]}"
    due_at = T0 + timedelta(days=14)
    status = ProcessStatus(
        stage=Stage.AWAITING_TRIAGE,
        team_review_pending=True,
        overdue=False,
        next_deadline=Deadline(kind="triage_due", due_at=due_at, key="k"),
    )
    batch = RecordBatch(pathway_id=pathway_id, team=TEAM, events=_events(pathway_id), status=status)
    await ActivityEnvironment().run(_activities(engine).record_pathway_changes, batch)
    assert set(store.LISTING_FIELDS) == set(PathwayListItem.model_fields)
    with Session(engine) as session:
        query = store.PathwayQuery(teams=[TEAM], client_reference=pathway_id.removeprefix("pathway-"))
        (row,) = store.find_pathways(session, query, limit=2, after=None)
    item = list_item(row)
    assert item.model_dump() == {
        "pathway_id": pathway_id,
        "client_reference": pathway_id.removeprefix("pathway-"),
        "stage": Stage.AWAITING_TRIAGE,
        "team": TEAM,
        "case_manager": None,
        "route": None,
        "team_review_pending": True,
        "overdue": False,
        "next_deadline_at": due_at,
        "next_deadline_kind": "triage_due",
        "opened_at": T0,
        "closed_at": None,
        "demo": False,
    }
    assert item.next_deadline_at is not None and item.next_deadline_at.utcoffset() == timedelta(0)


async def test_a_batch_that_does_not_follow_the_record_is_refused_for_good(engine: Engine) -> None:
    pathway_id = f"pathway-client-{uuid.uuid4().hex[:10]}"
    events = _events(pathway_id)
    activities = _activities(engine)
    await ActivityEnvironment().run(
        activities.record_pathway_changes, RecordBatch(pathway_id=pathway_id, team=TEAM, events=events[:1])
    )
    gap = RecordBatch(pathway_id=pathway_id, team=TEAM, events=events[2:])
    with pytest.raises(Exception, match="does not follow the recorded 1"):
        await ActivityEnvironment().run(activities.record_pathway_changes, gap)
    missing = RecordBatch(pathway_id=f"pathway-client-{uuid.uuid4().hex[:10]}", team=TEAM, events=events[1:])
    with pytest.raises(Exception, match="does not start with its referral"):
        await ActivityEnvironment().run(activities.record_pathway_changes, missing)


async def test_batches_filed_at_once_each_land_with_their_team_notice_and_a_refused_one_fails_alone(
    engine: Engine,
) -> None:
    """Twelve new pathways' first batches at once, each with its notice to the team's coordinators, and one
    batch the database must refuse. On SQLite's one writer they go together into fewer transactions."""
    org = make_org(engine)
    commits = 0

    def counted(_connection: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "commit", counted)
    activities = _activities(engine)
    batches = []
    for _ in range(12):
        pathway_id = f"pathway-client-{uuid.uuid4().hex[:10]}"
        referral = _events(pathway_id)[0].model_copy(update={"team": org.team})
        notice = Notice(key=f"{pathway_id}:new-referral", kind=NotificationKind.NEW_REFERRAL, to=Recipient.COORDINATORS)
        batches.append(RecordBatch(pathway_id=pathway_id, team=org.team, events=[referral], notices=[notice]))
    refused = RecordBatch(
        pathway_id=f"pathway-client-{uuid.uuid4().hex[:10]}", team=org.team, events=_events("pathway-x")[1:]
    )
    outcomes = await asyncio.gather(
        *(ActivityEnvironment().run(activities.record_pathway_changes, batch) for batch in [*batches, refused]),
        return_exceptions=True,
    )
    event.remove(engine, "commit", counted)

    assert [outcome.recorded_sequence for outcome in outcomes[:-1]] == [1] * 12  # type: ignore[union-attr]
    assert isinstance(outcomes[-1], ApplicationError) and "does not start with its referral" in str(outcomes[-1])
    assert outcomes[-1].non_retryable
    with Session(engine) as session:
        for batch in batches:
            inbox = session.exec(select(Notification).where(col(Notification.pathway_id) == batch.pathway_id)).all()
            assert [(row.recipient, row.kind) for row in inbox] == [(org.coordinator.staff_id, "new_referral")]
        assert session.get(PathwayRow, refused.pathway_id) is None
    if engine.dialect.name == "sqlite":
        assert commits < 13
    else:  # writers side by side: each batch its own transaction
        assert commits == 12


def _file(engine: Engine, pathway_id: str, *, closed_at: datetime, demo: bool = False) -> None:
    events = _events(pathway_id, closed_at=closed_at)
    if demo:
        events[0] = events[0].model_copy(update={"demo": True})
    with session_scope(engine) as session:
        store.file_events(session, RecordSealer(None), pathway_id=pathway_id, team=TEAM, events=events, status=None)
        session.add(
            Notification(
                idempotency_key=f"{pathway_id}:n",
                recipient="nurse.virtanen",
                kind="assigned_case_manager",
                pathway_id=pathway_id,
                team=TEAM,
                language=Language.FI,
                subject="s",
                body="b",
                channel=NotificationChannel.INBOX,
            )
        )


async def test_records_past_their_retention_are_erased_with_an_audit_line_and_nothing_else_is_touched(
    engine: Engine,
) -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    expired = f"pathway-client-{uuid.uuid4().hex[:10]}"
    kept = f"pathway-client-{uuid.uuid4().hex[:10]}"
    expired_demo = f"pathway-demo-{uuid.uuid4().hex[:10]}"
    _file(engine, expired, closed_at=now - timedelta(days=366))
    _file(engine, kept, closed_at=now - timedelta(days=300))
    _file(engine, expired_demo, closed_at=now - timedelta(minutes=6), demo=True)
    with session_scope(engine) as session:
        session.add(AuditLogEntry(staff_id="nurse.virtanen", pathway_id=expired, action="read_record"))
    result = await ActivityEnvironment().run(_activities(engine).erase_expired_records, EraseExpiredRecords(now=now))
    assert sorted(result.erased) == sorted([expired, expired_demo]) and not result.more
    with Session(engine) as session:
        for table in (PathwayRow, PathwayEventRow, TeamReviewItem, Notification):
            remaining = set(session.scalars(select(table.pathway_id)))
            assert remaining == {kept}, table.__name__
        lines = session.exec(select(AuditLogEntry).where(AuditLogEntry.pathway_id == expired)).all()
    # The earlier read stays on record; the erasure is on record too.
    assert [(line.staff_id, line.action) for line in lines] == [
        ("nurse.virtanen", "read_record"),
        ("system", "erase_record"),
    ]
    assert "retention after closure" in (lines[1].purpose or "")
    again = await ActivityEnvironment().run(_activities(engine).erase_expired_records, EraseExpiredRecords(now=now))
    assert again.erased == []


async def test_the_retention_schedule_erases_a_demo_record_soon_after_it_closes(
    client: Client, task_queue: str, settings: Settings, sqlite_engine: Engine, org: Org
) -> None:
    """The worker's schedule, as `make run` sets it up with a short demo retention."""
    settings = settings.model_copy(update={"demo_record_retention": timedelta(seconds=1)})
    async with running_worker(client, settings, sqlite_engine) as effects:
        pathway = await start_driven(
            client,
            task_queue,
            sqlite_engine,
            effects.sealer,
            intake(org.team, demo=True),
            registered_by=org.coordinator.staff_id,
        )
        await pathway.do(org.coordinator.staff_id, a.Triage(route=TriageRoute.NO_NEED, redirect_note="Elsewhere"))
        await pathway.handle.result()
        await pathway.record()
        intervals = UpkeepIntervals(record_retention=timedelta(hours=1), outbox_sweep=timedelta(hours=1))
        await ensure_schedules(client, task_queue, intervals)
        schedule = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
        await asyncio.sleep(1.5)  # past the demo retention
        try:
            await schedule.trigger()
            await eventually(lambda: pathway.row() is None, what="the demo record erased by the schedule", timeout=30)
        finally:
            await schedule.delete()
            await client.get_schedule_handle(OUTBOX_SCHEDULE_ID).delete()
    with Session(sqlite_engine) as session:
        assert session.exec(
            select(AuditLogEntry).where(
                AuditLogEntry.pathway_id == pathway.pathway_id, col(AuditLogEntry.action) == "erase_record"
            )
        ).one()


@pytest.mark.parametrize("teams", [[TEAM], [TEAM, "other-team"]], ids=["one team", "two teams"])
def test_the_caseload_is_read_through_its_own_index_not_the_teams_every_pathway(
    sqlite_engine: Engine, teams: list[str]
) -> None:
    """SQLite plans without statistics: with single-column indexes it read a one-team caseload through the
    team's index, every pathway of the team (23 ms at 10,000 pathways against 0.3 ms). The composite index
    makes the case manager, the teams and the open pathways one index range whatever the tie-break.
    (PostgreSQL plans by its statistics, so a plan on a nearly empty table would say nothing there.)"""
    statement = store.caseload_query(case_manager="nurse.niemi", teams=teams, limit=500)
    compiled = statement.compile(sqlite_engine, compile_kwargs={"literal_binds": True})
    with sqlite_engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    assert any(
        "USING INDEX ix_pathway_caseload (case_manager=? AND team=? AND closed_at=?)" in step for step in plan
    ), plan
