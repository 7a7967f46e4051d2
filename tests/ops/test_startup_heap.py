"""The API keeps its start-up heap out of the cyclic collector, so a full collection in a request walks
only what requests built (a fresh process: in the test process another app may have frozen it first)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from core.db import migrate_to_head

STARTED_API = textwrap.dedent(
    """
    import asyncio, gc
    from api.app import create_app

    async def main() -> None:
        app = create_app()
        before = gc.get_freeze_count()
        async with app.router.lifespan_context(app):
            print(before, gc.get_freeze_count())

    asyncio.run(main())
    """
)


def test_a_started_api_has_its_start_up_heap_frozen(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'pathways.db'}"
    migrate_to_head(database_url)
    env = {**os.environ, "PATHWAYS_DATABASE_URL": database_url, "PATHWAYS_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", STARTED_API], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    before, frozen = (int(value) for value in result.stdout.split())
    assert before == 0
    # The modules, schemas and the app: hundreds of thousands of objects the collector no longer walks.
    assert frozen > 100_000, frozen
