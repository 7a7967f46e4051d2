"""What the users meet: 50 staff at once on a mixed day's work against the open population.

Each professional works their own caseload: reads a pathway (40 %), their caseload (20 %), a timeline
page (10 %), records a follow-up (30 %). Informative: there is no raw equivalent of reading a record.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Sequence

from bench.figures import Sizes
from bench.figures.actions import Target
from bench.harness import CpuMeter, Figure, Latencies, describe_cpu, informative
from bench.stack import Deployment
from bench.staff import NOTE, auth, expect, http, send_as_staff

KINDS = (("read pathway", 0.40), ("caseload", 0.20), ("timeline", 0.10), ("follow-up", 0.30))


async def mixed_workload(deployment: Deployment, sizes: Sizes, population: Sequence[Target]) -> list[Figure]:
    by_staff: dict[str, list[Target]] = defaultdict(list)
    for target in population:
        by_staff[target.case_manager].append(target)
    staff = sorted(by_staff)[: sizes.mixed_staff]
    chooser = random.Random(20)  # noqa: S311  (a benchmark's sampling)
    samples: dict[str, list[float]] = defaultdict(list)
    per_staff = max(1, sizes.mixed_operations // len(staff))
    meter = CpuMeter(deployment.processes("api", "pathway-worker")).start()
    began = time.perf_counter()
    async with http(deployment.api_url, len(staff)) as send:

        async def day(staff_id: str) -> None:
            headers = auth(deployment, staff_id)
            for _ in range(per_staff):
                target = chooser.choice(by_staff[staff_id])
                roll, kind = chooser.random(), KINDS[-1][0]
                for name, share in KINDS:
                    if roll < share:
                        kind = name
                        break
                    roll -= share
                started = time.perf_counter()
                if kind == "read pathway":
                    expect(await send_as_staff(send, "GET", f"/pathways/{target.pathway_id}", headers=headers), 200)
                elif kind == "caseload":
                    expect(await send_as_staff(send, "GET", "/me/caseload", headers=headers), 200)
                elif kind == "timeline":
                    expect(
                        await send_as_staff(send, "GET", f"/pathways/{target.pathway_id}/timeline", headers=headers),
                        200,
                    )
                else:
                    body = {"channel": "phone", "note": NOTE}
                    path = f"/pathways/{target.pathway_id}/follow-ups"
                    expect(await send_as_staff(send, "POST", path, json=body, headers=headers), 200)
                samples[kind].append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(day(staff_id) for staff_id in staff))
    elapsed = time.perf_counter() - began
    operations = sum(len(values) for values in samples.values())
    cpu = meter.per_operation(operations)
    figures = []
    for kind, _share in KINDS:
        latencies = Latencies(tuple(samples[kind]))
        figure = Figure(
            7,
            f"{len(staff)} staff at once: {kind} p95",
            "ms",
            "(informative)",
            informative,
            [latencies.p95],
            limited_by="two cores shared by the server, the API, the worker and 50 clients",
        )
        figure.notes.append(f"{kind}: {latencies.summary()}.")
        figures.append(figure)
    figures[0].notes.append(
        f"{operations} requests from {len(staff)} concurrent professionals in {elapsed:.1f} s "
        f"({operations / elapsed:.0f} requests/s); CPU ms per request: {describe_cpu(cpu)}."
    )
    return figures
