"""Every order a staff action, a new pathway's first workflow task, a falling deadline and a killed worker can
come in: Hypothesis draws the schedule, the real pieces run it (the dev server and the workers as
`python -m ops.cli` processes, killed with SIGKILL; the API in process; a SQLite file).

Whatever the order: no answer is a 5xx other than 503 with Retry-After; once a worker runs again and every
refused action is repeated with its Idempotency-Key, the record holds every event the pathway decided, once
each and in order, and the overdue triage went to the team at most once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.services import actions as action_service
from core.db import build_engine
from core.settings import Settings
from tests.ops.helpers import stop_process
from tests.support.fixtures import serving
from tests.support.helpers import COORDINATOR, NURSE, TEAM, eventually, intake_body

from .helpers import TemporalServer, WorkerProcess, recorded_sequences, seed_staff_with_email, start_worker

STEPS = st.lists(st.sampled_from(["act", "start", "kill", "wait"]), min_size=2, max_size=7)
TRIAGE_DUE_SECONDS = st.sampled_from([1, 3, 8])


@dataclass
class Stage:
    database_url: str
    tokens: dict[str, str]
    server: TemporalServer
    workdir: Path


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    workdir = tmp_path_factory.mktemp("interleavings")
    database_url = f"sqlite:///{workdir / 'pathways.db'}"
    tokens = seed_staff_with_email(database_url)
    server = TemporalServer(workdir / "temporal", workdir)
    server.start()
    try:
        yield Stage(database_url, tokens, server, workdir)
    finally:
        server.stop()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, triage_due=TRIAGE_DUE_SECONDS)
def test_any_order_of_action_first_task_deadline_and_killed_worker_ends_with_every_event_once(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, steps: list[str], triage_due: int
) -> None:
    # A worker that is not running answers 503 after this long (30 s in production).
    monkeypatch.setattr(action_service, "WORKER_ANSWER_SECONDS", 2.0)
    asyncio.run(_run_schedule(stage, steps, triage_due))


class Scenario:
    def __init__(self, stage: Stage, api: httpx.AsyncClient, queue: str) -> None:
        self.stage = stage
        self.api = api
        self.queue = queue
        self.worker: WorkerProcess | None = None
        self.workers = 0
        self.sent: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.refused: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def auth(self, staff_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stage.tokens[staff_id]}"}

    def start_worker(self) -> None:
        if self.worker is None:
            self.workers += 1
            log = self.stage.workdir / f"{self.queue}-{self.workers}.log"
            self.worker = start_worker(self.stage.server.address, self.queue, self.stage.database_url, log)

    def kill_worker(self) -> None:
        if self.worker is not None:
            self.worker.process.kill()  # SIGKILL: between any two of its steps, nothing to clean up
            self.worker.process.wait(timeout=30)
            self.worker = None

    async def act(self, pathway_id: str) -> None:
        number = len(self.sent) + 1
        if number == 1:
            path, body, actor = "triage", {"route": "health_check", "case_manager": NURSE}, COORDINATOR
        else:
            path, body, actor = "follow-ups", {"channel": "phone", "note": f"Contact {number}"}, NURSE
        headers = {**self.auth(actor), "Idempotency-Key": f"{pathway_id}-{number}"}
        request = (f"/pathways/{pathway_id}/{path}", body, headers)
        self.sent.append(request)
        response = await self.api.post(request[0], json=body, headers=headers)
        _acceptable(response)
        if response.status_code == 503:
            self.refused.append(request)


def _acceptable(response: httpx.Response) -> None:
    assert response.status_code < 500 or response.status_code == 503, f"{response.status_code}: {response.text}"
    if response.status_code == 503:
        assert int(response.headers["Retry-After"]) > 0 and response.json()["detail"]
    else:
        assert response.status_code in (200, 201), f"{response.status_code}: {response.text}"


async def _run_schedule(stage: Stage, steps: list[str], triage_due: int) -> None:
    queue = f"interleave-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        temporal_address=stage.server.address,
        task_queue=queue,
        database_url=stage.database_url,
        var_dir=stage.workdir / "api",
    )
    async with serving(create_app(settings)) as api:
        scenario = Scenario(stage, api, queue)
        try:
            body = intake_body(TEAM, demo=True, policy={"triage_due_after": f"PT{triage_due}S"})
            receipt = await api.post("/pathways", json=body, headers=scenario.auth(NURSE))
            assert receipt.status_code == 201, receipt.text
            pathway_id = receipt.json()["pathway_id"]
            for step in steps:
                if step == "act":
                    await scenario.act(pathway_id)
                elif step == "start":
                    await asyncio.to_thread(scenario.start_worker)
                elif step == "kill":
                    await asyncio.to_thread(scenario.kill_worker)
                else:
                    await asyncio.sleep(triage_due / 2)
            await asyncio.to_thread(scenario.start_worker)
            for path, body, headers in scenario.refused:
                response = await eventually(
                    partial(_answered, api, path, body, headers),
                    timeout=60,
                    what=f"{path} applied once a worker runs",
                )
                assert response.status_code == 200, response.text
            await _every_event_once(scenario, pathway_id)
        finally:
            if scenario.worker is not None:
                stop_process(scenario.worker.process)


async def _answered(api: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await api.post(path, json=body, headers=headers)
    _acceptable(response)
    return response if response.status_code != 503 else None


async def _every_event_once(scenario: Scenario, pathway_id: str) -> None:
    auth = scenario.auth(NURSE)

    async def all_recorded() -> list[dict[str, Any]] | None:
        response = await scenario.api.get(f"/pathways/{pathway_id}/timeline", headers=auth)
        _acceptable(response)
        if response.status_code != 200:
            return None
        page = response.json()
        # Settled: the live process answered and nothing it decided waits to be written.
        if page["process"] != "running" or not all(item["recorded"] for item in page["items"]):
            return None
        view = (await scenario.api.get(f"/pathways/{pathway_id}", headers=auth)).json()
        items: list[dict[str, Any]] = page["items"]
        return items if items and items[-1]["sequence"] == view["recorded_sequence"] else None

    items = await eventually(all_recorded, timeout=60, what="every decided event in the record")
    engine = build_engine(scenario.stage.database_url)
    try:
        sequences = recorded_sequences(engine, pathway_id)
    finally:
        engine.dispose()
    assert sequences == list(range(1, len(sequences) + 1)), sequences
    kinds = [item["kind"] for item in items]
    assert kinds[0] == "referral_received"
    assert kinds.count("follow_up_recorded") == max(0, len(scenario.sent) - 1), kinds
    assert kinds.count("triaged") == (1 if scenario.sent else 0), kinds
    assert kinds.count("team_review_opened") <= 1, kinds
