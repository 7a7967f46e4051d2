"""Server-Timing's database share counts statements and commits, so `app` is the API's own work only."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from api import timing
from core.db import build_engine


def test_a_commit_counts_as_database_time_not_as_the_apis_own(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'timing.db'}")
    timing.time_database(engine)
    request = timing.RequestTiming()
    token = timing._current.set(request)
    try:
        with Session(engine) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
            after_statements = request.database
            assert after_statements > 0
            session.commit()
        assert request.database > after_statements, "the commit's time went to the database share"
    finally:
        timing._current.reset(token)
        engine.dispose()


def test_outside_a_request_nothing_is_counted(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'timing.db'}")
    timing.time_database(engine)
    with Session(engine) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.commit()  # no request timing in this context: must not fail
    engine.dispose()
