"""`python -m bench [--quick] [--output docs/BENCHMARKS.md]`: all six figures against a fresh dev server.

Everything runs on this machine: the Temporal dev server from the venv, the API as a uvicorn process,
the product's worker and the raw reference worker as processes, and the benchmark client. Each figure
is measured beside its raw-Temporal reference in the same run, alternating which side goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import figures
from bench.harness import Figure, wait_until
from bench.population import start_caseload, start_raw_timers
from bench.report import write_report
from bench.stack import PROFESSIONALS, TEAM, Stack, running_stack
from workflows import search_attributes as sa

log = logging.getLogger("bench")


async def _parked_population(stack: Stack, sizes: figures.Sizes) -> tuple[list[str], float, float]:
    """The open pathways of figures 2, 3 and 5 parked on their follow-up timers, as many raw workflows parked
    on timers; the ids and the seconds per start of each."""
    began = time.monotonic()
    ids = await start_caseload(
        stack.client,
        prefix="caseload",
        count=sizes.open_pathways,
        team=TEAM,
        professionals=PROFESSIONALS,
        follow_up_due=lambda index: datetime.now(UTC) + timedelta(days=20, minutes=index % 1440),
    )
    # A pathway has published its status (PathwayOverdue among it) once its first workflow task ran.
    query = (
        f"{sa.PATHWAY_TEAM.name} = '{TEAM}' AND {sa.PATHWAY_STAGE.name} = 'in_services' "
        f"AND {sa.PATHWAY_OVERDUE.name} = false"
    )

    async def all_parked() -> bool:
        return (await stack.client.count_workflows(query)).count >= sizes.open_pathways

    await wait_until(all_parked, timeout=3600, interval=1.0)
    seconds_per_start = (time.monotonic() - began) / sizes.open_pathways
    log.info("%d pathways parked, %.1f ms each", sizes.open_pathways, seconds_per_start * 1000)
    raw_ids = [f"raw-parked-{uuid.uuid4().hex[:8]}-{index:05d}" for index in range(sizes.raw_parked)]
    began = time.monotonic()
    await start_raw_timers(stack.client, raw_ids, datetime.now(UTC) + timedelta(days=30))
    seconds_per_raw_start = (time.monotonic() - began) / len(raw_ids)
    return ids, seconds_per_start, seconds_per_raw_start


async def run(
    sizes: figures.Sizes, output: Path, workdir: Path, mode: str, profile_api: Path | None = None
) -> list[Figure]:
    started = datetime.now(UTC)
    measured: list[Figure] = []
    async with running_stack(workdir) as stack:
        log.info("1. intake throughput")
        measured.append(await figures.intake_throughput(stack, sizes))
        # Event counts do not depend on load, so the pathway-years run alongside the population phase,
        # which measures nothing.
        log.info("6. pathway-years, alongside the population: %d open pathways", sizes.open_pathways)
        years = asyncio.create_task(figures.pathway_years(stack, sizes))
        pathway_ids, seconds_per_start, seconds_per_raw_start = await _parked_population(stack, sizes)
        if profile_api is not None:
            from bench.profile_api import profile_api as profile

            years.cancel()
            # Not measured in a profiling run. Awaited so that its cancellation (which the SDK reports as an
            # update timeout when it cancels a waiting update) is not logged as an unretrieved error.
            await asyncio.gather(years, return_exceptions=True)
            await profile(stack, pathway_ids, profile_api)
            log.info("API profile written to %s; the other figures are not measured in a profiling run", profile_api)
            return measured
        log.info("2. staff action latency")
        measured += await figures.staff_action_latency(stack, sizes, pathway_ids)
        log.info("3. caseload listing")
        measured += await figures.caseload_listing(stack, sizes)
        log.info("4. timer burst")
        measured.append(await figures.timer_burst(stack, sizes, seconds_per_start, seconds_per_raw_start))
        years_figures = await years
        log.info("5. worker memory")
        measured += await figures.worker_memory(stack, sizes, sizes.open_pathways, sizes.raw_parked)
        measured += years_figures
    write_report(output, measured, sizes=sizes, mode=mode, started=started, finished=datetime.now(UTC))
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and one repeat: checks the code, not speed")
    parser.add_argument("--output", type=Path, default=Path("docs/BENCHMARKS.md"))
    parser.add_argument("--workdir", type=Path, default=None, help="keep the run's database and logs here")
    parser.add_argument(
        "--profile-api", type=Path, default=None, help="profile intake, follow-up and caseload requests instead"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    def interrupted(_signum: int, _frame: object) -> None:
        # SIGTERM stops the run like Ctrl-C, so the server, the API and the workers are stopped too.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    sizes = figures.QUICK if args.quick else figures.FULL
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        measured = asyncio.run(run(sizes, args.output, workdir, "quick" if args.quick else "full", args.profile_api))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for figure in measured:
        print(figure.row())
    print(f"written: {args.profile_api}" if args.profile_api else f"written: {args.output}")
    return 0


if __name__ == "__main__":
    code = main()
    # The SDK's Rust threads can abort interpreter finalization (temporalio/sdk-python#300), as in ops.cli.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
