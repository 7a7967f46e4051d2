"""`load_events` on real databases: a SQLite file, and PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from core.db import build_engine
from models.events import EventKind
from models.tables import PathwayEventRow
from records.store import cohort_events
from reports.outcomes import outcome_report

from .dataset import Truth, generate
from .expected import cohort, expected_figures
from .test_outcome_report import PERIOD_FROM, PERIOD_TO, SEED, assert_matches, records_copy

COUNT = 150


def _late_registered_referral() -> tuple[PathwayEventRow, Truth]:
    """Referred an hour before the period ends, registered a day after it."""
    referred_at = PERIOD_TO - timedelta(hours=1)
    truth = Truth("pathway-client-late0001", "eura-team", referred_at, "self_referral", None)
    row = PathwayEventRow(
        pathway_id=truth.pathway_id,
        sequence=1,
        team=truth.team,
        at=PERIOD_TO + timedelta(days=1),
        actor="coordinator.aalto",
        kind=EventKind.REFERRAL_RECEIVED.value,
        summary="referral",
        stage="awaiting_triage",
        details={
            "referral_source": "self_referral",
            "referring_organisation": "",
            "referred_at": referred_at.isoformat(),
        },
    )
    return row, truth


def _fill(engine: Engine) -> list[Truth]:
    SQLModel.metadata.create_all(engine, tables=[PathwayEventRow.__table__])  # type: ignore[attr-defined]
    rows, truths = generate(SEED, COUNT)
    late_row, late_truth = _late_registered_referral()
    with Session(engine) as session:
        session.add_all([*records_copy(rows), late_row])
        session.commit()
    return [*truths, late_truth]


def _check_round_trip(engine: Engine) -> None:
    truths = _fill(engine)
    expected = expected_figures(cohort(truths, "eura-team", PERIOD_FROM, PERIOD_TO))
    with Session(engine) as session:
        loaded = cohort_events(session, ["eura-team"], PERIOD_FROM)
        report = outcome_report(loaded, team="eura-team", period_from=PERIOD_FROM, period_to=PERIOD_TO)
        assert {row.team for row in loaded} == {"eura-team"}
        assert "pathway-client-late0001" in {row.pathway_id for row in loaded}
        assert_matches(report, expected)

        both = cohort_events(session, ["eura-team", "pori-team"], None)
        assert_matches(outcome_report(both), expected_figures(truths))
        assert [(r.pathway_id, r.sequence) for r in both] == sorted((r.pathway_id, r.sequence) for r in both)

        nobody = cohort_events(session, ["no-such-team"], None)
        assert nobody == []


def test_cohort_events_from_a_sqlite_file_gives_the_expected_report(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'reports.db'}")
    try:
        _check_round_trip(engine)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TEST_POSTGRES_URL is not set: the PostgreSQL run of the outcome report is skipped")
    # A schema of our own, so other tests sharing the database never see or clash with these rows.
    schema = f"reports_{uuid.uuid4().hex[:12]}"
    admin = build_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = build_engine(url).execution_options(schema_translate_map={None: schema})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_cohort_events_from_postgresql_gives_the_expected_report(postgres_engine: Engine) -> None:
    _check_round_trip(postgres_engine)
