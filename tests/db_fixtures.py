"""Shared database, SMTP and webhook fixtures (db area). Import the fixtures you need into a conftest.py.

Every database test runs twice: on a SQLite file under tmp_path and on PostgreSQL. PostgreSQL comes from
`TEST_POSTGRES_URL` (skipped with a visible reason when unset); each test gets its own schema
(`CREATE SCHEMA` + `options=-csearch_path=...`), dropped afterwards, because other runs share the database.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, create_engine, make_url, text

from core.db import build_engine, migrate_to_head, session_scope
from core.settings import Settings
from models.pathway import Language
from models.tables import Staff, StaffRole, StaffTeam, Team

POSTGRES_ENV = "TEST_POSTGRES_URL"


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


def _url_with_search_path(base_url: str, schema: str) -> str:
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pathways.db'}"
        return
    base_url = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _url_with_search_path(base_url, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head."""
    migrate_to_head(database_url)
    engine = build_engine(database_url)
    yield engine
    engine.dispose()


def add_team(
    engine: Engine, team_id: str, *, webhook_url: str | None = None, webhook_secret: str | None = None
) -> None:
    with session_scope(engine) as session:
        session.add(Team(team_id=team_id, name=team_id, webhook_url=webhook_url, webhook_secret=webhook_secret))


def add_staff(
    engine: Engine,
    staff_id: str,
    team_id: str,
    *,
    role: StaffRole = StaffRole.PROFESSIONAL,
    language: Language = Language.FI,
    email: str | None = None,
    active: bool = True,
) -> None:
    with session_scope(engine) as session:
        session.add(
            Staff(staff_id=staff_id, display_name=staff_id, role=role, language=language, email=email, active=active)
        )
        session.flush()
        session.add(StaffTeam(staff_id=staff_id, team_id=team_id))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- a real SMTP server on loopback ---------------------------------------------------------------------


@dataclass
class SmtpInbox:
    """What the test SMTP server received; addresses in `refused` get a permanent 550 at RCPT."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    def settings(self) -> Settings:
        return Settings(
            smtp_enabled=True,
            smtp_host="127.0.0.1",
            smtp_port=self.port,
            smtp_security="none",
            smtp_from_address="pathways@example.org",
            smtp_timeout_seconds=5,
        )


class _RecordingHandler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self._inbox = inbox

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self._inbox.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, _class=EmailMessage, policy=policy.default)
        self._inbox.messages.append(message)
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


# -- a real HTTP receiver for webhooks -------------------------------------------------------------------


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
