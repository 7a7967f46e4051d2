"""The six figures of issue 7, each measured beside its raw-Temporal reference on the same server."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import distinct, func
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.services.pathways import MAX_LISTED, PathwayFilters, visibility_query
from bench.harness import (
    Figure,
    at_most,
    below,
    cpu_seconds,
    percentile,
    ratio_at_least,
    ratio_at_most,
    rss_megabytes,
    wait_until,
)
from bench.population import bounded, paced, start_caseload, start_raw_noops, workflow_backlog
from bench.raw import RawNoopWorkflow, RawTimerWorkflow, TimerInput
from bench.stack import (
    BURST_TEAM,
    MAX_CACHED_WORKFLOWS,
    PATHWAY_TASK_QUEUE,
    PROFESSIONALS,
    RAW_TASK_QUEUE,
    TEAM,
    Stack,
    professional_id,
)
from core.pathways import start_pathway
from models.pathway import (
    CompleteAssessmentInput,
    ContactChannel,
    IntakeInput,
    NotificationKind,
    PathwayPolicy,
    PlannedServiceInput,
    RecordFollowUpInput,
    ReferralSource,
    ServiceKind,
    SetPlanInput,
    Stage,
    TriageInput,
    TriageRoute,
)
from models.tables import DeliveryStatus, Notification
from workflows import search_attributes as sa
from workflows.pathway import PathwayWorkflow

log = logging.getLogger("bench")


@dataclass(frozen=True)
class Sizes:
    repeats: int
    intake_starts: int
    concurrency: int
    single_client_actions: int
    actions_per_concurrent_client: int
    open_pathways: int
    raw_parked: int
    listing_requests: int
    burst: int
    restart_window_seconds: float
    pathway_years: int


FULL = Sizes(
    repeats=3,
    intake_starts=500,
    concurrency=20,
    single_client_actions=40,
    actions_per_concurrent_client=5,
    open_pathways=10_000,
    raw_parked=10_000,
    listing_requests=100,
    burst=2000,
    restart_window_seconds=60.0,
    pathway_years=5,
)
QUICK = Sizes(
    repeats=1,
    intake_starts=20,
    concurrency=5,
    single_client_actions=5,
    actions_per_concurrent_client=2,
    open_pathways=200,
    raw_parked=200,
    listing_requests=5,
    burst=40,
    restart_window_seconds=5.0,
    pathway_years=1,
)


def _http(stack: Stack, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=120.0)


def _auth(stack: Stack, staff_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.tokens[staff_id]}"}


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )


# -- 1. intake throughput ---------------------------------------------------------------------------------------


async def _drained(client: Client, task_queue: str) -> None:
    async def empty() -> bool:
        return await workflow_backlog(client, task_queue) == 0

    await wait_until(empty, timeout=600, interval=0.5)


async def intake_throughput(stack: Stack, sizes: Sizes) -> Figure:
    figure = Figure(
        1,
        "Intake throughput (pathways started per second)",
        "starts/s",
        ">= 0.8x raw",
        ratio_at_least(0.8),
        limited_by="the worker's first task of each new pathway (and the server's work for it) on the cores the "
        "starts need, then the API's directory and audit commit",
    )
    counter = itertools.count()

    async def ours() -> float:
        async with _http(stack, sizes.concurrency) as http:

            async def one(index: int) -> None:
                staff_id = professional_id(index % PROFESSIONALS)
                body = {
                    "client_reference": f"intake{next(counter):06d}k{uuid.uuid4().hex[:6]}",
                    "team": TEAM,
                    "referral_source": "professional_referral",
                    "referring_organisation": "employment_services",
                    "reason": "Referred by employment services for a work-ability assessment",
                }
                _expect(await http.post("/pathways", json=body, headers=_auth(stack, staff_id)), 201)

            began = time.perf_counter()
            await bounded(sizes.intake_starts, sizes.concurrency, one)
            rate = sizes.intake_starts / (time.perf_counter() - began)
        # Not timed: the worker runs each new pathway's first step after the API has answered; let it catch
        # up, so its backlog does not weigh on the next measurement.
        await _drained(stack.client, PATHWAY_TASK_QUEUE)
        return rate

    async def raw() -> float:
        ids = [f"raw-intake-{uuid.uuid4().hex}" for _ in range(sizes.intake_starts)]

        async def one(index: int) -> None:
            await stack.client.start_workflow(RawNoopWorkflow.run, id=ids[index], task_queue=RAW_TASK_QUEUE)

        began = time.perf_counter()
        await bounded(sizes.intake_starts, sizes.concurrency, one)
        rate = sizes.intake_starts / (time.perf_counter() - began)
        await _drained(stack.client, RAW_TASK_QUEUE)
        return rate

    for repeat in range(sizes.repeats):
        # Alternate which side goes first, so a warming server or a neighbour's load favours neither.
        if repeat % 2 == 0:
            figure.ours.append(await ours())
            figure.reference.append(await raw())
        else:
            figure.reference.append(await raw())
            figure.ours.append(await ours())
    figure.notes.append(
        f"{sizes.intake_starts} starts per run, {sizes.concurrency} concurrent clients. The API answers 201 with a "
        "receipt once the server has persisted the start (token lookup, validation, start, then the directory "
        "row and the audit line in one commit); the raw start returns as soon as the server has persisted the "
        "workflow. Between runs, not timed, both workers catch up with the first workflow tasks."
    )
    return figure


# -- 2. staff action latency ------------------------------------------------------------------------------------


async def staff_action_latency(stack: Stack, sizes: Sizes, pathway_ids: list[str]) -> list[Figure]:
    """p50/p95 of POST /pathways/{id}/follow-ups vs raw execute_update, at 1 and at N clients."""
    clients = sizes.concurrency
    raw_ids = [f"raw-action-{uuid.uuid4().hex}" for _ in range(clients)]
    await start_raw_noops(stack.client, raw_ids)
    raw_handles = [stack.client.get_workflow_handle(workflow_id) for workflow_id in raw_ids]
    targets = pathway_ids[:clients]
    body = {"channel": "phone", "note": "Checked how the work trial is going"}

    async with _http(stack, clients) as http:

        async def ours_once(client_index: int) -> float:
            pathway_id = targets[client_index]
            # Pathway i's case manager is professional i (see start_caseload).
            staff_id = professional_id(client_index % PROFESSIONALS)
            began = time.perf_counter()
            response = await http.post(f"/pathways/{pathway_id}/follow-ups", json=body, headers=_auth(stack, staff_id))
            elapsed = time.perf_counter() - began
            _expect(response, 200)
            return elapsed * 1000

        async def raw_once(client_index: int) -> float:
            began = time.perf_counter()
            await raw_handles[client_index].execute_update(RawNoopWorkflow.touch, "Checked how the work trial is going")
            return (time.perf_counter() - began) * 1000

        async def latencies(once: Callable[[int], Awaitable[float]], concurrent: int, each: int) -> list[float]:
            async def client_loop(client_index: int) -> list[float]:
                return [await once(client_index) for _ in range(each)]

            results = await asyncio.gather(*(client_loop(index) for index in range(concurrent)))
            return [value for result in results for value in result]

        # Warm-up: a pathway evicted from the worker's cache replays once; that is not an action's latency.
        await latencies(ours_once, clients, 1)
        await latencies(raw_once, clients, 1)

        figures = []
        for concurrent, each in ((1, sizes.single_client_actions), (clients, sizes.actions_per_concurrent_client)):
            p50 = Figure(
                2,
                f"Staff action p50, {concurrent} client{'s' if concurrent > 1 else ''}",
                "ms",
                "(p95 is the target)",
                lambda _ours, _reference: True,
                limited_by="worker (the update's workflow task and its read-model local activity), "
                "then the API's audit",
            )
            p95 = Figure(
                2,
                f"Staff action p95, {concurrent} client{'s' if concurrent > 1 else ''}",
                "ms",
                "<= 1.25x raw",
                ratio_at_most(1.25),
                limited_by=p50.limited_by,
            )
            for repeat in range(sizes.repeats):
                sides = [(p50.ours, p95.ours, ours_once), (p50.reference, p95.reference, raw_once)]
                for p50_values, p95_values, once in sides if repeat % 2 == 0 else reversed(sides):
                    values = await latencies(once, concurrent, each)
                    p50_values.append(percentile(values, 0.50))
                    p95_values.append(percentile(values, 0.95))
            p95.notes.append(
                f"{concurrent} concurrent client(s), {each * concurrent} actions per run, each client on its own "
                "pathway (ours) or workflow (raw); raw is `execute_update` of an update that only counts."
            )
            figures += [p50, p95]
    return figures


# -- 3. caseload listing ----------------------------------------------------------------------------------------


async def caseload_listing(stack: Stack, sizes: Sizes) -> list[Figure]:
    caseload = Figure(
        3,
        f"GET /me/caseload p95 ({sizes.open_pathways} open pathways)",
        "ms",
        "<= 1.5x raw",
        ratio_at_most(1.5),
        limited_by="server (visibility query on SQLite), then the audit of every listed pathway",
    )
    filtered = Figure(
        3,
        "GET /pathways?stage&case_manager p95",
        "ms",
        "<= 1.5x raw",
        ratio_at_most(1.5),
        limited_by=caseload.limited_by,
    )
    teams = [BURST_TEAM, TEAM]
    coordinator = "coordinator.bench"

    async def timed(call: Callable[[], Awaitable[int]]) -> tuple[float, int]:
        began = time.perf_counter()
        count = await call()
        return (time.perf_counter() - began) * 1000, count

    async with _http(stack, 1) as http:

        async def ours_caseload(staff_id: str) -> int:
            response = await http.get("/me/caseload", headers=_auth(stack, staff_id))
            _expect(response, 200)
            return len(response.json())

        async def raw_caseload(staff_id: str) -> int:
            query = visibility_query(PathwayFilters(case_manager=staff_id), teams, running_only=True)
            return len(
                [execution async for execution in stack.client.list_workflows(query, limit=MAX_LISTED, page_size=100)]
            )

        async def ours_filtered(staff_id: str) -> int:
            params: dict[str, str | int] = {"stage": Stage.IN_SERVICES.value, "case_manager": staff_id, "page_size": 50}
            response = await http.get("/pathways", params=params, headers=_auth(stack, coordinator))
            _expect(response, 200)
            return len(response.json()["items"])

        async def raw_filtered(staff_id: str) -> int:
            query = visibility_query(PathwayFilters(stage=Stage.IN_SERVICES, case_manager=staff_id), teams)
            iterator = stack.client.list_workflows(query, page_size=50)
            await iterator.fetch_next_page(page_size=50)
            return len(iterator.current_page or [])

        listed: dict[str, int] = {}
        for figure, ours, raw in ((caseload, ours_caseload, raw_caseload), (filtered, ours_filtered, raw_filtered)):
            for repeat in range(sizes.repeats):
                sides = [(figure.ours, ours), (figure.reference, raw)]
                for values, call in sides if repeat % 2 == 0 else reversed(sides):
                    times = []
                    for request in range(sizes.listing_requests):
                        staff_id = professional_id((request + repeat) % PROFESSIONALS)
                        elapsed, count = await timed(lambda call=call, staff_id=staff_id: call(staff_id))  # type: ignore[misc]
                        times.append(elapsed)
                        listed[figure.name] = count
                    values.append(percentile(times, 0.95))
    caseload.notes.append(
        f"{sizes.listing_requests} requests per run, one at a time, each as another of the {PROFESSIONALS} "
        f"professionals; a caseload lists {listed.get(caseload.name, 0)} pathways (all pages, at most {MAX_LISTED}). "
        "Raw: the same visibility query through `client.list_workflows`."
    )
    filtered.notes.append(
        f"First page of 50 ({listed.get(filtered.name, 0)} items) for stage=in_services and one case manager, as "
        "the coordinator; raw: the same query's first page."
    )
    return [caseload, filtered]


# -- 4. timer burst ---------------------------------------------------------------------------------------------


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def timer_burst(stack: Stack, sizes: Sizes, seconds_per_start: float, seconds_per_raw_start: float) -> Figure:
    figure = Figure(
        4,
        f"Timer burst: {sizes.burst} follow-up reminders due at one moment, until all delivered",
        "s",
        "<= 2x raw",
        ratio_at_most(2.0),
        limited_by="worker (a workflow task per reminder, with replay of evicted pathways, and two local "
        "activities) and SQLite writes",
    )
    late_starts: list[str] = []

    async def _parked(query: str, expected: int) -> bool:
        return await _count(stack.client, query) >= expected

    parked_before = await _count(stack.client, f"{sa.PATHWAY_TEAM.name} = '{BURST_TEAM}' AND PathwayOverdue = false")

    async def ours(repeat: int) -> float:
        prefix = f"burst-r{repeat}"
        # Long enough for every pathway to be started and parked on its timer before the due moment.
        lead = sizes.burst * seconds_per_start * 1.2 + 10
        due = datetime.now(UTC) + timedelta(seconds=lead)
        policy = PathwayPolicy()
        await start_caseload(
            stack.client,
            prefix=prefix,
            count=sizes.burst,
            team=BURST_TEAM,
            professionals=PROFESSIONALS,
            follow_up_due=lambda _index: due + policy.follow_up_reminder_before,
        )
        expected = parked_before + sizes.burst * (repeat + 1)
        parked_query = f"{sa.PATHWAY_TEAM.name} = '{BURST_TEAM}' AND {sa.PATHWAY_OVERDUE.name} = false"
        try:
            await wait_until(lambda: _parked(parked_query, expected), timeout=max(1.0, due.timestamp() - time.time()))
        except TimeoutError:
            late_starts.append(f"run {repeat + 1} (ours): not every pathway was parked on its timer at the due moment")

        reminders = (
            select(func.count(distinct(col(Notification.pathway_id))))
            .where(Notification.kind == NotificationKind.FOLLOW_UP_DUE_SOON.value)
            .where(Notification.status == DeliveryStatus.DELIVERED)
            .where(col(Notification.pathway_id).startswith(f"pathway-{prefix}-"))
        )

        async def delivered() -> bool:
            return await asyncio.to_thread(stack.scalar, reminders) >= sizes.burst

        await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
        finished = await wait_until(delivered, timeout=1800, interval=0.2)
        return finished - due.timestamp()

    async def raw(repeat: int) -> float:
        tag = f"rawburst-{repeat}-{uuid.uuid4().hex[:6]}"
        lead = sizes.burst * seconds_per_raw_start * 2 + 10
        due = datetime.now(UTC) + timedelta(seconds=lead)
        ids = [f"{tag}-{index:05d}" for index in range(sizes.burst)]

        async def one(index: int) -> None:
            await stack.client.start_workflow(
                RawTimerWorkflow.run,
                TimerInput(fire_at=due),
                id=ids[index],
                task_queue=RAW_TASK_QUEUE,
                search_attributes=TypedSearchAttributes([SearchAttributePair(sa.PATHWAY_TEAM, tag)]),
            )

        await paced(stack.client, RAW_TASK_QUEUE, sizes.burst, one)
        if time.time() > due.timestamp():
            late_starts.append(f"run {repeat + 1} (raw): starts were still going on at the due moment")
        query = f"{sa.PATHWAY_TEAM.name} = '{tag}' AND ExecutionStatus = 'Completed'"
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
        finished = await wait_until(lambda: _parked(query, sizes.burst), timeout=1800, interval=0.2)
        return finished - due.timestamp()

    for repeat in range(sizes.repeats):
        if repeat % 2 == 0:
            figure.ours.append(await ours(repeat))
            figure.reference.append(await raw(repeat))
        else:
            figure.reference.append(await raw(repeat))
            figure.ours.append(await ours(repeat))
    figure.notes.append(
        f"{sizes.burst} pathways in services whose follow-up reminder falls due at the same second, among the "
        f"{sizes.open_pathways} open ones (the worker caches at most {MAX_CACHED_WORKFLOWS}, so most "
        "replay); delivered = the "
        "reminder's in-app notification row is in the database. Raw: as many workflows that sleep until the "
        "same moment and run one activity; done = completed (polled every 0.2 s on both sides)."
    )
    figure.notes += late_starts
    return figure


# -- 5. worker memory -------------------------------------------------------------------------------------------


async def worker_memory(stack: Stack, sizes: Sizes, parked: int, raw_parked: int) -> list[Figure]:
    parked_rss = Figure(
        5,
        f"Worker RSS with {parked} open pathways parked on timers",
        "MB",
        "< 500 MB",
        below(500),
        limited_by=(
            f"worker: the sticky cache (max_cached_workflows={MAX_CACHED_WORKFLOWS}) bounds it, not the "
            "number of pathways"
        ),
    )
    restart_rss = Figure(
        5,
        "Worker RSS, peak in the window after a restart",
        "MB",
        "< 500 MB",
        below(500),
        limited_by=parked_rss.limited_by,
    )
    restart_cpu = Figure(
        5,
        "Worker CPU in the window after a restart (no replay storm)",
        "% of a core",
        "(informative)",
        lambda _ours, _reference: True,
        limited_by="nothing is due: parked pathways are not replayed until a timer or an action wakes them",
    )
    pathway_worker, raw_worker = stack.processes["pathway-worker"], stack.processes["raw-worker"]
    for _ in range(sizes.repeats):
        parked_rss.ours.append(rss_megabytes(pathway_worker.pid))
        parked_rss.reference.append(rss_megabytes(raw_worker.pid))
        await asyncio.sleep(2)
    for _ in range(sizes.repeats):
        pathway_worker, raw_worker = await asyncio.gather(stack.restart_worker("pathway"), stack.restart_worker("raw"))
        began = time.monotonic()
        cpu_began = cpu_seconds(pathway_worker.pid), cpu_seconds(raw_worker.pid)
        peaks = [0.0, 0.0]
        while time.monotonic() - began < sizes.restart_window_seconds:
            for side, process in enumerate((pathway_worker, raw_worker)):
                peaks[side] = max(peaks[side], rss_megabytes(process.pid))
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - began
        restart_rss.ours.append(peaks[0])
        restart_rss.reference.append(peaks[1])
        restart_cpu.ours.append(100 * (cpu_seconds(pathway_worker.pid) - cpu_began[0]) / elapsed)
        restart_cpu.reference.append(100 * (cpu_seconds(raw_worker.pid) - cpu_began[1]) / elapsed)
    parked_rss.notes.append(
        f"Sampled {sizes.repeats} times 2 s apart once the population was parked. Raw: the reference worker "
        f"with {raw_parked} raw workflows parked on timers (and the raw workflows of figures 1, 2 and 4), same "
        "cache bound."
    )
    restart_rss.notes.append(
        f"Both workers restarted (SIGTERM, new process) {sizes.repeats} times; RSS sampled every 0.5 s and CPU "
        f"measured over {sizes.restart_window_seconds:.0f} s after the new worker polls."
    )
    return [parked_rss, restart_rss, restart_cpu]


# -- 6. pathway-years ---------------------------------------------------------------------------------------------


async def _run_lengths(client: Client, workflow_id: str) -> list[int]:
    """Events of every run of a workflow id, oldest run first."""
    runs = [execution async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    lengths = []
    for execution in sorted(runs, key=lambda execution: execution.start_time):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        lengths.append(len(history.events))
    return lengths


async def pathway_years(stack: Stack, sizes: Sizes) -> list[Figure]:
    per_year = Figure(
        6,
        "History events per pathway-year (weekly follow-ups)",
        "events",
        "(informative)",
        lambda _ours, _reference: True,
        limited_by="workflow: each week is a reminder timer and activity, an update, read-model markers and upserts",
    )
    largest = Figure(
        6,
        f"Largest single run over {sizes.pathway_years} pathway-year(s), with continue-as-new",
        "events",
        "<= 10,000",
        at_most(10_000),
        limited_by="workflow: continue-as-new after 2,000 events (PathwayPolicy.continue_as_new_after_events)",
    )
    env, client = stack.env, stack.env.client
    weeks = 52 * sizes.pathway_years
    case_manager = professional_id(0)
    intake = IntakeInput(
        client_reference=f"years-{uuid.uuid4().hex[:8]}",
        team=TEAM,
        referral_source=ReferralSource.SELF_REFERRAL,
        reason="Benchmark pathway followed for years",
        registered_by=case_manager,
    )
    handle = await start_pathway(client, PATHWAY_TASK_QUEUE, intake, PathwayPolicy())
    await handle.execute_update(
        PathwayWorkflow.triage,
        TriageInput(actor=case_manager, route=TriageRoute.HEALTH_CHECK, case_manager=case_manager),
    )
    await handle.execute_update(
        PathwayWorkflow.complete_assessment,
        CompleteAssessmentInput(actor=case_manager, summary="Able to work part-time", recommendation="Work trial"),
    )
    now = datetime.now(UTC)
    await handle.execute_update(
        PathwayWorkflow.set_plan,
        SetPlanInput(
            actor=case_manager,
            services=[
                PlannedServiceInput(
                    kind=ServiceKind.EMPLOYMENT_SERVICES, provider="Employment services", planned_start=now
                )
            ],
            follow_up_interval=timedelta(days=7),
        ),
    )
    latest: WorkflowHandle[PathwayWorkflow, object] = client.get_workflow_handle_for(PathwayWorkflow.run, handle.id)
    raw_id = f"raw-years-{uuid.uuid4().hex[:8]}"
    raw_handle = await client.start_workflow(RawNoopWorkflow.run, id=raw_id, task_queue=RAW_TASK_QUEUE)
    follow_up = RecordFollowUpInput(actor=case_manager, channel=ContactChannel.PHONE, note="Weekly check-in")

    async def follow_pathway() -> None:
        for _ in range(weeks):
            # A week passes (the reminder fires three days before the follow-up is due), then the contact.
            await env.fast_forward(latest, timedelta(days=7))
            await latest.execute_update(PathwayWorkflow.record_follow_up, follow_up)

    async def follow_raw() -> None:
        for _ in range(weeks):
            await env.fast_forward(raw_handle, timedelta(days=7))
            await raw_handle.execute_update(RawNoopWorkflow.touch, "Weekly check-in")

    # Each has its own virtual clock, so both can go at once.
    await asyncio.gather(follow_pathway(), follow_raw())
    ours_runs = await _run_lengths(client, handle.id)
    raw_runs = await _run_lengths(client, raw_id)
    per_year.ours.append(sum(ours_runs) / sizes.pathway_years)
    per_year.reference.append(sum(raw_runs) / sizes.pathway_years)
    largest.ours.append(max(ours_runs))
    largest.reference.append(max(raw_runs))
    largest.notes.append(
        f"One pathway followed for {weeks} simulated weeks with the dev server's time skipping: {len(ours_runs)} "
        f"runs of {', '.join(str(length) for length in ours_runs)} events. Raw: a workflow that takes one update a "
        f"week and never continues as new ({raw_runs[0]} events in one run). Event counts are exact and do not "
        "depend on load, so one run, alongside the population phase."
    )
    return [per_year, largest]
