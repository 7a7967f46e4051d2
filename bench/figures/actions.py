"""2. Staff action latency: a follow-up recorded through the API, at 1 and at 20 concurrent staff.

Ours: POST /pathways/{id}/follow-ups (token, the pathway's row and team check, the update with its
validator and rules, the answer, the audit line); the record activity files the event after the answer.
Reference: POST /raw/pathways/{id}/follow-ups on the bare endpoint: an update that upserts one search
attribute and inserts one row from a local activity, then one audit commit. Targets on both sides are
drawn alike from the whole population: evicted from the worker's cache (most), hot (touched a moment ago)
and aged (the pathways of figure 6).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from bench.figures import Sizes
from bench.harness import CpuMeter, Figure, Latencies, alternating, describe_cpu, percentile, ratio_at_most
from bench.population import raw_id
from bench.stack import Deployment
from bench.staff import NOTE, auth, http, timed

LIMITED_BY = (
    "the worker: an evicted pathway replays its current run before the update's workflow task (both sides), "
    "ours then validates and decides by the rules; around it the API's token check, row read, and the commit of "
    "the audit line with the action's record (the event, the folded record re-sealed, the status)"
)


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
    last: dict[str, Measured] = {}
    seeds = iter(range(1000))

    async def measured(side: str) -> None:
        ours = side == "ours"
        targets = draw(population, hot, aged[0] if ours else aged[1], total, next(seeds))
        result = await _measure(deployment, side, targets, clients)
        last[side] = result
        (p95.ours if ours else p95.reference).append(result.latencies.p95)
        (p50.ours if ours else p50.reference).append(result.latencies.p50)
        value = result.latencies.p99 if worst == "p99" else result.latencies.max
        (tail.ours if ours else tail.reference).append(value)

    # Warm-up, not measured: each connection's first request and the first replay of the hot set.
    for side in ("ours", "reference"):
        await _measure(deployment, side, draw(population, hot, [], clients * 4, -1), clients)
    await alternating(sizes.repeats, lambda: measured("ours"), lambda: measured("reference"))
    p95.notes.append(
        f"{label}, {total} follow-ups per run (each with a {len(NOTE)}-character note); ours: "
        f"{last['ours'].latencies.summary()}; reference: {last['reference'].latencies.summary()}. "
        f"The API's own time (Server-Timing `app`): p95 {percentile(last['ours'].own, 0.95):.1f} ms. CPU ms per "
        f"action, ours: {describe_cpu(last['ours'].cpu)}; reference: {describe_cpu(last['reference'].cpu)}."
    )
    return [p95, p50, tail]


@dataclass
class Measured:
    latencies: Latencies
    own: list[float]
    cpu: dict[str, float]


async def _measure(deployment: Deployment, side: str, targets: Sequence[Target], clients: int) -> Measured:
    body = {"channel": "phone", "note": NOTE}
    ours = side == "ours"
    url = deployment.api_url if ours else deployment.reference_url
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
                    else f"/raw/pathways/{raw_id(item.pathway_id)}/follow-ups"
                )
                result = await timed(send, "POST", path, 200, json=body, headers=auth(deployment, item.case_manager))
                samples.append(result.milliseconds)
                if result.own_milliseconds is not None:
                    own.append(result.own_milliseconds)

        await asyncio.gather(*(client_loop() for _ in range(clients)))
    return Measured(Latencies(tuple(samples)), own or [0.0], meter.per_operation(len(targets)))
