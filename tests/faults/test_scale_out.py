"""Scaled out on one machine: two workers and two API processes on PostgreSQL against one Temporal server,
under staff load on pathways put in place by the benchmark's population; one worker and one API process
are SIGKILLed mid-load. Every pathway goes on, and nothing is lost or doubled in the timeline, the
notifications or the audit log.

Staff behave as a client of a load balancer would: a request that fails (connection reset, 503) is sent
again to the other API with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.client import Client

from bench.population import Built, file_records, in_services, start_parked
from core.crypto import RecordSealer
from core.db import build_engine
from core.settings import Settings
from core.temporal import data_converter
from models.pathway import NotificationKind, PathwayPolicy
from models.tables import AuditLogEntry, Notification, PathwayEventRow
from tests.ops.helpers import REPO_ROOT, clean_env, free_port, stop_process, wait_until
from tests.support.fixtures import postgres_base_url, postgres_schema
from tests.support.helpers import COORDINATOR, NURSE, SOCIAL_WORKER, TEAM, seed_fixed_team

from .helpers import HoldingSmtpServer, TemporalServer, smtp_env, start_worker

pytestmark = pytest.mark.slow

PATHWAYS = 60
CLIENTS = 12
ACTIONS_PER_PATHWAY = 6
# The third action on every pathway brings it back to the team: notices to the coordinator and the case manager.
REVIEW_AT = 2


@dataclass
class Api:
    process: subprocess.Popen[bytes]
    url: str


def start_api(address: str, queue: str, database_url: str, log: Path, env: dict[str, str]) -> Api:
    port = free_port()
    variables = clean_env(
        PATHWAYS_TEMPORAL_ADDRESS=address,
        PATHWAYS_TASK_QUEUE=queue,
        PATHWAYS_DATABASE_URL=database_url,
        PATHWAYS_API_HOST="127.0.0.1",
        PATHWAYS_API_PORT=str(port),
        PATHWAYS_VAR_DIR=str(log.parent / "api-var"),
        **env,
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "api"], cwd=REPO_ROOT, env=variables, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, f"API on {port} ready", timeout=90, process=process)
    return Api(process, url)


@dataclass
class Load:
    """What the staff sent: every action's key per pathway, and how many attempts it took."""

    applied: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    attempts: Counter[str] = field(default_factory=Counter)  # per pathway
    failovers: int = 0


async def _send(
    apis: list[Api], pathway_id: str, path: str, token: str, load: Load, body: dict[str, str]
) -> httpx.Response:
    """One logical request: the same Idempotency-Key to one API, then the other, until it is answered."""
    key = f"scale-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    for attempt in range(40):
        api = apis[(hash(key) + attempt) % len(apis)]
        load.attempts[pathway_id] += 1
        try:
            async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
                response = await http.post(path, headers=headers, json=body)
        except httpx.TransportError:
            load.failovers += 1
            await asyncio.sleep(0.2)
            continue
        if response.status_code in (502, 503, 504):
            load.failovers += 1
            await asyncio.sleep(0.5)
            continue
        return response
    raise AssertionError(f"POST {path} was never answered")


