"""docs/BENCHMARKS.md: machine, versions, the table, and what limits each figure."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from dataclasses import asdict
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.harness import Figure
from bench.stack import MAX_CACHED_WORKFLOWS
from bench.staff import RETRIED
from core.temporal import temporal_cli_path

TITLES = {
    1: "Intake",
    2: "Staff action latency",
    3: "Caseload",
    4: "Timer burst",
    5: "Worker memory",
    6: "Pathway-years",
    7: "What the users meet",
}

# What each figure's reference is, what limits it on this machine, and what would lift it on a cluster.
EXPLANATIONS = {
    1: (
        "Everything shares two cores: the dev server (SQLite persistence; frontend, history and matching in one "
        "process), the APIs, the workers and the load generator. Ours answers after the reservation row, the "
        "start and the audit line; its first task files the referral by a local activity as the reference's does, "
        "but writes the event, the folded record, the status and the team's notice in that transaction. Both "
        "start with the triage deadline in their search attributes and park on its timer in the first task.",
        "Workers on their own machines, API replicas behind a load balancer, a Temporal cluster on real "
        "persistence; the reservation and audit writes go to PostgreSQL.",
    ),
    2: (
        "Both sides replay a pathway evicted from the cache before its update's task; ours then validates and "
        "decides by the rules. Both answer once the update's task is in the history, and both write what it "
        "decided only then, by an activity that task scheduled, so each action costs one activity and one more "
        "workflow task on either side (ours files the event, the folded record re-sealed and the status in one "
        "transaction; the reference inserts one row). Around it our API checks the token (cached 30 s), reads "
        "the pathway's row and commits the audit line, where the reference's API commits the audit line. The "
        "informative row shows ours beside the reference of earlier runs, which writes by a local activity "
        "inside the update's task: no second task, but its answer waits for the insert, and a row written there "
        "can outlive a task that never completes.",
        "Workers on their own cores (the update's workflow task is worker CPU), a larger cache where memory "
        "allows, PostgreSQL for the record and the audit.",
    ),
    3: (
        "Ours reads the caseload from the record's status columns (indexed) and writes an audit line per listed "
        "pathway in one insert; the reference asks the dev server's SQLite visibility store, which scans the "
        "search attributes of every workflow in the namespace.",
        "PostgreSQL for the record: the caseload stays an index range scan whatever the namespace holds.",
    ),
    4: (
        f"When the reminders fall due every pathway needs a workflow task, with a replay for those evicted from "
        f"the worker's {MAX_CACHED_WORKFLOWS}-entry cache (ours replays a longer history); both sides then write in "
        "the same task by a local activity (ours the event, the folded record, the status and the inbox row in "
        "one transaction; the reference one row). A SIGKILLed worker's unfinished tasks are retried once their "
        "timeout passes.",
        "More workers on the task queue (pathways spread over them), history shards on real persistence.",
    ),
    5: (
        "Parked pathways cost the worker nothing but their cache slot; memory is bounded by the cache, not by "
        "the open pathways. After a restart nothing is replayed until a timer or an action wakes a pathway.",
        "Size the cache to the worker's memory (PATHWAYS_MAX_CACHED_WORKFLOWS); run several workers.",
    ),
    6: (
        "The process the workflow carries is bounded (recorded events leave it), so continue-as-new keeps every "
        "run small whatever the age; each follow-up's note is in the history twice (the update's input and the "
        "record activity's: this figure acts through the client as scripts do, so the workflow files; through "
        "the API the second copy is the update's answer instead), so history bytes per year follow the notes "
        "written.",
        "Nothing on the cluster side: the bound is in the workflow.",
    ),
    7: (
        "Fifty professionals at once, each on their own caseload: reads of the record, caseloads, timeline pages "
        "and follow-ups, on two shared cores.",
        "API replicas and workers on their own machines; PostgreSQL.",
    ),
}


def _machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
            break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "CPU": cpu,
        "Cores": str(os.cpu_count()),
        "Memory": memory,
        "OS": platform.platform(),
        "Load average when the run ended (1, 5, 15 min)": load,
    }


def _versions() -> dict[str, str]:
    cli = subprocess.run(  # noqa: S603  (our own venv's binary, no shell)
        [str(temporal_cli_path()), "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout.strip()
    return {
        "Python": platform.python_version(),
        "temporalio": version("temporalio"),
        "Temporal CLI / dev server": cli,
        "fastapi": version("fastapi"),
        "uvicorn": version("uvicorn"),
        "pydantic": version("pydantic"),
        "SQLAlchemy": version("sqlalchemy"),
        "psycopg": version("psycopg"),
    }


def _bullets(values: dict[str, Any]) -> list[str]:
    return [f"- {key}: {value}" for key, value in values.items()]


@functools.cache
def _commit() -> str:
    """The commit measured, and whether the work tree differed from it (the report itself aside): read at
    the first write, so commits made while a run goes on do not change what it says it measured."""
    git = shutil.which("git")
    if git is None:
        return "unknown (git not found)"
    try:
        # Fixed arguments to the git found on PATH, no shell.
        head = subprocess.run([git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)  # noqa: S603
        dirty = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/BENCHMARKS.md"],
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def write_report(
    path: Path,
    measured: list[Figure],
    *,
    sizes: Any,
    mode: str,
    started: datetime,
    finished: datetime,
    server_warnings: list[str],
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Every figure is measured beside a fair "
        "reference in the same run: raw Temporal doing the same essential work as the product (the same start, "
        "payload and search attributes; an update that upserts one search attribute and has one row written "
        "once the update is durable; a timer whose task writes the same inbox row), behind a bare HTTP endpoint "
        "where ours is behind the API, so the "
        "ratio is the product's own overhead. Sides alternate which goes first; values are the median over the "
        "repeated runs with the range and the number of runs in brackets.",
        "",
        f"- Mode: {mode}" + (" (small sizes, one repeat: checks the code, not the speed)" if mode == "quick" else ""),
        f"- Date: {started:%Y-%m-%d %H:%M} to {finished:%H:%M} UTC",
        f"- Code: commit {_commit()}",
        *_bullets(_machine()),
        *_bullets(_versions()),
        f"- Sizes: {', '.join(f'{key}={value}' for key, value in asdict(sizes).items())}",
        f"- Dev server warnings about payload or history size in the whole run: {len(server_warnings)}",
        f"- Requests answered 503 and sent again with the same Idempotency-Key (counted in their latency): "
        f"{sum(RETRIED.values())}"
        + (f" ({', '.join(f'{k}: {n}' for k, n in sorted(RETRIED.items()))})" if RETRIED else ""),
        "",
        "The systems under test run as in production, only on one machine: a fresh Temporal dev server (from the "
        "venv, in memory), and per database the product's API (uvicorn; bearer tokens, validation, audit, "
        "Server-Timing on) and worker (`python -m ops.cli worker`'s code, sticky cache of "
        f"{MAX_CACHED_WORKFLOWS}), the reference's API and worker (same uvicorn options, cache bound, data "
        "converter with AES-GCM payload encryption, workflow runner), and the load generator. Other engineers' "
        "jobs may share the two cores; the ratios are what to read, and CPU milliseconds per operation (in the "
        "notes) are steadier than any rate.",
        "",
        "| Figure | Ours | Reference | Unit | Ratio | Target | Result | Limited by |",
        "|---|---|---|---|---|---|---|---|",
        *(figure.row() for figure in measured),
        "",
    ]
    for number, title in TITLES.items():
        rows = [figure for figure in measured if figure.number == number]
        limits, lift = EXPLANATIONS[number]
        lines += [f"## {number}. {title}", ""]
        for figure in rows:
            lines += [f"- {note}" for note in figure.notes]
        lines += ["", f"**What limits it here.** {limits}", "", f"**What would lift it on a cluster.** {lift}", ""]
    profile = Path(__file__).with_name("PROFILE.md")
    if profile.exists():
        lines += [profile.read_text().strip(), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
