"""2. Staff action latency: a follow-up recorded through the API, at 1 and at 20 concurrent staff.

Ours: POST /pathways/{id}/follow-ups (token, the pathway's row and team check, the update with its
validator and rules, the answer, the audit line); the record activity files the event after the answer.
Reference: POST /raw/pathways/{id}/follow-ups on the bare endpoint: an update that upserts one search
attribute and has one row inserted by an activity once the update's task is in the history, then one
audit commit. Both sides write what an update decided only after it is durable (bench/reference.py says
why). The informative row compares ours with the same reference writing its row by a local activity inside
the update's task instead, as the reference of earlier runs did: its answer waits for the insert, and a row
written there can outlive a task that never completes. Targets on every side are drawn alike from the whole
population: evicted from the worker's cache (most), hot (touched a moment ago) and aged (the pathways of
figure 6).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from bench.figures import Sizes
from bench.harness import CpuMeter, Figure, Latencies, alternating, describe_cpu, percentile, ratio_at_most
from bench.population import drained, raw_id
from bench.stack import Deployment
from bench.staff import NOTE, auth, http, timed

LIMITED_BY = (
    "the worker: an evicted pathway replays its current run before the update's workflow task (both sides), "
    "ours then validates and decides by the rules; after the answer both sides' workers write by an activity and "
    "take one more workflow task (ours the event, the folded record re-sealed and the status); around it the API's "
    "token check, row read and audit commit"
)

# The third side: the reference of earlier runs, writing its row by a local activity inside the update's task.
IN_TASK = "reference-in-task"
IN_TASK_LIMITED_BY = (
    "that reference has no second task per action, but its answer waits for the insert inside the update's task, "
    "and a row written there can outlive a task that never completes (a worker dying in it)"
)
# A pause after each side's run, once its worker's task queue is empty: the filing activity and the second
# task of the last actions must not run into the next side's measurement.
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Target:
    pathway_id: str
    case_manager: str


def draw(
    population: Sequence[Target], hot: Sequence[Target], aged: Sequence[Target], count: int, seed: int
) -> list[Target]:
    """Targets drawn from the whole population: 70 % anywhere (mostly evicted), 25 % hot, 5 % aged."""
    chooser = random.Random(seed)  # noqa: S311  (a benchmark's sampling, not security)
    drawn = []
    for _ in range(count):
        roll = chooser.random()
        pool = aged if roll < 0.05 and aged else hot if roll < 0.30 and hot else population
        drawn.append(chooser.choice(pool))
    return drawn


async def staff_actions(
    deployment: Deployment,
    sizes: Sizes,
    population: Sequence[Target],
    aged: Sequence[Target],
    raw_aged: Sequence[Target],
    database: str,
) -> list[Figure]:
    figures: list[Figure] = []
    for clients, total, target in (
        (1, sizes.single_client_actions, 1.25),
        (sizes.concurrent_clients, sizes.concurrent_actions, 1.5),
    ):
        figures += await _at_concurrency(
            deployment,
            sizes,
            population,
            (aged, raw_aged),
            clients=clients,
            total=total,
            target=target,
            database=database,
        )
    return figures


async def _at_concurrency(
    deployment: Deployment,
    sizes: Sizes,
    population: Sequence[Target],
    aged: tuple[Sequence[Target], Sequence[Target]],
    *,
    clients: int,
    total: int,
    target: float,
    database: str,
) -> list[Figure]:
    hot = list(population[: sizes.concurrent_clients * 2])
    label = f"{clients} client{'s' if clients > 1 else ''} ({database})"
    worst = "p99" if total >= 2000 else "max"
    p95 = Figure(2, f"Staff action p95, {label}", "ms", f"<= {target}x", ratio_at_most(target), limited_by=LIMITED_BY)
    p50 = Figure(2, f"Staff action p50, {label}", "ms", "(p95 is the target)", limited_by=LIMITED_BY)
    tail = Figure(2, f"Staff action {worst}, {label}", "ms", "(what users meet at worst)", limited_by=LIMITED_BY)
    in_task = Figure(
        2,
        f"Staff action p95, {label}, beside the earlier reference (its row written inside the update's task)",
        "ms",
        "(informative)",
        limited_by=IN_TASK_LIMITED_BY,
    )
    last: dict[str, Measured] = {}
    seeds = iter(range(1000))

    async def measured(side: str) -> None:
        ours = side == "ours"
        targets = draw(population, hot, aged[0] if ours else aged[1], total, next(seeds))
        result = await _measure(deployment, side, targets, clients)
        await drained(deployment.stack.temporal(), deployment.pathway_queue if ours else deployment.raw_queue)
        await asyncio.sleep(SETTLE_SECONDS)
        last[side] = result
        if side == IN_TASK:
            in_task.reference.append(result.latencies.p95)
            return
        (p95.ours if ours else p95.reference).append(result.latencies.p95)
        if ours:
            in_task.ours.append(result.latencies.p95)
        (p50.ours if ours else p50.reference).append(result.latencies.p50)
        value = result.latencies.p99 if worst == "p99" else result.latencies.max
        (tail.ours if ours else tail.reference).append(value)

    # Warm-up, not measured: each connection's first request and the first replay of the hot set.
    for side in ("ours", "reference", IN_TASK):
        await _measure(deployment, side, draw(population, hot, [], clients * 4, -1), clients)
    await alternating(sizes.repeats, lambda: measured("ours"), lambda: measured("reference"), lambda: measured(IN_TASK))
    p95.notes.append(
        f"{label}, {total} follow-ups per run (each with a {len(NOTE)}-character note); ours: "
        f"{last['ours'].latencies.summary()}; reference: {last['reference'].latencies.summary()}; reference "
        f"writing in the update's task: {last[IN_TASK].latencies.summary()}. The API's own time (Server-Timing "
        f"`app`): p95 {percentile(last['ours'].own, 0.95):.1f} ms. CPU ms per action, ours: "
        f"{describe_cpu(last['ours'].cpu)}; reference: {describe_cpu(last['reference'].cpu)}; reference writing "
        f"in the update's task: {describe_cpu(last[IN_TASK].cpu)}."
    )
    return [p95, p50, tail, in_task]


@dataclass
class Measured:
    latencies: Latencies
    own: list[float]
    cpu: dict[str, float]


async def _measure(deployment: Deployment, side: str, targets: Sequence[Target], clients: int) -> Measured:
    body = {"channel": "phone", "note": NOTE}
    ours = side == "ours"
    url = deployment.api_url if ours else deployment.reference_url
    query = "?in_task=true" if side == IN_TASK else ""
    meter = CpuMeter(
        deployment.processes(*(("api", "pathway-worker") if ours else ("reference-api", "raw-worker")))
    ).start()
    queue: asyncio.Queue[Target] = asyncio.Queue()
    for item in targets:
        queue.put_nowait(item)
    samples: list[float] = []
    own: list[float] = []
    async with http(url, clients) as send:

        async def client_loop() -> None:
            while not queue.empty():
                item = queue.get_nowait()
                path = (
                    f"/pathways/{item.pathway_id}/follow-ups"
                    if ours
                    else f"/raw/pathways/{raw_id(item.pathway_id)}/follow-ups{query}"
                )
                result = await timed(send, "POST", path, 200, json=body, headers=auth(deployment, item.case_manager))
                samples.append(result.milliseconds)
                if result.own_milliseconds is not None:
                    own.append(result.own_milliseconds)

        await asyncio.gather(*(client_loop() for _ in range(clients)))
    return Measured(Latencies(tuple(samples)), own or [0.0], meter.per_operation(len(targets)))
