"""The real app over ASGI, a real Temporal dev server and worker, and a SQLite file database per test.

Every test gets its own team id, so listings answered from Temporal visibility (shared by the whole
session) see only that test's pathways.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from activities.delivery import Delivery
from activities.sql_store import SqlEffectStore
from ops.admin import add_staff, add_team
from api.app import create_app, prepare_database
from core.db import build_engine, migrate_to_head
from core.settings import Settings
from models.pathway import Language
from models.tables import StaffRole
from worker import build_worker


@dataclass(frozen=True)
class Staff:
    staff_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Org:
    """Who works where in one test: a team with a coordinator and two professionals, and an outsider."""

    team: str
    other_team: str
    admin: Staff
    coordinator: Staff
    nurse: Staff
    social_worker: Staff
    outsider: Staff
    other_coordinator: Staff


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    migrate_to_head(url)
    engine = build_engine(url)
    prepare_database(engine)
    yield engine
    engine.dispose()


def _staff(engine: Engine, staff_id: str, role: StaffRole, teams: list[str]) -> Staff:
    token = add_staff(
        engine,
        staff_id=staff_id,
        display_name=staff_id.replace(".", " ").title(),
        role=role,
        teams=teams,
        language=Language.FI,
        email=None,
    )
    return Staff(staff_id, token)


@pytest.fixture
def org(engine: Engine) -> Org:
    suffix = uuid.uuid4().hex[:8]
    team, other_team = f"team-{suffix}", f"other-{suffix}"
    add_team(engine, team_id=team, name="Eura work-ability team")
    add_team(engine, team_id=other_team, name="Pori work-ability team")
    return Org(
        team=team,
        other_team=other_team,
        admin=_staff(engine, f"admin.{suffix}", StaffRole.ADMIN, []),
        coordinator=_staff(engine, f"coordinator.{suffix}", StaffRole.COORDINATOR, [team]),
        nurse=_staff(engine, f"nurse.{suffix}", StaffRole.PROFESSIONAL, [team]),
        social_worker=_staff(engine, f"socialworker.{suffix}", StaffRole.PROFESSIONAL, [team]),
        outsider=_staff(engine, f"outsider.{suffix}", StaffRole.PROFESSIONAL, [other_team]),
        other_coordinator=_staff(engine, f"othercoord.{suffix}", StaffRole.COORDINATOR, [other_team]),
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, behind an httpx client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            yield http


@pytest.fixture
def settings(tmp_path: Path, task_queue: str) -> Settings:
    return Settings(task_queue=task_queue, var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'api.db'}")


@pytest.fixture
async def api(client: Client, task_queue: str, settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The API over the real dev server, with the production worker (database effect store) on this
    test's task queue and database."""
    app = create_app(settings, temporal_client=client, engine=engine)
    store = SqlEffectStore(engine, Delivery.from_settings(settings))
    async with build_worker(client, settings, store), serving(app) as http:
        yield http
