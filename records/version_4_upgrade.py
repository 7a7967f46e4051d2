"""Version-4 pathways into the record schema: the running ones move their record themselves when asked, the
closed ones are imported from their workflow's result (their final state) while Temporal still keeps it.

Run by every worker at start-up (`PATHWAYS_MOVE_V4_RECORDS_ON_START`) and by
`python -m ops.cli pathways move-records`; both are idempotent, so several workers doing it at once is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from core.crypto import RecordSealer
from core.db import session_scope
from models.tables import PathwayRow, ProcessVersion
from records.legacy_v4 import move_v4_state
from workflows.client import LEGACY_WORKFLOW_NAME, request_record_move, running_v4_pathways
from workflows.legacy import contract_v4 as v4

log = logging.getLogger("pathways.upgrade")


@dataclass
class UpgradeReport:
    asked_to_move: int = 0
    imported: int = 0
    failed: int = 0


async def move_version_4_records(client: Client, engine: Engine, sealer: RecordSealer) -> UpgradeReport:
    report = UpgradeReport()
    try:
        async for pathway_id in running_v4_pathways(client):
            try:
                await request_record_move(client, pathway_id)
                report.asked_to_move += 1
            except (RPCError, WorkflowUpdateFailedError) as err:
                report.failed += 1
                log.warning("Version-4 pathway %s could not be asked to move its record: %s", pathway_id, err)
        query = f"WorkflowType = '{LEGACY_WORKFLOW_NAME}' AND ExecutionStatus = 'Completed'"
        async for execution in client.list_workflows(query):
            if not await asyncio.to_thread(_needs_import, engine, execution.id):
                continue
            try:
                handle = client.get_workflow_handle(execution.id, run_id=execution.run_id, result_type=v4.PathwayState)
                state = await handle.result()
                await asyncio.to_thread(_import, engine, sealer, state)
                report.imported += 1
            except (RPCError, ValueError) as err:
                report.failed += 1
                log.warning("Closed version-4 pathway %s could not be imported: %s", execution.id, err)
    except RPCError as err:
        log.warning("Could not list version-4 pathways: %s", err)
    if report.asked_to_move or report.imported:
        log.info(
            "Version-4 pathways: %d asked to move their record, %d closed records imported",
            report.asked_to_move,
            report.imported,
        )
    return report


def _needs_import(engine: Engine, pathway_id: str) -> bool:
    with Session(engine) as session:
        row = session.get(PathwayRow, pathway_id)
        return row is None or (row.process_version is ProcessVersion.V4 and row.record is None)


def _import(engine: Engine, sealer: RecordSealer, state: v4.PathwayState) -> None:
    with session_scope(engine) as session:
        move_v4_state(session, sealer, state)
