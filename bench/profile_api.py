"""`python -m bench --quick --profile-api FILE`: where an intake, a follow-up and a caseload spend their time.

The real app runs in this process over ASGI (same settings, database and server as the uvicorn process),
one request at a time under pyinstrument in async mode, so time spent awaiting Temporal or a database
thread is attributed to the line that awaits it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from pyinstrument import Profiler

from api.app import create_app
from bench.stack import PATHWAY_TASK_QUEUE, TEAM, Stack, professional_id
from core.settings import Settings

REQUESTS = 30


async def profile_api(stack: Stack, pathway_ids: list[str], output: Path) -> None:
    settings = Settings(
        temporal_address=stack.address,
        task_queue=PATHWAY_TASK_QUEUE,
        database_url=stack.database_url,
        var_dir=stack.workdir,
    )
    app = create_app(settings)
    staff_id = professional_id(0)
    headers = {"Authorization": f"Bearer {stack.tokens[staff_id]}"}
    coordinator = {"Authorization": f"Bearer {stack.tokens['coordinator.bench']}"}
    sections: list[str] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.bench", headers=headers) as http:

            async def intake() -> httpx.Response:
                body = {
                    "client_reference": f"profiled{uuid.uuid4().hex[:12]}",
                    "team": TEAM,
                    "referral_source": "self_referral",
                    "reason": "Profiled intake",
                }
                return await http.post("/pathways", json=body)

            async def follow_up() -> httpx.Response:
                body = {"channel": "phone", "note": "Profiled follow-up"}
                return await http.post(f"/pathways/{pathway_ids[0]}/follow-ups", json=body)

            async def caseload() -> httpx.Response:
                return await http.get("/me/caseload")

            async def filtered() -> httpx.Response:
                # Figure 3's filtered list: as the coordinator, one case manager's pathways in services.
                params: dict[str, str | int] = {"stage": "in_services", "case_manager": staff_id, "page_size": 50}
                return await http.get("/pathways", params=params, headers=coordinator)

            calls: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
                ("POST /pathways (intake)", intake),
                ("POST /pathways/{id}/follow-ups", follow_up),
                ("GET /me/caseload", caseload),
                ("GET /pathways?stage&case_manager (first page of 50)", filtered),
            ]
            for name, call in calls:
                await call()  # warm-up: first-request imports and caches are not the steady state
                profiler = Profiler(interval=0.0005, async_mode="enabled")
                profiler.start()
                for _ in range(REQUESTS):
                    response = await call()
                    if response.status_code >= 300:
                        raise RuntimeError(f"{name}: {response.status_code} {response.text}")
                profiler.stop()
                sections.append(f"## {name}, {REQUESTS} requests one at a time\n\n")
                sections.append(profiler.output_text(unicode=False, color=False, show_all=False))
    await asyncio.to_thread(output.write_text, "\n".join(sections))
