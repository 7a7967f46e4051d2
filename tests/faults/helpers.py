"""Real processes for the fault tests: a restartable Temporal dev server, worker subprocesses that can be
killed, a database seeded with the team's staff (with e-mail addresses) and an SMTP server that can hold
a message in flight."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, func
from sqlmodel import Session as DbSession
from sqlmodel import select

from core.db import build_engine
from models.tables import Notification, NotificationChannel, PathwayEventRow
from tests.ops.helpers import REPO_ROOT, clean_env, free_port, port_open, stop_process, wait_for_temporal, wait_until
from tests.support.helpers import seed_fixed_team


def seed_staff_with_email(database_url: str) -> dict[str, str]:
    """A migrated database where the test team's staff get their notifications by e-mail too; returns
    each staff member's API token."""
    return seed_fixed_team(database_url, emails=True)


# -- the Temporal dev server, stopped and started again on the same file and port --------------------------


class TemporalServer:
    """`python -m ops.cli dev-server` persisting under `var_dir`, on a port kept across restarts."""

    def __init__(self, var_dir: Path, log_dir: Path) -> None:
        self.var_dir = var_dir
        self.port = free_port()
        self.ui_port = free_port()
        self._log_dir = log_dir
        self._starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._starts += 1
        env = clean_env(
            PATHWAYS_VAR_DIR=str(self.var_dir),
            PATHWAYS_DEV_SERVER_PORT=str(self.port),
            PATHWAYS_DEV_SERVER_UI_PORT=str(self.ui_port),
            PATHWAYS_DEV_SERVER_IP="127.0.0.1",
        )
        with (self._log_dir / f"temporal-{self._starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ops.cli", "dev-server"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
            )
        process = self.process
        wait_until(lambda: port_open(self.port), f"Temporal port {self.port} open", process=process)
        wait_for_temporal(self.address)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        # The next start binds the same ports: wait until they are free (bounded).
        wait_until(lambda: not port_open(self.port) and not port_open(self.ui_port), "Temporal ports released", 30)


class FaultStage(NamedTuple):
    database_url: str
    tokens: dict[str, str]  # each seeded staff member's API token
    engine: Engine
    queue: str
    server: TemporalServer


@contextmanager
def fault_stage(tmp_path: Path) -> Iterator[FaultStage]:
    """A fault test's own world: a seeded SQLite database, a task queue and a running dev server, torn down
    afterwards."""
    database_url = f"sqlite:///{tmp_path / 'pathways.db'}"
    tokens = seed_staff_with_email(database_url)
    engine = build_engine(database_url)
    server = TemporalServer(tmp_path / "temporal", tmp_path)
    server.start()
    try:
        yield FaultStage(database_url, tokens, engine, f"faults-{uuid.uuid4().hex[:8]}", server)
    finally:
        engine.dispose()
        server.stop()


# -- worker subprocesses -------------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(address: str, task_queue: str, database_url: str, log_path: Path, **env: str) -> WorkerProcess:
    """`python -m ops.cli worker` on this task queue and database; returns once its health port is open."""
    health_port = free_port()
    variables = clean_env(
        PATHWAYS_TEMPORAL_ADDRESS=address,
        PATHWAYS_TASK_QUEUE=task_queue,
        PATHWAYS_DATABASE_URL=database_url,
        PATHWAYS_WORKER_HEALTH_PORT=str(health_port),
        PATHWAYS_LOG_FORMAT="json",
        PATHWAYS_VAR_DIR=str(log_path.parent / "worker-var"),
        # Long enough for a slow shared machine; a killed worker's attempt is retried after it anyway.
        PATHWAYS_GRACEFUL_SHUTDOWN_SECONDS="5",
    )
    variables.update(env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "worker"], cwd=REPO_ROOT, env=variables, stdout=log, stderr=log
        )
    wait_until(lambda: port_open(health_port), f"worker health port {health_port} open", process=process)
    return WorkerProcess(process, log_path)


