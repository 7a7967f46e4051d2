"""Shared pieces of the benchmarks: a fresh dev server, repeated measurements, worker processes."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.temporal import data_converter, temporal_cli_path
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES


@dataclass
class Figure:
    """One row of docs/BENCHMARKS.md: ours beside the raw reference, over repeated runs."""

    name: str
    unit: str
    ours: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    target: str = ""
    higher_is_better: bool = False
    limited_by: str = ""
    notes: str = ""

    @staticmethod
    def _describe(values: list[float]) -> str:
        if not values:
            return "—"
        median = statistics.median(values)
        if len(values) == 1:
            return f"{median:.3g}"
        return f"{median:.3g} ({min(values):.3g} to {max(values):.3g})"

    @property
    def ratio(self) -> float | None:
        if not self.ours or not self.reference:
            return None
        ours, ref = statistics.median(self.ours), statistics.median(self.reference)
        if ref == 0:
            return None
        return ours / ref

    def row(self) -> str:
        ratio = self.ratio
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "—"
        return (
            f"| {self.name} | {self._describe(self.ours)} | {self._describe(self.reference)} | {self.unit} | "
            f"{ratio_text} | {self.target} | {self.limited_by} |"
        )


async def repeat(times: int, measure: Callable[[], Awaitable[tuple[float, float]]]) -> tuple[list[float], list[float]]:
    """Run a paired measurement several times, alternating nothing else: (ours, reference) each time."""
    ours: list[float] = []
    reference: list[float] = []
    for _ in range(times):
        a, b = await measure()
        ours.append(a)
        reference.append(b)
    return ours, reference


@asynccontextmanager
async def fresh_dev_server(db_file: Path | None = None) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_database_filename=str(db_file) if db_file else None,
        dev_server_log_level="error",
        dev_server_extra_args=[
            *("--dynamic-config-value", "frontend.rps=100000"),
            *("--dynamic-config-value", "frontend.namespaceRPS=100000"),
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def start_worker_process(address: str, task_queue: str, max_cached: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        PATHWAYS_TEMPORAL_ADDRESS=address,
        PATHWAYS_TASK_QUEUE=task_queue,
        PATHWAYS_MAX_CACHED_WORKFLOWS=str(max_cached),
        PATHWAYS_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen([sys.executable, "-m", "bench.worker_process"], env=env)


async def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> float:
    """Wait for a condition; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
    return time.monotonic()
