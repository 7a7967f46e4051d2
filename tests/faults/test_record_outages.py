"""From a decision to the record when something is away: the worker not yet running, the database stopped
for a minute, a worker without the key. Pieces started as operations start them (the dev server and the worker
as `python -m ops.cli` processes), the API in process against them, a real SQLite file or PostgreSQL.

What must hold: no answer is a 5xx other than 503 with Retry-After; a refused action repeated with its
Idempotency-Key applies once; every deadline fires once; the record ends with every event once, in order; and
no pathway's process ends because of an outage.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url
from temporalio.client import Client, WorkflowExecutionStatus

from api.app import create_app
from api.services import actions as action_service
from core.db import build_engine
from core.settings import Settings
from core.temporal import data_converter
from tests.ops.helpers import stop_process
from tests.support.fixtures import postgres_base_url, postgres_schema, serving
from tests.support.helpers import COORDINATOR, NURSE, TEAM, eventually, intake_body, ok
from workflows.client import pathway_handle

from .helpers import TcpGate, TemporalServer, recorded_sequences, seed_staff_with_email, start_worker

# How long the API waits for a worker before answering 503 (30 s in production; shorter keeps the test short).
WORKER_ANSWER_SECONDS = 3.0


def _auth(tokens: dict[str, str], staff_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[staff_id]}"}


def _no_5xx_but_503(response: httpx.Response) -> None:
    if response.status_code >= 500:
        assert response.status_code == 503, f"{response.status_code}: {response.text}"
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["detail"], "a 503 says what is away"


async def _kinds_in_order(api: httpx.AsyncClient, auth: dict[str, str], pathway_id: str) -> list[str]:
    timeline = ok(await api.get(f"/pathways/{pathway_id}/timeline", headers=auth))
    return [item["kind"] for item in timeline["items"] if item["recorded"]]


def _recorded_at_least(database_url: str, pathway_id: str, count: int) -> bool:
    engine = build_engine(database_url)
    try:
        return len(recorded_sequences(engine, pathway_id)) >= count
    finally:
        engine.dispose()


def _every_event_once_in_order(database_url: str, pathway_id: str) -> list[int]:
    engine = build_engine(database_url)
    try:
        sequences = recorded_sequences(engine, pathway_id)
    finally:
        engine.dispose()
    assert sequences == list(range(1, len(sequences) + 1)), sequences
    return sequences


async def test_an_action_before_the_first_workflow_task_answers_and_reaches_the_record_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's pieces, the worker not started yet: intake answers 201 and triage 503 with Retry-After (the
    worker did not answer); once a worker runs, the triage repeated with its key answers 200, and the record
    holds the referral and the triage once each. With the worker running, intake then triage at once, five
    times over: every answer 200."""
    monkeypatch.setattr(action_service, "WORKER_ANSWER_SECONDS", WORKER_ANSWER_SECONDS)
    database_url = f"sqlite:///{tmp_path / 'pathways.db'}"
    tokens = seed_staff_with_email(database_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    worker = None
    settings = Settings(
        temporal_address=server.address, task_queue=queue, database_url=database_url, var_dir=tmp_path / "api"
    )
    triage = {"route": "health_check", "case_manager": NURSE}
    try:
        async with serving(create_app(settings)) as api:
            receipt = ok(await api.post("/pathways", json=intake_body(TEAM), headers=_auth(tokens, NURSE)), 201)
            pathway_id = receipt["pathway_id"]
            key = {"Idempotency-Key": f"triage-{pathway_id}"}
            early = await api.post(
                f"/pathways/{pathway_id}/triage", json=triage, headers={**_auth(tokens, COORDINATOR), **key}
            )
            assert early.status_code == 503, early.text
            _no_5xx_but_503(early)
            read = await api.get(f"/pathways/{pathway_id}", headers=_auth(tokens, NURSE))
            assert read.status_code == 503 and "first step has not run yet" in read.json()["detail"]
            _no_5xx_but_503(read)

            worker = start_worker(server.address, queue, database_url, tmp_path / "worker.log")
            again = await api.post(
                f"/pathways/{pathway_id}/triage", json=triage, headers={**_auth(tokens, COORDINATOR), **key}
            )
            assert again.status_code == 200, again.text
            await eventually(
                partial(_recorded_at_least, database_url, pathway_id, 3),
                what="the referral and the triage in the record",
            )
            kinds = await _kinds_in_order(api, _auth(tokens, NURSE), pathway_id)
            assert kinds == ["referral_received", "triaged", "case_manager_assigned"]
            _every_event_once_in_order(database_url, pathway_id)

            # The worker running: an action right behind the intake races its first workflow task.
            for _ in range(5):
                receipt = ok(await api.post("/pathways", json=intake_body(TEAM), headers=_auth(tokens, NURSE)), 201)
                answer = await api.post(
                    f"/pathways/{receipt['pathway_id']}/triage", json=triage, headers=_auth(tokens, COORDINATOR)
                )
                assert answer.status_code == 200, answer.text
                await eventually(
                    partial(_recorded_at_least, database_url, receipt["pathway_id"], 3),
                    what="the referral and the triage in the record",
                )
                _every_event_once_in_order(database_url, receipt["pathway_id"])
    finally:
        if worker is not None:
            stop_process(worker.process)
        server.stop()
    assert "Traceback" not in (worker.log() if worker else "")


@pytest.fixture
def gated_postgres() -> Iterator[tuple[str, TcpGate]]:
    """A fresh PostgreSQL schema reached through a gate that can be shut: the database as the pieces see it."""
    base = make_url(postgres_base_url())
    # The schema is made and dropped directly; the pieces reach it through the gate.
    with TcpGate(base.host or "127.0.0.1", base.port or 5432) as gate, postgres_schema(postgres_base_url()) as direct:
        yield make_url(direct).set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False), gate


