"""Database engine and sessions, built by the process that needs them (never at import time).

SQLite file under `var/` is the embedded default; PostgreSQL (psycopg 3) when `PATHWAYS_DATABASE_URL`
or `DATABASE_URL` says so. The schema comes from Alembic migrations (`migrations/`): `make migrate`
(`python -m core.db migrate`) upgrades it, and the worker and API refuse to start on an outdated one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, make_url
from sqlmodel import Session, create_engine

from core.settings import get_settings

T = TypeVar("T")


def build_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        # No bound on connections: a thread that waits for a pooled connection held by a request that waits for a
        # thread is stuck until the pool's timeout (fifty staff at once did that with 5 + 10). A SQLite
        # connection is a file handle; the single writer is what bounds concurrency.
        engine = create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30}, max_overflow=-1)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # type: ignore[no-untyped-def]
            # WAL lets the API read while the worker writes; foreign keys are off by default in SQLite.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: nothing is lost when a process
            # crashes, only the last commits on a power cut. Each staff request commits its audit line, so
            # a sync per commit would bound requests per second by the disk (production runs PostgreSQL).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


class WriteQueue:
    """Where a process runs its write transactions, off the event loop.

    SQLite has one writer at a time, and a writer that finds the lock taken sleeps in SQLite's busy handler
    (1, 2, 5, ... up to 100 ms between tries) however soon the lock is free: twenty concurrent filings in one
    worker took about 60 ms each that way, and about 10 ms queued in the process on one thread, which hands
    the lock on at once. So on SQLite a process's writes queue on one thread. PostgreSQL locks rows, and a
    waiting writer wakes as soon as the row is free: there writes run side by side on asyncio's threads.
    """

    def __init__(self, engine: Engine) -> None:
        self._one_writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
            if engine.dialect.name == "sqlite"
            else None
        )

    @property
    def one_writer(self) -> bool:
        """Writes run one at a time, so those that arrive meanwhile can go together in the next transaction."""
        return self._one_writer is not None

    async def run(self, function: Callable[..., T], *args: object) -> T:
        if self._one_writer is None:
            return await asyncio.to_thread(function, *args)
        # As asyncio.to_thread does: the call sees the caller's context variables.
        call = functools.partial(contextvars.copy_context().run, function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._one_writer, call)


# -- schema migrations (Alembic) ------------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATE_COMMAND = "`make migrate` (or `python -m core.db migrate`)"


class OutdatedSchemaError(RuntimeError):
    """The database schema is not the one this code was written for; the process must not start."""

    def __init__(self, found: Sequence[str], expected: Sequence[str]) -> None:
        self.found = tuple(found)
        self.expected = tuple(expected)
        found_text = ", ".join(self.found) or "none (empty database)"
        expected_text = ", ".join(self.expected)
        super().__init__(
            f"database schema is at revision {found_text}, but this code expects revision {expected_text}; "
            f"run {MIGRATE_COMMAND} with the same DATABASE_URL to upgrade it"
        )


# The revisions of the builds before release 1.0.0, squashed into its baseline. Nothing before 1.0 ran in
# production: such a database (a developer's `var/`) is not upgraded but refused, with the way to start afresh.
PRE_RELEASE_REVISIONS = frozenset({"0001", "0002", "0003", "0004", "0005", "0006"})


class PreReleaseDatabaseError(OutdatedSchemaError):
    """The database was made by a build before release 1.0.0; it cannot be upgraded."""

    def __init__(self, found: Sequence[str], expected: Sequence[str]) -> None:
        super().__init__(found, expected)
        self.args = (
            f"this database was made by a build before release 1.0.0 (schema revision {', '.join(found)}) and "
            "cannot be upgraded. Start afresh: for `make run`, stop it and remove var/ (`make clean`); "
            "otherwise point DATABASE_URL at a new, empty database and run `make migrate`",
        )

    def __str__(self) -> str:
        return str(self.args[0])


def alembic_config(database_url: str) -> Config:
    """Alembic configuration for this project, usable from any working directory."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # An attribute, not a main option: configparser would choke on '%' in URL-encoded query strings.
    config.attributes["database_url"] = database_url
    # Called from a process (tests, the worker): leave its logging set-up alone.
    config.attributes["configure_logging"] = False
    return config


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def migrate_to_head(database_url: str) -> None:
    """Upgrade the database to the newest schema revision (creates the SQLite file if needed); refuses a
    database made before release 1.0.0 (`PreReleaseDatabaseError`)."""
    _ensure_sqlite_directory(database_url)
    engine = build_engine(database_url)
    try:
        found = current_revisions(engine)
    finally:
        engine.dispose()
    if PRE_RELEASE_REVISIONS & set(found):
        raise PreReleaseDatabaseError(found, expected_revisions())
    command.upgrade(alembic_config(database_url), "head")


def expected_revisions() -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory.from_config(alembic_config("")).get_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    url = engine.url
    sqlite_file = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if sqlite_file and not Path(sqlite_file).exists():
        # Report a missing file as an empty database instead of failing to open it (or creating it).
        return ()
    with engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def check_schema_current(engine: Engine) -> None:
    """Raise `OutdatedSchemaError` unless the database is at the head revision of `migrations/`."""
    found = current_revisions(engine)
    expected = expected_revisions()
    if PRE_RELEASE_REVISIONS & set(found):
        raise PreReleaseDatabaseError(found, expected)
    if found != expected:
        raise OutdatedSchemaError(found, expected)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.db", description="Database schema tools.")
    parser.add_argument("action", choices=["migrate", "check"], help="migrate: upgrade to head; check: verify it")
    args = parser.parse_args(argv)
    database_url = get_settings().effective_database_url
    # The URL may carry a password: show only where it points.
    where = make_url(database_url).render_as_string(hide_password=True)
    if args.action == "migrate":
        try:
            migrate_to_head(database_url)
        except PreReleaseDatabaseError as err:
            raise SystemExit(str(err)) from None
        print(f"database {where} is at revision {', '.join(expected_revisions())}")
        return
    engine = build_engine(database_url)
    try:
        check_schema_current(engine)
    except OutdatedSchemaError as err:
        raise SystemExit(str(err)) from None
    finally:
        engine.dispose()
    print(f"database {where} is current")


if __name__ == "__main__":
    main()
