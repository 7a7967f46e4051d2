"""1. Intake: answered starts per second, and the capacity until every new pathway's first task wrote its row.

Ours: POST /pathways (token, validation, the client's reservation row, the start with every search
attribute, the audit line). Reference: POST /raw/pathways on the bare endpoint (the same start: id
policies, search attributes, payload; one commit). Capacity counts until each first workflow task has
written its row: ours the referral event filed by a local activity in the first task (the pathway row's
`recorded_sequence`), the reference's one local activity inserting one row. Both sides then park on the
new pathway's first deadline (its triage is due), as a pathway does.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlmodel import col

from bench.figures import Sizes
from bench.harness import CpuMeter, Figure, alternating, bounded, describe_cpu, ratio_at_least, wait_until
from bench.population import drained
from bench.reference import reference_rows
from bench.stack import PROFESSIONALS, TEAM, Deployment, professional_id
from bench.staff import auth, expect, http, send_as_staff
from models.tables import PathwayRow

LIMITED_BY = (
    "the two cores shared by the dev server (SQLite, frontend, history and matching in one process), the API, "
    "the worker and the load generator; ours adds the reservation row and the audit line, and its first task's "
    "local activity writes the event, the folded record and the team's notice where the reference's writes one row"
)


def _body(reference: str) -> dict[str, str]:
    return {
        "client_reference": reference,
        "team": TEAM,
        "referral_source": "professional_referral",
        "referring_organisation": "employment_services",
        "reason": "Referred by employment services for a work-ability assessment",
    }


async def intake(deployment: Deployment, sizes: Sizes) -> list[Figure]:
    answered = Figure(
        1,
        "Intake answered (starts per second)",
        "starts/s",
        ">= 0.85x",
        ratio_at_least(0.85),
        limited_by=LIMITED_BY,
    )
    capacity = Figure(
        1,
        "Intake capacity (until each first workflow task wrote its row)",
        "starts/s",
        ">= 0.8x",
        ratio_at_least(0.8),
        limited_by=LIMITED_BY,
    )
    counter = itertools.count()
    client = deployment.stack.temporal()
    cpu: dict[str, list[dict[str, float]]] = {"ours": [], "reference": []}

    async def run(side: str, url: str, path: str, recorded: Callable[[str], Awaitable[int]]) -> None:
        batch = f"in{next(counter)}{uuid.uuid4().hex[:6]}"
        names = ("api", "pathway-worker") if side == "ours" else ("reference-api", "raw-worker")
        meter = CpuMeter(deployment.processes(*names)).start()
        async with http(url, sizes.intake_concurrency) as send:

            async def one(index: int) -> None:
                staff_id = professional_id(index % PROFESSIONALS)
                # A letter after the dash: six random hex digits, a dash and digits can read as an identity code.
                body = _body(f"{batch}-n{index:05d}")
                expect(await send_as_staff(send, "POST", path, json=body, headers=auth(deployment, staff_id)), 201)

            began = time.perf_counter()
            await bounded(sizes.intake_starts, sizes.intake_concurrency, one)
            answered_after = time.perf_counter() - began

            async def all_recorded() -> bool:
                return await recorded(batch) >= sizes.intake_starts

            await wait_until(all_recorded, timeout=1800, interval=0.1)
            recorded_after = time.perf_counter() - began
        cpu[side].append(meter.per_operation(sizes.intake_starts))
        (answered.ours if side == "ours" else answered.reference).append(sizes.intake_starts / answered_after)
        (capacity.ours if side == "ours" else capacity.reference).append(sizes.intake_starts / recorded_after)
        # Not timed: whatever the workers still have queued must not weigh on the next run.
        await drained(client, deployment.pathway_queue if side == "ours" else deployment.raw_queue)

    async def ours_recorded(batch: str) -> int:
        statement = (
            select(func.count())
            .select_from(PathwayRow)
            .where(col(PathwayRow.pathway_id).startswith(f"pathway-{batch}-"), col(PathwayRow.recorded_sequence) >= 1)
        )
        return await asyncio.to_thread(deployment.scalar, statement)

    async def raw_recorded(batch: str) -> int:
        statement = (
            select(func.count())
            .select_from(reference_rows)
            .where(reference_rows.c.kind == "start", reference_rows.c.workflow_id.startswith(f"raw-{batch}-"))
        )
        return await asyncio.to_thread(deployment.scalar, statement)

    async def ours() -> None:
        await run("ours", deployment.api_url, "/pathways", ours_recorded)

    async def raw() -> None:
        await run("reference", deployment.reference_url, "/raw/pathways", raw_recorded)

    await alternating(sizes.repeats, ours, raw)
    answered.notes.append(
        f"{sizes.intake_starts} starts per run from {sizes.intake_concurrency} concurrent clients, as 50 "
        "professionals. Ours answers 201 once Temporal has the start; the reference answers once the start and "
        "its one commit are done. Payloads are encrypted on both sides (same key ring)."
    )
    capacity.notes.append(
        "The same runs, timed until the last pathway's first workflow task had written its row (polled every "
        "0.1 s). CPU ms per start, ours: "
        + describe_cpu(cpu["ours"][-1])
        + "; reference: "
        + describe_cpu(cpu["reference"][-1])
        + "."
    )
    return [answered, capacity]
