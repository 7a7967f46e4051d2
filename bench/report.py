"""docs/BENCHMARKS.md: machine, versions, the table, and what limits each figure."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import asdict
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.harness import Figure
from bench.stack import MAX_CACHED_WORKFLOWS
from core.temporal import temporal_cli_path

TITLES = {
    1: "Intake throughput",
    2: "Staff action latency",
    3: "Caseload listing",
    4: "Timer burst",
    5: "Worker memory",
    6: "Pathway-years",
}

# What limits each figure on this machine, and what would lift it on a real cluster.
LIMITS = {
    1: (
        "Everything shares two cores: the dev server (SQLite persistence, one process for frontend, history and "
        "matching), the API, the worker and the load generator. A raw start is one persisted write. An intake is "
        "a token lookup, validation, the same start, then the pathway-directory row and the audit line in one "
        "SQLite commit; it answers a receipt without waiting for the worker. The worker meanwhile runs each new "
        "pathway's first workflow task with two local activities (the team notification and the read model), "
        "which compete with the next starts for the same cores; the raw worker's first task of a no-op workflow "
        "costs far less.",
        "A cluster with PostgreSQL/Cassandra persistence and separate frontend/history/matching services, API "
        "replicas behind a load balancer (the API is stateless; the directory and audit writes go to "
        "PostgreSQL) and workers on their own machines, so the first workflow tasks do not take the cores the "
        "starts need.",
    ),
    2: (
        "The raw update is one workflow task that counts. A follow-up is a workflow task that validates, "
        "records the contact and its timeline event, re-derives the deadlines, upserts the changed search "
        "attributes and answers the pathway view; inside the same task a local activity writes the event to the "
        "read model, which costs a second activation. Around it the API checks the bearer token (from a 30-second "
        "cache after the first request), reads the pathway directory and commits the audit line, the last two "
        "each a hop to a thread. At 20 clients the single worker process and the server's SQLite are shared by "
        "all of them.",
        "Workers on their own cores (the update's workflow task is CPU in the worker), a server with real "
        "persistence, PostgreSQL for the read model and the audit, and API replicas. The rest is the price of "
        "what an action must do and the raw update does not: a durable read-model row, the deadlines and the "
        "search attributes the Web UI and the caseload read, and an audit line per action (required by law).",
    ),
    3: (
        "Both sides run the same visibility query on the dev server's SQLite visibility store; it scans the "
        "custom search attributes of every pathway in the namespace. The API adds authentication, JSON encoding "
        "of up to 500 items and one audit row per listed pathway (reads are audited by law).",
        "Elasticsearch/OpenSearch (or PostgreSQL 12+ advanced visibility) indexes the search attributes, so the "
        "query cost stops growing with the namespace. Audit inserts batched in one statement per listing (as "
        "now) scale with PostgreSQL.",
    ),
    4: (
        "When the reminders fall due, every pathway needs a workflow task (with replay from history for the "
        f"pathways evicted from the worker's {MAX_CACHED_WORKFLOWS}-entry cache) with the read-model local "
        "activity and a search-attribute upsert; since the patch `effects-as-local-activities` the reminder "
        "notification is a local activity in that same task, so each reminder is one workflow task. The raw "
        "timer needs two workflow tasks and one no-op activity. All of it goes through one worker process and "
        "the server's SQLite.",
        "Before that patch a pathway was usually evicted between its two workflow tasks and replayed twice; a "
        "cache of 1,000 did not help (143 s against 52 s raw in one run on 2026-11-25) and took the worker "
        "past 500 MB. The replay itself got three times cheaper when the worker stopped re-importing the "
        "workflow module for every pathway it rebuilds (`core.temporal.workflow_runner()`, bench/PROFILE.md). "
        "More workers on the task queue (pathways spread over them), a larger sticky cache where memory allows, "
        "server history shards on real persistence. Notifications are idempotent, so a slower burst never "
        "duplicates a reminder; it only delays the last one.",
    ),
    5: (
        f"Parked pathways cost the worker nothing but their cache slot: with `max_cached_workflows="
        f"{MAX_CACHED_WORKFLOWS}` (the default) memory is "
        "bounded by the cache, not by the number of open pathways. After a restart nothing is replayed until a "
        "timer or an action wakes a pathway (no replay storm), so CPU stays near zero.",
        "Size the cache to the memory of the worker's machine (PATHWAYS_MAX_CACHED_WORKFLOWS); run several "
        "workers so each caches a share of the active pathways.",
    ),
    6: (
        "A week of a pathway in services is a reminder timer, the reminder notification and the read model as "
        "local activities (one marker event each), the follow-up update and the search-attribute upserts, with "
        "their workflow tasks. Continue-as-new after 2,000 "
        "events (the policy's `continue_as_new_after_events`) keeps every run far below Temporal's limits "
        "(10,240 suggested, 51,200 hard) however many years a pathway lasts; the carried state grows with the "
        "timeline, not with the history.",
        "Nothing on the cluster side: the bound is in the workflow. A pathway that lives for decades carries its "
        "whole timeline in the continued state; trimming events already in the read model from the carried "
        "state would keep that payload small too (a workflow change, see the profile notes).",
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
    }


def _bullets(values: dict[str, Any]) -> list[str]:
    return [f"- {key}: {value}" for key, value in values.items()]


def write_report(
    path: Path, measured: list[Figure], *, sizes: Any, mode: str, started: datetime, finished: datetime
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Every figure is measured beside a raw "
        "Temporal reference on the same dev server in the same run, alternating which side goes first, so the "
        "ratio holds on a noisy machine. Values are the median over repeated runs with the range and the "
        "number of runs in brackets.",
        "",
        f"- Mode: {mode}" + (" (small sizes, one repeat: checks the code, not the speed)" if mode == "quick" else ""),
        f"- Date: {started:%Y-%m-%d %H:%M} to {finished:%H:%M} UTC",
        *_bullets(_machine()),
        *_bullets(_versions()),
        f"- Sizes: {', '.join(f'{key}={value}' for key, value in asdict(sizes).items())}",
        "",
        "The system under test runs as in production, only on one machine: a fresh Temporal dev server (SQLite, "
        "from the venv), the API as a uvicorn process on a SQLite file database (bearer-token auth, validation, "
        "audit), the product's worker (`python -m ops.cli worker`, database effect store, sticky cache of "
        f"{MAX_CACHED_WORKFLOWS}) "
        "and the raw reference worker as separate processes, and the load generator. Other engineers' jobs may "
        "share the two cores; the ratios are what to read.",
        "",
        "| Figure | Ours | Raw reference | Unit | Ratio | Target | Result | Limited by |",
        "|---|---|---|---|---|---|---|---|",
        *(figure.row() for figure in measured),
        "",
    ]
    for number, title in TITLES.items():
        rows = [figure for figure in measured if figure.number == number]
        limits, lift = LIMITS[number]
        lines += [f"## {number}. {title}", ""]
        for figure in rows:
            lines += [f"- {note}" for note in figure.notes]
        lines += ["", f"**What limits it here.** {limits}", "", f"**What would lift it on a real cluster.** {lift}", ""]
    profile = Path(__file__).with_name("PROFILE.md")
    if profile.exists():
        lines += [profile.read_text().strip(), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