OUTAGE_SECONDS = 60.0


async def test_the_database_away_for_a_minute_answers_503_loses_nothing_and_ends_no_pathway(
    tmp_path: Path, gated_postgres: tuple[str, TcpGate]
) -> None:
    """PostgreSQL goes away for a minute while staff act and deadlines fall due. Meanwhile every answer is 503
    with Retry-After. Afterwards each refused action, repeated with its key, applies once; each deadline has
    fired once; every record holds its events once, in order; every pathway's process still runs."""
    database_url, gate = gated_postgres
    tokens = seed_staff_with_email(database_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    worker = start_worker(server.address, queue, database_url, tmp_path / "worker.log")
    settings = Settings(
        temporal_address=server.address, task_queue=queue, database_url=database_url, var_dir=tmp_path / "api"
    )
    nurse, coordinator = _auth(tokens, NURSE), _auth(tokens, COORDINATOR)
    try:
        async with serving(create_app(settings)) as api:
            # Two pathways whose triage falls due during the outage, and one in follow-up where staff act.
            due: list[str] = []
            for after in (15, 35):
                body = intake_body(TEAM, demo=True, policy={"triage_due_after": f"PT{after}S"})
                due.append(ok(await api.post("/pathways", json=body, headers=nurse), 201)["pathway_id"])
            acted = ok(await api.post("/pathways", json=intake_body(TEAM), headers=nurse), 201)["pathway_id"]
            triage = {"route": "health_check", "case_manager": NURSE}
            ok(await api.post(f"/pathways/{acted}/triage", json=triage, headers=coordinator))

            gate.shut()
            refused: list[tuple[str, dict[str, Any], dict[str, str]]] = []
            deadline = asyncio.get_running_loop().time() + OUTAGE_SECONDS
            round_number = 0
            while asyncio.get_running_loop().time() < deadline:
                round_number += 1
                key = {"Idempotency-Key": f"follow-up-{round_number}"}
                body = {"channel": "phone", "note": f"Call {round_number} during the outage"}
                answer = await api.post(f"/pathways/{acted}/follow-ups", json=body, headers={**nurse, **key})
                assert answer.status_code == 503, answer.text
                _no_5xx_but_503(answer)
                assert "database" in answer.json()["detail"]
                refused.append((f"/pathways/{acted}/follow-ups", body, key))
                for read in (f"/pathways/{due[0]}", f"/pathways/{acted}/timeline", "/pathways"):
                    response = await api.get(read, headers=nurse)
                    assert response.status_code == 503, (read, response.text)
                    _no_5xx_but_503(response)
                await asyncio.sleep(10)
            gate.open()

            for path, body, key in refused:
                # The pool's first connections after the outage may still find the old ones dead: 503 is allowed.
                answer = await eventually(
                    partial(_answered, api, path, body, {**nurse, **key}),
                    what="the refused action applied once the database is back",
                )
                assert answer.status_code == 200, answer.text
            await eventually(
                lambda: _all_recorded(api, nurse, [*due, acted], len(refused)),
                timeout=120,
                what="every deadline and every action in the record",
            )
            for pathway_id in due:
                # The overdue triage went to the team once.
                assert await _kinds_in_order(api, nurse, pathway_id) == ["referral_received", "team_review_opened"]
                _every_event_once_in_order(database_url, pathway_id)
            kinds = await _kinds_in_order(api, nurse, acted)
            assert kinds.count("follow_up_recorded") == len(refused)
            _every_event_once_in_order(database_url, acted)

        client = await Client.connect(server.address, data_converter=data_converter())
        for pathway_id in [*due, acted]:
            description = await pathway_handle(client, pathway_id).describe()
            assert description.status is WorkflowExecutionStatus.RUNNING, pathway_id
    finally:
        stop_process(worker.process)
        server.stop()
    assert "WorkflowExecutionFailed" not in worker.log()


async def _answered(api: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await api.post(path, json=body, headers=headers)
    _no_5xx_but_503(response)
    return response if response.status_code != 503 else None


async def _all_recorded(api: httpx.AsyncClient, auth: dict[str, str], pathway_ids: list[str], follow_ups: int) -> bool:
    for pathway_id in pathway_ids:
        response = await api.get(f"/pathways/{pathway_id}/timeline", headers=auth)
        if response.status_code != 200:
            return False
        items = response.json()["items"]
        # The referral and its overdue triage's team review, or the triage: all of it in the database.
        if len(items) < 2 or not all(item["recorded"] for item in items):
            return False
    acted = pathway_ids[-1]
    kinds = await _kinds_in_order(api, auth, acted)
    return kinds.count("follow_up_recorded") == follow_ups


def _key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


async def test_a_worker_without_the_key_leaves_the_record_readable_and_says_which_key_it_lacks(
    tmp_path: Path,
) -> None:
    """The process that answers a pathway's queries cannot decrypt its history (it holds another key): the
    record still answers, its live part marked unavailable with the reason, and the worker's log names the
    key it lacks. A worker started with no keys at all, encryption required, refuses to start and says so."""
    database_url = f"sqlite:///{tmp_path / 'pathways.db'}"
    tokens = seed_staff_with_email(database_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    key_one, key_two = _key("k1"), _key("k2")
    with_key_one = {"PATHWAYS_ENCRYPTION_KEYS": key_one, "PATHWAYS_ENCRYPTION_ACTIVE_KEY": "k1"}
    worker = start_worker(server.address, queue, database_url, tmp_path / "worker-k1.log", **with_key_one)
    stranger = None
    settings = Settings(
        temporal_address=server.address,
        task_queue=queue,
        database_url=database_url,
        var_dir=tmp_path / "api",
        encryption_keys=key_one,
        encryption_active_key="k1",
    )
    nurse = _auth(tokens, NURSE)
    try:
        async with serving(create_app(settings)) as api:
            pathway_id = ok(await api.post("/pathways", json=intake_body(TEAM), headers=nurse), 201)["pathway_id"]
            await eventually(
                partial(_recorded_at_least, database_url, pathway_id, 1), what="the referral in the record"
            )
            stop_process(worker.process)
            stranger = start_worker(
                server.address,
                queue,
                database_url,
                tmp_path / "worker-k2.log",
                PATHWAYS_ENCRYPTION_KEYS=key_two,
                PATHWAYS_ENCRYPTION_ACTIVE_KEY="k2",
            )
            timeline = ok(await api.get(f"/pathways/{pathway_id}/timeline", headers=nurse))
            assert [item["kind"] for item in timeline["items"]] == ["referral_received"]
            assert timeline["process"] == "unavailable" and "worker" in timeline["live_unavailable_reason"]
            view = ok(await api.get(f"/pathways/{pathway_id}", headers=nurse))
            assert view["process"] == "unavailable" and view["live_unavailable_reason"]
            await eventually(lambda: "'k1'" in stranger.log(), what="the worker's log naming the key it lacks")
    finally:
        for process in (worker, stranger):
            if process is not None and process.process.poll() is None:
                stop_process(process.process)
        server.stop()

    no_keys = await asyncio.to_thread(
        _run_worker_without_keys, server.address, queue, database_url, tmp_path / "worker-none.log"
    )
    assert no_keys[0] == 2 and "PATHWAYS_ENCRYPTION_KEYS" in no_keys[1]


def _run_worker_without_keys(address: str, queue: str, database_url: str, log: Path) -> tuple[int, str]:
    import subprocess
    import sys

    from tests.ops.helpers import REPO_ROOT, clean_env

    env = clean_env(
        PATHWAYS_TEMPORAL_ADDRESS=address,
        PATHWAYS_TASK_QUEUE=queue,
        PATHWAYS_DATABASE_URL=database_url,
        PATHWAYS_VAR_DIR=str(log.parent / "empty-var"),
        PATHWAYS_REQUIRE_ENCRYPTION="true",
    )
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "worker"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    log.write_text(done.stdout + done.stderr)
    return done.returncode, done.stderr


async def test_a_worker_started_by_hand_beside_make_run_takes_its_key_from_var(tmp_path: Path) -> None:
    """`python -m ops.cli worker` with no keys in its environment, encryption required, beside the `var/` that
    `make run` made: it takes the key from `var/encryption.key` and runs the pathways the others encrypt."""
    from ops.run import local_encryption_key
    from tests.support.helpers import start_fixed

    var = tmp_path / "var"
    key_id, key = local_encryption_key(var)
    database_url = f"sqlite:///{tmp_path / 'pathways.db'}"
    seed_staff_with_email(database_url)
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    worker = start_worker(
        server.address,
        queue,
        database_url,
        tmp_path / "worker.log",
        PATHWAYS_VAR_DIR=str(var),
        PATHWAYS_REQUIRE_ENCRYPTION="true",
    )
    try:
        keyed = Settings(encryption_keys=f"{key_id}:{key}", encryption_active_key=key_id)
        client = await Client.connect(server.address, data_converter=data_converter(keyed))
        handle = await start_fixed(client, queue)
        await eventually(partial(_recorded_at_least, database_url, handle.id, 1), what="the referral in the record")
    finally:
        stop_process(worker.process)
        server.stop()
    assert "Traceback" not in worker.log()
