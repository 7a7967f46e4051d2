"""Shared pieces of the benchmarks: figures, latency samples and their percentiles, process CPU and memory."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

Check = Callable[[float, float | None], bool]


def informative(_ours: float, _reference: float | None) -> bool:
    return True


@dataclass
class Figure:
    """One row of docs/BENCHMARKS.md: ours beside the fair reference, each over repeated runs."""

    number: int
    name: str
    unit: str
    target: str
    # Whether the row meets its target, from the medians of ours and of the reference.
    meets: Check = informative
    ours: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    limited_by: str = ""
    notes: list[str] = field(default_factory=list)
    # False for a count where a ratio means nothing (the failed requests).
    show_ratio: bool = True

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
        if not self.show_ratio or not self.ours or not self.reference:
            return None
        reference = statistics.median(self.reference)
        return statistics.median(self.ours) / reference if reference else None

    @property
    def verdict(self) -> str:
        if not self.ours:
            return "not measured"
        if self.meets is informative:
            return "informative"
        reference = statistics.median(self.reference) if self.reference else None
        return "pass" if self.meets(statistics.median(self.ours), reference) else "FAIL"

    def row(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "—"
        return (
            f"| {self.number}. {self.name} | {self.describe(self.ours)} | {self.describe(self.reference)} | "
            f"{self.unit} | {ratio} | {self.target} | {self.verdict} | {self.limited_by} |"
        )


def ratio_at_least(minimum: float) -> Check:
    return lambda ours, reference: reference is not None and reference > 0 and ours / reference >= minimum


def ratio_at_most(maximum: float) -> Check:
    return lambda ours, reference: reference is not None and reference > 0 and ours / reference <= maximum


def at_most(limit: float) -> Check:
    return lambda ours, _reference: ours <= limit


def below(limit: float) -> Check:
    return lambda ours, _reference: ours < limit


def both(*checks: Check) -> Check:
    return lambda ours, reference: all(check(ours, reference) for check in checks)


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 400 values is the 380th smallest)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latencies:
    """The distribution of one run's samples, in milliseconds."""

    samples: tuple[float, ...]

    @property
    def p50(self) -> float:
        return percentile(self.samples, 0.50)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)

    @property
    def max(self) -> float:
        return max(self.samples)

    def summary(self) -> str:
        # A p99 needs about 2,000 samples to mean something, a p95 about 400 (issue 20).
        p99 = f", p99 {self.p99:.1f}" if len(self.samples) >= 2000 else ""
        return f"p50 {self.p50:.1f}, p95 {self.p95:.1f}{p99}, max {self.max:.1f} ms over {len(self.samples)} samples"


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (and its reaped children) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: utime is field 14 and stime 15 (1-based, see proc(5)).
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU milliseconds per operation for each process of a side: steadier than throughput on shared cores."""

    processes: Mapping[str, int]
    began: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self.began = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        return self

    def per_operation(self, operations: int) -> dict[str, float]:
        return {
            name: 1000 * (cpu_seconds(pid) - self.began[name]) / max(1, operations)
            for name, pid in self.processes.items()
        }


def describe_cpu(per_operation: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in per_operation.items())


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.1) -> float:
    """Poll an async condition; returns the wall-clock time (time.time()) it was first seen true."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
    return time.time()


async def bounded(count: int, concurrency: int, job: Callable[[int], Awaitable[T]]) -> list[T]:
    """Run `job(0..count-1)` with at most `concurrency` in flight."""
    limit = asyncio.Semaphore(concurrency)

    async def one(index: int) -> T:
        async with limit:
            return await job(index)

    return await asyncio.gather(*(one(index) for index in range(count)))


async def alternating(repeats: int, *sides: Callable[[], Awaitable[None]]) -> None:
    """Run every side `repeats` times, rotating which goes first, so a warming server or a neighbour's load
    favours none."""
    for repeat in range(repeats):
        shift = repeat % len(sides)
        for side in (*sides[shift:], *sides[:shift]):
            await side()
