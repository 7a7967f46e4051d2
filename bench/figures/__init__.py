"""The figures of issue 20, one module each, every one measured beside its fair reference in the same run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    repeats: int
    intake_starts: int
    intake_concurrency: int
    open_pathways: int
    single_client_actions: int
    concurrent_clients: int
    concurrent_actions: int
    caseload_requests: int
    burst: int
    restart_burst: int
    mixed_staff: int
    mixed_operations: int
    years: tuple[int, ...]
    restart_window_seconds: float
    postgres_pathways: int


FULL = Sizes(
    repeats=3,
    intake_starts=1000,
    intake_concurrency=20,
    open_pathways=10_000,
    # Enough samples for the percentile each row reports: >= 400 for a p95, >= 2,000 for a p99.
    single_client_actions=400,
    concurrent_clients=20,
    concurrent_actions=2000,
    caseload_requests=400,
    burst=2000,
    restart_burst=1000,
    mixed_staff=50,
    mixed_operations=2500,
    years=(1, 5, 20),
    restart_window_seconds=30.0,
    postgres_pathways=2000,
)
QUICK = Sizes(
    repeats=1,
    intake_starts=20,
    intake_concurrency=5,
    open_pathways=200,
    single_client_actions=10,
    concurrent_clients=5,
    concurrent_actions=20,
    caseload_requests=10,
    burst=40,
    restart_burst=20,
    mixed_staff=10,
    mixed_operations=60,
    years=(1,),
    restart_window_seconds=5.0,
    postgres_pathways=60,
)
