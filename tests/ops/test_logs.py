"""JSON log lines: one object per line, with the identifiers Temporal's workflow logger attaches."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from core.logs import JsonFormatter


@workflow.defn(sandboxed=False)
class LoggingWorkflow:
    @workflow.run
    async def run(self, note: str) -> None:
        workflow.logger.info("Pathway step done: %s", note)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def json_lines(logger_name: str) -> Iterator[Lines]:
    logger, handler = logging.getLogger(logger_name), Lines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_workflow_log_line_is_one_json_object_with_workflow_id_run_id_and_type(ops_client: Client) -> None:
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    workflow_id = f"logging-{uuid.uuid4().hex[:8]}"
    with json_lines("temporalio.workflow") as captured:
        async with Worker(ops_client, task_queue=queue, workflows=[LoggingWorkflow]):
            handle = await ops_client.start_workflow(LoggingWorkflow.run, "triage", id=workflow_id, task_queue=queue)
            await handle.result()

    [line] = captured.lines
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["workflow_id"] == workflow_id
    assert entry["run_id"] == handle.result_run_id
    assert entry["workflow_type"] == "LoggingWorkflow"
    assert entry["task_queue"] == queue
    assert entry["level"] == "INFO"
    assert entry["logger"] == "temporalio.workflow"
    assert entry["message"].startswith("Pathway step done: triage")


def test_json_log_line_keeps_only_identifiers_from_temporal_context_and_carries_the_traceback() -> None:
    record = logging.LogRecord("pathways.test", logging.ERROR, __file__, 1, "Effect failed", None, None)
    record.temporal_activity = {
        "activity_id": "3",
        "activity_type": "notify_case_manager",
        "workflow_id": "pathway-client-1",
        "workflow_run_id": "run-1",
        "heartbeat_details": ["anything the activity carried"],
    }
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()

    entry = json.loads(JsonFormatter().format(record))

    assert entry["activity_type"] == "notify_case_manager"
    assert entry["run_id"] == "run-1"
    assert "heartbeat_details" not in entry
    assert "anything the activity carried" not in json.dumps(entry)
    assert "ValueError: boom" in entry["exception"]
