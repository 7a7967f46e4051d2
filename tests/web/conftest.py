"""The staff web app's fixture: the real app over ASGI beside a real worker and dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from core.settings import Settings
from web.app import create_app


@pytest.fixture
async def web(
    client: Client, settings: Settings, sqlite_engine: Engine, worker: object
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, temporal_client=client, engine=sqlite_engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test", follow_redirects=False) as http:
            yield http
