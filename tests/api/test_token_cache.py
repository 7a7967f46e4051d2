"""The API's token cache: a checked token is trusted for `token_cache_seconds`, then checked again, so a
token revoked in the database stops working within that time (and at once with the cache off)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from api.app import create_app
from api.security import hash_token
from api.services.staff import StaffMember
from api.services.token_cache import TokenCache
from core.settings import Settings
from models.tables import ApiToken, StaffRole
from tests.support.fixtures import Org, serving


def _revoke(sqlite_engine: Engine, token: str) -> None:
    with Session(sqlite_engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
        row.revoked_at = datetime.now(UTC)
        session.add(row)
        session.commit()


async def _status(http: httpx.AsyncClient, token: str) -> int:
    return (await http.get("/me/caseload", headers={"Authorization": f"Bearer {token}"})).status_code


@pytest.mark.parametrize("ttl", [0.0, 1.0])
async def test_a_token_revoked_in_the_database_stops_working_within_the_cache_time(
    client: Client, settings: Settings, sqlite_engine: Engine, org: Org, ttl: float
) -> None:
    app = create_app(
        settings.model_copy(update={"token_cache_seconds": ttl}), temporal_client=client, engine=sqlite_engine
    )
    async with serving(app) as http:
        assert await _status(http, org.nurse.token) == 200
        _revoke(sqlite_engine, org.nurse.token)
        revoked_at = asyncio.get_running_loop().time()

        status = await _status(http, org.nurse.token)
        if asyncio.get_running_loop().time() - revoked_at < ttl:
            assert status == 200  # still trusted from the cache
        if ttl == 0:
            assert status == 401
        await asyncio.sleep(ttl)
        assert await _status(http, org.nurse.token) == 401
        # Other staff are unaffected.
        assert await _status(http, org.social_worker.token) == 200


async def test_a_wrong_token_is_never_cached_and_always_refused(
    client: Client, settings: Settings, sqlite_engine: Engine, org: Org
) -> None:
    app = create_app(settings, temporal_client=client, engine=sqlite_engine)
    async with serving(app) as http:
        for _ in range(3):
            response = await http.get("/me/caseload", headers={"Authorization": "Bearer not-a-token"})
            assert response.status_code == 401
            assert "unknown, revoked or belongs to an inactive staff member" in response.json()["detail"]


def _member(staff_id: str) -> StaffMember:
    return StaffMember(staff_id=staff_id, display_name=staff_id, role=StaffRole.PROFESSIONAL, teams=frozenset({"t"}))


def test_cache_entries_expire_and_the_oldest_go_first_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("api.services.token_cache.time.monotonic", lambda: now[0])
    cache = TokenCache(ttl_seconds=30, max_entries=2)
    cache.put("a", _member("a"))
    cache.put("b", _member("b"))
    cache.put("c", _member("c"))
    assert cache.get("a") is None  # evicted: the cache holds two
    assert cache.get("b") == _member("b")
    now[0] += 30
    assert cache.get("b") is None and cache.get("c") is None  # expired


def test_a_zero_cache_time_keeps_nothing() -> None:
    cache = TokenCache(ttl_seconds=0)
    cache.put("a", _member("a"))
    assert cache.get("a") is None