def smtp_env(port: int) -> dict[str, str]:
    return {
        "PATHWAYS_SMTP_ENABLED": "true",
        "PATHWAYS_SMTP_HOST": "127.0.0.1",
        "PATHWAYS_SMTP_PORT": str(port),
        "PATHWAYS_SMTP_SECURITY": "none",
        "PATHWAYS_SMTP_FROM_ADDRESS": "pathways@hyvinvointialue.example",
        "PATHWAYS_SMTP_TIMEOUT_SECONDS": "60",
    }


# -- an SMTP server that can hold a message in flight -------------------------------------------------------


@dataclass
class HoldingInbox:
    """Accepted messages, plus the messages whose DATA was received but never acknowledged."""

    port: int
    hold_first_message_to: set[str] = field(default_factory=set)
    messages: list[EmailMessage] = field(default_factory=list)
    abandoned: list[EmailMessage] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)

    def message_ids(self) -> Counter[str]:
        return Counter(str(message["Message-ID"]) for message in self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


class _HoldingHandler:
    """Behaves as a mail server should: a message counts as accepted only once 250 has been answered to
    DATA. The first message to an address in `hold_first_message_to` is held before that answer until
    its sender's connection goes away (the sender was killed), and then dropped."""

    def __init__(self, inbox: HoldingInbox) -> None:
        self._inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", _class=EmailMessage, policy=policy.default)
        held = set(envelope.rcpt_tos) & self._inbox.hold_first_message_to
        if held:
            self._inbox.hold_first_message_to -= held
            self._inbox.holding.set()
            try:
                # Bounded: a sender that never goes away gets a temporary failure after a minute.
                for _ in range(600):
                    if server.transport is None or server.transport.is_closing():
                        break
                    await asyncio.sleep(0.1)
            finally:
                # Cancelled (connection lost) or given up: never acknowledged, so never delivered.
                self._inbox.abandoned.append(message)
            return "451 4.3.0 try again later"
        self._inbox.messages.append(message)
        return "250 Message accepted for delivery"


class HoldingSmtpServer:
    def __init__(self) -> None:
        self.inbox = HoldingInbox(port=free_port())
        self._controller = Controller(_HoldingHandler(self.inbox), hostname="127.0.0.1", port=self.inbox.port)

    def __enter__(self) -> HoldingInbox:
        self._controller.start()
        return self.inbox

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


# -- what the database holds ---------------------------------------------------------------------------------


def recorded_sequences(engine: Engine, pathway_id: str) -> list[int]:
    """The recorded event sequences of a pathway, in order, duplicates included."""
    with DbSession(engine) as session:
        rows = session.exec(
            select(PathwayEventRow.sequence)
            .where(PathwayEventRow.pathway_id == pathway_id)
            .order_by(PathwayEventRow.sequence)  # type: ignore[arg-type]
        )
        return list(rows)


def email_notifications(engine: Engine, pathway_id: str) -> list[Notification]:
    with DbSession(engine) as session:
        return list(
            session.exec(
                select(Notification).where(
                    Notification.pathway_id == pathway_id, Notification.channel == NotificationChannel.EMAIL
                )
            )
        )


def duplicated_notification_keys(engine: Engine) -> list[str]:
    with DbSession(engine) as session:
        rows = session.exec(
            select(Notification.idempotency_key).group_by(Notification.idempotency_key).having(func.count() > 1)
        )
        return list(rows)


# -- a database that goes away: a TCP gate in front of the real server -------------------------------------


class TcpGate:
    """A TCP proxy on loopback in front of a real server (PostgreSQL), run on its own thread. Shut, it drops
    every connection it carries and refuses new ones (connection refused), as a database that is restarted or
    failed over does; opened again, on the same port, connections go through once more."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-gate", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpGate:
        self._thread.start()
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def open(self) -> None:
        self._call(self._open())

    def shut(self) -> None:
        self._call(self._shut())

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._carry, "127.0.0.1", self.port, reuse_address=True)

    async def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _carry(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()
                self._writers.discard(writer)

        await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))
