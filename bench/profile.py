"""`python -m bench.profile [--requests N] [--output FILE]`: where the API's requests spend their time.

The real app runs in this process over ASGI (the same settings, database and Temporal server as the
benchmark's uvicorn process, a worker serving it), under pyinstrument in async mode: time spent awaiting
Temporal or a database thread is attributed to the line that awaits it. One request at a time, then the
same with 20 at once, for intake, a follow-up, a pathway read and the caseload. The caseload is the
benchmark's: 200 open pathways of one professional (their records filed by the product's store; the
caseload reads only the database), so its profile is of the size figure 3 measures.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pyinstrument import Profiler

from api.app import create_app
from bench.__main__ import open_population
from bench.harness import bounded
from bench.population import file_records, in_services
from bench.stack import TEAM, Deployment, professional_id, running_stack
from bench.staff import NOTE, auth
from models.pathway import PathwayPolicy

# Figure 3's caseload: one professional's open pathways.
CASELOAD_SIZE = 200
CASELOAD_OWNER = professional_id(49)


def file_caseload(deployment: Deployment) -> None:
    """The records of CASELOAD_OWNER's caseload, without workflows (the caseload reads only the database)."""
    soon = datetime.now(UTC) + timedelta(days=20)
    built = [
        in_services(
            f"caseload-{index:05d}",
            TEAM,
            CASELOAD_OWNER,
            reminder_at=soon + timedelta(minutes=index),
            policy=PathwayPolicy(),
        )
        for index in range(CASELOAD_SIZE)
    ]
    file_records(deployment.engine, deployment.sealer, built)


async def profile(deployment: Deployment, requests: int, output: Path) -> None:
    population, _ = await open_population(deployment, 400, "profiled")
    await asyncio.to_thread(file_caseload, deployment)
    app = create_app(deployment.settings)
    sections: list[str] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api.profile", params={"purpose": "client_work"}
        ) as http:

            async def intake(index: int) -> httpx.Response:
                body = {
                    "client_reference": f"profiled{uuid.uuid4().hex[:12]}",
                    "team": TEAM,
                    "referral_source": "self_referral",
                    "reason": "Profiled intake",
                }
                return await http.post(
                    "/pathways", json=body, headers=auth(deployment, population[index % 50].case_manager)
                )

            async def follow_up(index: int) -> httpx.Response:
                target = population[index % len(population)]
                body = {"channel": "phone", "note": NOTE}
                return await http.post(
                    f"/pathways/{target.pathway_id}/follow-ups",
                    json=body,
                    headers=auth(deployment, target.case_manager),
                )

            async def read(index: int) -> httpx.Response:
                target = population[index % len(population)]
                return await http.get(f"/pathways/{target.pathway_id}", headers=auth(deployment, target.case_manager))

            async def caseload(index: int) -> httpx.Response:
                return await http.get("/me/caseload", headers=auth(deployment, CASELOAD_OWNER))

            calls: list[tuple[str, Callable[[int], Awaitable[httpx.Response]]]] = [
                ("POST /pathways (intake)", intake),
                ("POST /pathways/{id}/follow-ups", follow_up),
                ("GET /pathways/{id}", read),
                ("GET /me/caseload", caseload),
            ]
            for name, call in calls:
                for concurrency in (1, 20):
                    await call(0)  # warm-up: first-request imports and caches are not the steady state
                    profiler = Profiler(interval=0.0005, async_mode="enabled")
                    profiler.start()

                    async def checked(
                        index: int, call: Callable[[int], Awaitable[httpx.Response]] = call, name: str = name
                    ) -> None:
                        response = await call(index + 1)
                        if response.status_code >= 300:
                            raise RuntimeError(f"{name}: {response.status_code} {response.text}")

                    await bounded(requests, concurrency, checked)
                    profiler.stop()
                    sections.append(f"## {name}, {requests} requests, {concurrency} at a time\n\n")
                    sections.append(profiler.output_text(unicode=False, color=False, show_all=False))
    await asyncio.to_thread(output.write_text, "\n".join(sections))


async def run(requests: int, output: Path, workdir: Path) -> None:
    async with (
        running_stack(workdir) as stack,
        stack.deployment("sqlite", f"sqlite:///{workdir / 'bench.db'}") as sqlite,
    ):
        await profile(sqlite, requests, output)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--output", type=Path, default=Path("var/api-profile.txt"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    asyncio.run(run(args.requests, args.output, Path(tempfile.mkdtemp(prefix="bench-profile-"))))
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
