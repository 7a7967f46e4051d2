"""5. Worker memory: resident size with the population parked and aged pathways cached, and after a restart.

Both workers run on the same cache bound (`max_cached_workflows`); by now each has served the population,
the aged pathways of figure 6, the actions and the bursts, so its cache is full.
"""

from __future__ import annotations

import asyncio
import time

from bench.figures import Sizes
from bench.harness import Figure, below, cpu_seconds, informative, rss_megabytes
from bench.stack import MAX_CACHED_WORKFLOWS, Deployment

LIMITED_BY = f"the sticky cache (max_cached_workflows={MAX_CACHED_WORKFLOWS}) bounds it, not the number of pathways"


async def worker_memory(deployment: Deployment, sizes: Sizes, open_pathways: int) -> list[Figure]:
    parked = Figure(
        5, f"Worker RSS, {open_pathways} open pathways, cache full", "MB", "< 500 MB", below(500), limited_by=LIMITED_BY
    )
    restart = Figure(
        5, "Worker RSS, peak in the window after a restart", "MB", "< 500 MB", below(500), limited_by=LIMITED_BY
    )
    restart_cpu = Figure(
        5,
        "Worker CPU in the window after a restart (no replay storm)",
        "% of a core",
        "(informative)",
        informative,
        limited_by="nothing is due: parked pathways are not replayed until a timer or an action wakes them",
    )
    processes = deployment.stack.processes
    for _ in range(sizes.repeats):
        parked.ours.append(rss_megabytes(processes[f"{deployment.name}-pathway-worker"].pid))
        parked.reference.append(rss_megabytes(processes[f"{deployment.name}-raw-worker"].pid))
        await asyncio.sleep(2)
    for _ in range(sizes.repeats):
        ours, raw = await asyncio.gather(deployment.restart_worker("pathway"), deployment.restart_worker("raw"))
        began = time.monotonic()
        cpu_began = cpu_seconds(ours.pid), cpu_seconds(raw.pid)
        peaks = [0.0, 0.0]
        while time.monotonic() - began < sizes.restart_window_seconds:
            for side, process in enumerate((ours, raw)):
                peaks[side] = max(peaks[side], rss_megabytes(process.pid))
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - began
        restart.ours.append(peaks[0])
        restart.reference.append(peaks[1])
        restart_cpu.ours.append(100 * (cpu_seconds(ours.pid) - cpu_began[0]) / elapsed)
        restart_cpu.reference.append(100 * (cpu_seconds(raw.pid) - cpu_began[1]) / elapsed)
    parked.notes.append(
        f"Sampled {sizes.repeats} times 2 s apart. The reference worker holds as many parked RawPathways, the "
        f"aged ones of figure 6 and those of the other figures, on the same cache bound."
    )
    restart.notes.append(
        f"Both workers restarted (SIGTERM, new process) {sizes.repeats} times; RSS sampled every 0.5 s and CPU "
        f"measured over {sizes.restart_window_seconds:.0f} s after the new worker polls."
    )
    return [parked, restart, restart_cpu]
