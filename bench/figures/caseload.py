"""3. Caseload: GET /me/caseload for a professional with 200 open pathways among 10,000.

Ours reads the record's status columns from the database (an index on case manager and stage), with
authentication and an audit line per listed pathway. Reference: the same caseload from Temporal's
visibility (the search attributes both sides keep), behind the bare endpoint. Ours also reports the
API's own time (Server-Timing `app`: the request less its database and Temporal time).
"""

from __future__ import annotations

import time

from bench.figures import Sizes
from bench.harness import CpuMeter, Figure, Latencies, at_most, both, describe_cpu, percentile, ratio_at_most
from bench.stack import PROFESSIONALS, TEAM, Deployment, professional_id
from bench.staff import auth, expect, http, server_timing

LIMITED_BY = (
    "ours: the audit of every listed pathway (one multi-row insert) and JSON of 200 items; the reference: "
    "the dev server's SQLite visibility query over every pathway's search attributes"
)


async def caseload(deployment: Deployment, sizes: Sizes, database: str) -> list[Figure]:
    p95 = Figure(
        3,
        f"GET /me/caseload p95 ({database})",
        "ms",
        "<= 1.5x",
        ratio_at_most(1.5),
        limited_by=LIMITED_BY,
    )
    own = Figure(
        3,
        f"Caseload: the API's own time p95 ({database})",
        "ms",
        "<= 15 ms",
        both(at_most(15.0)),
        limited_by="authentication, the audit bookkeeping and JSON encoding of the items",
    )
    listed: dict[str, int] = {}
    cpu: dict[str, dict[str, float]] = {}
    summaries: dict[str, str] = {}

    async def run(side: str) -> None:
        ours = side == "ours"
        url = deployment.api_url if ours else deployment.reference_url
        meter = CpuMeter(deployment.processes(*(("api",) if ours else ("reference-api",)))).start()
        samples: list[float] = []
        own_samples: list[float] = []
        async with http(url, 1) as send:
            for request in range(sizes.caseload_requests):
                staff_id = professional_id(request % PROFESSIONALS)
                began = time.perf_counter()
                if ours:
                    response = await send.get("/me/caseload", headers=auth(deployment, staff_id))
                else:
                    response = await send.get("/raw/caseload", params={"case_manager": staff_id, "team": [TEAM]})
                samples.append((time.perf_counter() - began) * 1000)
                expect(response, 200)
                listed[side] = len(response.json())
                if ours:
                    own_samples.append(server_timing(response)["app"])
        cpu[side] = meter.per_operation(sizes.caseload_requests)
        latencies = Latencies(tuple(samples))
        summaries[side] = latencies.summary()
        (p95.ours if ours else p95.reference).append(latencies.p95)
        if ours:
            own.ours.append(percentile(own_samples, 0.95))

    await run("ours")  # warm-up: connections, the token cache
    await run("reference")
    for figure in (p95, own):
        figure.ours.clear()
        figure.reference.clear()
    for repeat in range(sizes.repeats):
        for side in ("ours", "reference") if repeat % 2 == 0 else ("reference", "ours"):
            await run(side)
    p95.notes.append(
        f"{sizes.caseload_requests} requests per run one at a time, each as another of the {PROFESSIONALS} "
        f"professionals; a caseload lists {listed.get('ours', 0)} pathways "
        f"(the reference {listed.get('reference', 0)}). "
        f"Ours: {summaries['ours']}; reference: {summaries['reference']}. CPU ms per request, ours: "
        f"{describe_cpu(cpu['ours'])}; reference: {describe_cpu(cpu['reference'])}."
    )
    return [p95, own]
