"""The reference behind a bare HTTP endpoint: `uvicorn bench.reference_api:create_app --factory`.

The same framework, server and options as the product's API, doing what a raw Temporal application must:
start with the same id policies, search attributes and payload, then one database commit; an update,
then one audit commit; a caseload from Temporal's visibility. No authentication, no validation beyond the
body's model, no record: the ratio against it is the product's own overhead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from api.app import size_database_threads
from bench.reference import RAW_WORKFLOW, RawAnswer, RawPathway, RawStart, reference_rows
from core.db import build_engine
from core.process import freeze_startup_heap
from core.settings import Settings, get_settings
from core.temporal import connect
from models.actions import IntakeRequest, RecordFollowUp
from models.pathway import PathwayPolicy
from models.process import PathwayStart
from models.tables import AuditLogEntry
from records.store import insert_ignoring_conflict
from workflows import search_attributes as sa
from workflows.client import status_at_start

BENCH_STAFF = "reference.bench"
MAX_LISTED = 500


def _commit_row(engine: Engine, values: dict[str, Any]) -> None:
    with Session(engine) as session:
        insert_ignoring_conflict(session, reference_rows, values, ["key"])
        session.commit()


def _commit_audit(engine: Engine, workflow_id: str, action: str) -> None:
    with Session(engine) as session:
        session.add(AuditLogEntry(staff_id=BENCH_STAFF, pathway_id=workflow_id, action=action))
        session.commit()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The same thread pool as the product's API: the same option on both sides.
        size_database_threads(settings.api_threads)
        app.state.engine = build_engine(settings.effective_database_url)
        app.state.client = await connect(settings)
        freeze_startup_heap()  # as the product's API does: the same option on both sides
        yield
        app.state.engine.dispose()

    app = FastAPI(title="Raw Temporal reference", lifespan=lifespan)

    @app.post("/raw/pathways", status_code=201)
    async def intake(body: IntakeRequest) -> dict[str, str]:
        client: Client = app.state.client
        workflow_id = f"raw-{body.client_reference}"
        intake = body.intake()
        intake.referred_at = intake.referred_at or datetime.now(UTC)
        policy = PathwayPolicy()
        # The product's start status (its triage deadline next): the search attributes carry it and the first
        # task parks on its timer, as the product's start and first task do.
        status = status_at_start(workflow_id, intake, policy)
        assert status.next_deadline is not None
        await client.start_workflow(
            RAW_WORKFLOW,
            RawStart(
                pathway=PathwayStart(intake=intake, registered_by=BENCH_STAFF, policy=policy),
                first_reminder_at=status.next_deadline.due_at,
                team=intake.team,
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=sa.at_start(status, team=intake.team, demo=False),
            static_summary=f"Raw reference, team {intake.team}",
        )
        values = {
            "key": f"{workflow_id}:intake",
            "workflow_id": workflow_id,
            "kind": "intake",
            "body": None,
            "at": datetime.now(UTC),
        }
        await asyncio.to_thread(_commit_row, app.state.engine, values)
        return {"workflow_id": workflow_id}

    @app.post("/raw/pathways/{workflow_id}/follow-ups")
    async def follow_up(workflow_id: str, body: RecordFollowUp, in_task: bool = False) -> RawAnswer:
        client: Client = app.state.client
        handle: WorkflowHandle[RawPathway, int] = client.get_workflow_handle(workflow_id)
        # `in_task`: the row written inside the update's own task (not durable; figure 2's informative row).
        update = RawPathway.follow_up_in_task if in_task else RawPathway.follow_up
        answer = await handle.execute_update(update, body)
        await asyncio.to_thread(_commit_audit, app.state.engine, workflow_id, "record_follow_up")
        return answer

    @app.get("/raw/caseload")
    async def caseload(case_manager: str, team: Annotated[list[str], Query()]) -> list[dict[str, Any]]:
        client: Client = app.state.client
        teams = ", ".join(f"'{value}'" for value in team)
        query = (
            f"{sa.CASE_MANAGER.name} = '{case_manager}' AND {sa.PATHWAY_TEAM.name} IN ({teams}) "
            "AND ExecutionStatus = 'Running'"
        )
        items = []
        async for execution in client.list_workflows(query, limit=MAX_LISTED, page_size=100):
            attributes = execution.typed_search_attributes
            due = attributes.get(sa.NEXT_DEADLINE)
            items.append(
                {
                    "pathway_id": execution.id,
                    "stage": attributes.get(sa.PATHWAY_STAGE),
                    "case_manager": attributes.get(sa.CASE_MANAGER),
                    "team": attributes.get(sa.PATHWAY_TEAM),
                    "overdue": attributes.get(sa.PATHWAY_OVERDUE),
                    "next_deadline": due.isoformat() if due else None,
                    "next_deadline_kind": attributes.get(sa.NEXT_DEADLINE_KIND),
                }
            )
        return items

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app
