"""`python -m bench [--quick] [--output docs/BENCHMARKS.md]`: every figure of issue 20 on a fresh dev server.

Everything runs on this machine: the Temporal dev server from the venv; per database (SQLite, then
PostgreSQL) the product's API and worker and the reference's bare API and worker, each a process; and the
load generator. Each figure is measured beside its fair reference in the same run, alternating which side
goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.figures import FULL, QUICK, Sizes
from bench.figures.actions import Target, staff_actions
from bench.figures.burst import restart_while_due, timer_burst, two_workers
from bench.figures.caseload import caseload
from bench.figures.intake import intake
from bench.figures.memory import worker_memory
from bench.figures.mixed import mixed_workload
from bench.figures.years import pathway_years
from bench.harness import Figure, at_most
from bench.population import in_services, populate
from bench.report import write_report
from bench.stack import PROFESSIONALS, TEAM, Deployment, professional_id, running_stack
from bench.staff import FAILED, FIRST_FAILURES, is_reference_kind
from models.pathway import PathwayPolicy

log = logging.getLogger("bench")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/pathways_bench"


async def open_population(deployment: Deployment, count: int, prefix: str) -> tuple[list[Target], float]:
    """`count` open pathways in services, parked on reminders weeks away, and as many raw twins; the
    targets and the seconds per start (filing included) of ours."""
    policy = PathwayPolicy()
    soon = datetime.now(UTC) + timedelta(days=20)
    built = [
        in_services(
            f"{prefix}-{index:05d}",
            TEAM,
            professional_id(index % PROFESSIONALS),
            reminder_at=soon + timedelta(minutes=index % 1440),
            policy=policy,
        )
        for index in range(count)
    ]
    began = time.monotonic()
    await populate(deployment, built, raw=False)
    seconds_per_start = (time.monotonic() - began) / max(1, count)
    await populate(deployment, built, raw=True)
    log.info("%d pathways and as many raw ones parked (%.1f ms per start)", count, seconds_per_start * 1000)
    targets = [Target(pathway.process.pathway_id, pathway.process.case_manager or "") for pathway in built]
    return targets, seconds_per_start


ALL_FIGURES = frozenset(range(1, 8))


async def run(
    sizes: Sizes, output: Path, workdir: Path, mode: str, postgres_url: str, figures: frozenset[int] = ALL_FIGURES
) -> list[Figure]:
    started = datetime.now(UTC)
    measured: list[Figure] = []
    async with running_stack(workdir) as stack:

        def checkpoint(done: str) -> None:
            # The report so far, after every figure: a run that stops later still leaves what it measured.
            write_report(
                output,
                measured,
                sizes=sizes,
                mode=f"{mode} (in progress: measured up to {done})",
                started=started,
                finished=datetime.now(UTC),
                server_warnings=stack.server_warnings(),
            )

        async with stack.deployment("sqlite", f"sqlite:///{workdir / 'bench.db'}") as sqlite:
            if 1 in figures:
                log.info("1. intake")
                measured += await intake(sqlite, sizes)
                checkpoint("1. intake")
            population: list[Target] = []
            seconds_per_start = 0.0
            if figures - {1, 6}:
                log.info("population: %d open pathways", sizes.open_pathways)
                population, seconds_per_start = await open_population(sqlite, sizes.open_pathways, "caseload")
            aged: list[Target] = []
            raw_aged: list[Target] = []
            if 6 in figures:
                log.info("6. pathway-years %s", sizes.years)
                years, aged, raw_aged = await pathway_years(sqlite, sizes)
                measured += years
                checkpoint("6. pathway-years")
            if 2 in figures:
                log.info("2. staff actions")
                measured += await staff_actions(sqlite, sizes, population, aged, raw_aged, "SQLite")
                checkpoint("2. staff actions")
            if 3 in figures:
                log.info("3. caseload")
                measured += await caseload(sqlite, sizes, "SQLite")
                checkpoint("3. caseload")
            if 4 in figures:
                log.info("4. timer burst")
                burst = await timer_burst(sqlite, sizes, seconds_per_start)
                measured += burst
                checkpoint("4. timer burst")
                log.info("4. restart while reminders are due")
                measured += await restart_while_due(sqlite, sizes, seconds_per_start)
                log.info("4. two workers")
                measured += await two_workers(sqlite, sizes, seconds_per_start, statistics.median(burst[0].ours))
                checkpoint("4. two workers")
            if 7 in figures:
                log.info("7. %d staff on a mixed workload", sizes.mixed_staff)
                measured += await mixed_workload(sqlite, sizes, population)
                checkpoint("7. mixed workload")
            if 5 in figures:
                log.info("5. worker memory")
                measured += await worker_memory(sqlite, sizes, sizes.open_pathways)
                checkpoint("5. worker memory")
        if figures & {2, 3}:
            async with stack.deployment("postgresql", postgres_url) as postgres:
                log.info("PostgreSQL: %d open pathways", sizes.postgres_pathways)
                population, _ = await open_population(postgres, sizes.postgres_pathways, "pgcaseload")
                if 2 in figures:
                    measured += await staff_actions(postgres, sizes, population, [], [], "PostgreSQL")
                if 3 in figures:
                    measured += await caseload(postgres, sizes, "PostgreSQL")
        warnings = stack.server_warnings()
    measured.append(failed_requests())
    if figures != ALL_FIGURES:
        mode += f" (figures {', '.join(str(number) for number in sorted(figures))} only)"
    write_report(
        output, measured, sizes=sizes, mode=mode, started=started, finished=datetime.now(UTC), server_warnings=warnings
    )
    return measured


def failed_requests() -> Figure:
    """What no benchmark may hide: staff requests answered with a server error even after the retries.

    The target is ours. The reference's count stands beside it: its bare endpoints answer any error from Temporal
    with a 500 and are not the product, but a run where both sides failed says the host was overloaded."""
    ours = sum(count for kind, count in FAILED.items() if not is_reference_kind(kind))
    reference = sum(count for kind, count in FAILED.items() if is_reference_kind(kind))
    figure = Figure(
        7,
        "Staff requests failed with a server error after retries (whole run)",
        "requests",
        "0 (ours)",
        at_most(0),
        [float(ours)],
        [float(reference)],
        limited_by="any 5xx of ours is a defect or an unhandled overload; a 503 is retried first with the same key",
        show_ratio=False,
    )
    if FAILED:
        by_kind = ", ".join(f"{kind}: {count}" for kind, count in sorted(FAILED.items()))
        figure.notes.append(f"Failed requests by kind: {by_kind}. First answers: {' | '.join(FIRST_FAILURES)}")
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and one repeat: checks the code, not speed")
    parser.add_argument("--output", type=Path, default=Path("docs/BENCHMARKS.md"))
    parser.add_argument("--workdir", type=Path, default=None, help="keep the run's databases and logs here")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a database named pathways_bench*, dropped and created afresh (default %(default)s)",
    )
    parser.add_argument(
        "--figures",
        type=lambda text: frozenset(int(number) for number in text.split(",")),
        default=ALL_FIGURES,
        help="only these figures, e.g. 1,4 (to measure one lever; the report says which were run)",
    )
    args = parser.parse_args(argv)
    if not args.figures <= ALL_FIGURES:
        parser.error(
            f"--figures: the figures are 1 to 7, not {', '.join(map(str, sorted(args.figures - ALL_FIGURES)))}"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "alembic", "temporalio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def interrupted(_signum: int, _frame: object) -> None:
        # SIGTERM stops the run like Ctrl-C, so the server, the APIs and the workers are stopped too.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    sizes = QUICK if args.quick else FULL
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        measured = asyncio.run(
            run(sizes, args.output, workdir, "quick" if args.quick else "full", args.postgres_url, args.figures)
        )
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for figure in measured:
        print(figure.row())
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    code = main()
    # The SDK's Rust threads can abort interpreter finalization (temporalio/sdk-python#300), as in ops.cli.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
