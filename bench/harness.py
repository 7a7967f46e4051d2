"""Shared pieces of the benchmarks: figures with median and spread, percentiles, process memory and CPU."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Figure:
    """One row of docs/BENCHMARKS.md: ours beside the raw reference, each over repeated runs."""

    number: int
    name: str
    unit: str
    target: str
    # Whether the row meets its target, from the medians of ours and of the reference.
    meets: Callable[[float, float | None], bool]
    ours: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    limited_by: str = ""
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def describe(values: list[float]) -> str:
        if not values:
            return "—"
        median = statistics.median(values)
        if len(values) == 1:
            return f"{median:.3g}"
        return f"{median:.3g} ({min(values):.3g} to {max(values):.3g}, n={len(values)})"

    @property
    def ratio(self) -> float | None:
        if not self.ours or not self.reference:
            return None
        reference = statistics.median(self.reference)
        return statistics.median(self.ours) / reference if reference else None

    @property
    def verdict(self) -> str:
        if not self.ours:
            return "not measured"
        reference = statistics.median(self.reference) if self.reference else None
        return "pass" if self.meets(statistics.median(self.ours), reference) else "FAIL"

    def row(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "—"
        return (
            f"| {self.number}. {self.name} | {self.describe(self.ours)} | {self.describe(self.reference)} | "
            f"{self.unit} | {ratio} | {self.target} | {self.verdict} | {self.limited_by} |"
        )


def ratio_at_least(minimum: float) -> Callable[[float, float | None], bool]:
    return lambda ours, reference: reference is not None and reference > 0 and ours / reference >= minimum


def ratio_at_most(maximum: float) -> Callable[[float, float | None], bool]:
    return lambda ours, reference: reference is not None and reference > 0 and ours / reference <= maximum


def below(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, _reference: ours < limit


def at_most(limit: float) -> Callable[[float, float | None], bool]:
    return lambda ours, _reference: ours <= limit


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, see proc(5)).
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.1) -> float:
    """Poll an async condition; returns the wall-clock time (time.time()) it was first seen true."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
    return time.time()
