"""4. Timer burst: follow-up reminders falling due at one moment, until the last is in the inbox.

Ours: pathways in services whose reminder deadline is the same second; each wakes (most replay, the cache
holds 500), decides the reminder and files it with its event by a local activity in the same task (what a
deadline decides follows from the history alone). Reference: as many
`RawPathway`s whose timer fires at the same second and whose task inserts the same notification row from
a local activity. Both detected by the same poll of the notification table (every 0.2 s). Also: the same
with the worker SIGKILLed just after the due moment (restart while reminders are due), and with two
workers instead of one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlmodel import col

from bench.figures import Sizes
from bench.harness import CpuMeter, Figure, at_most, both, describe_cpu, informative, ratio_at_most, wait_until
from bench.population import Built, in_services, populate, raw_id
from bench.stack import PROFESSIONALS, TEAM, Deployment, professional_id
from models.pathway import NotificationKind, PathwayPolicy
from models.tables import Notification

LIMITED_BY = (
    "the worker: a workflow task per reminder with a replay for the pathways evicted from the cache (ours "
    "replays a longer history), and the record's write (event, folded record, status, inbox row) in that "
    "task's local activity where the reference inserts one row"
)


@dataclass
class Burst:
    seconds: float  # from the due moment until the last reminder was in the inbox
    rows: int
    distinct_pathways: int
    cpu: dict[str, float]


def _build(prefix: str, count: int, due: datetime) -> list[Built]:
    policy = PathwayPolicy()
    return [
        in_services(
            f"{prefix}-n{index:05d}", TEAM, professional_id(index % PROFESSIONALS), reminder_at=due, policy=policy
        )
        for index in range(count)
    ]


async def _count(deployment: Deployment, prefix: str) -> tuple[int, int]:
    reminders = NotificationKind.FOLLOW_UP_DUE_SOON.value
    rows = (
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.kind) == reminders, col(Notification.pathway_id).startswith(prefix))
    )
    pathways = select(func.count(distinct(col(Notification.pathway_id)))).where(
        col(Notification.kind) == reminders, col(Notification.pathway_id).startswith(prefix)
    )
    return await asyncio.to_thread(deployment.scalar, rows), await asyncio.to_thread(deployment.scalar, pathways)


async def one_burst(
    deployment: Deployment, side: str, count: int, seconds_per_start: float, *, kill_worker: bool = False
) -> Burst:
    ours = side == "ours"
    tag = f"burst{uuid.uuid4().hex[:6]}"
    # Long enough for every pathway to be filed, started and parked on its timer before the due moment.
    due = datetime.now(UTC) + timedelta(seconds=count * seconds_per_start * 2 + 15)
    built = _build(tag, count, due)
    await populate(deployment, built, raw=not ours)
    if time.time() > due.timestamp():
        raise RuntimeError(f"the {side} burst was still starting at its due moment; raise the lead")
    prefix = f"pathway-{tag}-" if ours else raw_id(f"pathway-{tag}-")
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
    names = ("pathway-worker",) if ours else ("raw-worker",)
    meter = CpuMeter(deployment.processes(*names)).start()
    if kill_worker:
        await asyncio.sleep(1.0)
        await deployment.restart_worker("pathway" if ours else "raw", kill=True)
        meter = CpuMeter(deployment.processes(*names)).start()

    async def all_in() -> bool:
        rows, _ = await _count(deployment, prefix)
        return rows >= count

    finished = await wait_until(all_in, timeout=1800, interval=0.2)
    await asyncio.sleep(2)  # anything sent twice would arrive now
    rows, distinct_pathways = await _count(deployment, prefix)
    return Burst(finished - due.timestamp(), rows, distinct_pathways, meter.per_operation(count))


async def timer_burst(deployment: Deployment, sizes: Sizes, seconds_per_start: float) -> list[Figure]:
    figure = Figure(
        4,
        f"Timer burst: {sizes.burst} reminders due at one moment, until the last is in",
        "s",
        "<= 2x and <= 60 s",
        both(ratio_at_most(2.0), at_most(60.0)),
        limited_by=LIMITED_BY,
    )
    last: dict[str, Burst] = {}
    for repeat in range(sizes.repeats):
        for side in ("ours", "reference") if repeat % 2 == 0 else ("reference", "ours"):
            burst = await one_burst(deployment, side, sizes.burst, seconds_per_start)
            last[side] = burst
            (figure.ours if side == "ours" else figure.reference).append(burst.seconds)
    figure.notes.append(
        f"{sizes.burst} pathways in services among the open population (the worker caches at most 500, so most "
        "replay), each reminder an inbox row for the case manager; the reference's row is the same. CPU ms per "
        f"reminder, ours: {describe_cpu(last['ours'].cpu)}; reference: {describe_cpu(last['reference'].cpu)}."
    )
    return [figure]


async def restart_while_due(deployment: Deployment, sizes: Sizes, seconds_per_start: float) -> list[Figure]:
    figure = Figure(
        4,
        f"Restart while due: {sizes.restart_burst} reminders, worker SIGKILLed 1 s after the due moment",
        "s",
        "all once, <= 60 s",
        at_most(60.0),
        limited_by="the new worker's start-up (connect, poll) and the replays of every woken pathway",
    )
    lost_or_doubled: list[str] = []
    for side in ("ours", "reference"):
        burst = await one_burst(deployment, side, sizes.restart_burst, seconds_per_start, kill_worker=True)
        (figure.ours if side == "ours" else figure.reference).append(burst.seconds)
        if burst.rows != sizes.restart_burst or burst.distinct_pathways != sizes.restart_burst:
            lost_or_doubled.append(f"{side}: {burst.rows} rows for {burst.distinct_pathways} pathways")
    if lost_or_doubled:
        # Not a speed: a reminder lost or sent twice is a defect, whatever the time.
        figure.meets = lambda _ours, _reference: False
        figure.notes.append("Lost or doubled reminders: " + "; ".join(lost_or_doubled))
    else:
        figure.notes.append(
            f"Every reminder arrived exactly once on both sides ({sizes.restart_burst} rows for as many pathways)."
        )
    return [figure]


async def two_workers(
    deployment: Deployment, sizes: Sizes, seconds_per_start: float, one_worker: float
) -> list[Figure]:
    second = await deployment.start_worker("pathway", index=1)
    try:
        burst = await one_burst(deployment, "ours", sizes.burst, seconds_per_start)
    finally:
        await asyncio.to_thread(second.stop)
        deployment.workers.remove(second)
        deployment.stack.processes.pop(second.name, None)
    figure = Figure(
        4,
        f"Timer burst with two workers (reference: ours with one), {sizes.burst} reminders",
        "s",
        "(scaling)",
        informative,
        [burst.seconds],
        [one_worker],
        limited_by="two cores for the server, both workers and the load generator: a second worker on the same "
        "machine adds a process, not a core",
    )
    return [figure]