async def test_two_workers_and_two_apis_on_postgresql_lose_and_double_nothing_when_one_of_each_is_killed(
    tmp_path: Path,
) -> None:
    with postgres_schema(postgres_base_url()) as database_url:
        tokens = seed_fixed_team(database_url, emails=True)
        engine = build_engine(database_url)
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        encryption = {"PATHWAYS_ENCRYPTION_KEYS": f"k1:{key}", "PATHWAYS_ENCRYPTION_ACTIVE_KEY": "k1"}
        settings = Settings(database_url=database_url, encryption_keys=f"k1:{key}", encryption_active_key="k1")
        queue = f"scale-{uuid.uuid4().hex[:8]}"
        server = TemporalServer(tmp_path / "temporal", tmp_path)
        server.start()
        workers, apis = [], []
        try:
            with HoldingSmtpServer() as inbox:
                env = {**smtp_env(inbox.port), **encryption, "PATHWAYS_OUTBOX_SWEEP_INTERVAL": "PT2S"}
                workers = [
                    start_worker(server.address, queue, database_url, tmp_path / f"worker-{i}.log", **env)
                    for i in range(2)
                ]
                apis = [
                    start_api(server.address, queue, database_url, tmp_path / f"api-{i}.log", env) for i in range(2)
                ]

                # The benchmark's population: pathways in services, by the product's rules and store.
                client = await Client.connect(server.address, data_converter=data_converter(settings))
                soon = datetime.now(UTC) + timedelta(days=20)
                built: list[Built] = [
                    in_services(
                        f"scale{index:04d}{uuid.uuid4().hex[:4]}",
                        TEAM,
                        (NURSE, SOCIAL_WORKER)[index % 2],
                        reminder_at=soon,
                        policy=PathwayPolicy(),
                    )
                    for index in range(PATHWAYS)
                ]
                await asyncio.to_thread(file_records, engine, RecordSealer.from_settings(settings), built)
                await start_parked(client, queue, built, raw=False)
                pathways = [(pathway.process.pathway_id, pathway.process.case_manager or "") for pathway in built]

                load = Load()
                work: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
                for step, (pathway_id, case_manager) in itertools.product(range(ACTIONS_PER_PATHWAY), pathways):
                    work.put_nowait((pathway_id, case_manager, step))
                total = work.qsize()
                killed = asyncio.Event()
                a_third_done = asyncio.Event()

                async def staff_member() -> None:
                    while not work.empty():
                        pathway_id, case_manager, step = work.get_nowait()
                        if step == REVIEW_AT:
                            kind, path = "review", f"/pathways/{pathway_id}/team-review"
                            body: dict[str, str] = {"reason": "The work trial ended early"}
                        else:
                            kind, path = "follow_up", f"/pathways/{pathway_id}/follow-ups"
                            body = {"channel": "phone", "note": f"Scale-out check-in {step}"}
                        response = await _send(apis, pathway_id, path, tokens[case_manager], load, body)
                        assert response.status_code == 200, response.text
                        load.applied[pathway_id].append(kind)
                        if sum(len(kinds) for kinds in load.applied.values()) >= total // 3:
                            a_third_done.set()

                async def kill_mid_load() -> None:
                    await a_third_done.wait()
                    os.kill(workers[0].process.pid, signal.SIGKILL)
                    os.kill(apis[0].process.pid, signal.SIGKILL)
                    killed.set()

                await asyncio.gather(kill_mid_load(), *(staff_member() for _ in range(CLIENTS)))
                assert killed.is_set()
                assert load.failovers > 0, "the kill hit no request: the test proved nothing"

                # Every pathway goes on: one more follow-up each through the surviving API.
                for pathway_id, case_manager in pathways:
                    path = f"/pathways/{pathway_id}/follow-ups"
                    body = {"channel": "phone", "note": "After the kill"}
                    response = await _send(apis[1:], pathway_id, path, tokens[case_manager], load, body)
                    assert response.status_code == 200, response.text
                    load.applied[pathway_id].append("follow_up")

                expected_follow_ups = ACTIONS_PER_PATHWAY  # five in the load, one after the kill

                def caught_up() -> bool:
                    with Session(engine) as session:
                        counts = session.exec(
                            select(PathwayEventRow.pathway_id, func.count())
                            .where(PathwayEventRow.kind == "follow_up_recorded")
                            .group_by(PathwayEventRow.pathway_id)
                        ).all()
                    return len(counts) == PATHWAYS and all(count >= expected_follow_ups for _, count in counts)

                await asyncio.to_thread(wait_until, caught_up, "every follow-up recorded", 120)
                await asyncio.sleep(3)  # anything written twice would be in by now

                with Session(engine) as session:
                    for pathway_id, case_manager in pathways:
                        kinds = Counter(
                            session.exec(select(PathwayEventRow.kind).where(PathwayEventRow.pathway_id == pathway_id))
                        )
                        # The timeline: every action once, none lost.
                        assert kinds["follow_up_recorded"] == expected_follow_ups, (pathway_id, kinds)
                        assert kinds["team_review_opened"] == 1, (pathway_id, kinds)
                        sequences = session.exec(
                            select(PathwayEventRow.sequence).where(PathwayEventRow.pathway_id == pathway_id)
                        ).all()
                        assert sorted(sequences) == list(range(1, len(sequences) + 1))
                        # The review's notices: the coordinator and the case manager, once each per channel.
                        notices = Counter(
                            (row.recipient, row.channel)
                            for row in session.exec(
                                select(Notification).where(
                                    Notification.pathway_id == pathway_id,
                                    Notification.kind == NotificationKind.ESCALATED_TO_TEAM_REVIEW.value,
                                )
                            )
                        )
                        assert notices == {
                            (COORDINATOR, "inbox"): 1,
                            (COORDINATOR, "email"): 1,
                            (case_manager, "inbox"): 1,
                            (case_manager, "email"): 1,
                        }, (pathway_id, notices)
                        # The audit: every applied action has its line; a retry is a request of its own, so
                        # at most one line per attempt.
                        audited = session.exec(
                            select(func.count())
                            .select_from(AuditLogEntry)
                            .where(
                                AuditLogEntry.pathway_id == pathway_id,
                                col(AuditLogEntry.action).in_(["record_follow_up", "request_team_review"]),
                                AuditLogEntry.outcome == "ok",
                            )
                        ).one()
                        assert len(load.applied[pathway_id]) <= audited <= load.attempts[pathway_id]
                assert set(inbox.message_ids().values()) <= {1}
        finally:
            for process in [*(api.process for api in apis), *(worker.process for worker in workers)]:
                await asyncio.to_thread(stop_process, process)
            engine.dispose()
            server.stop()
