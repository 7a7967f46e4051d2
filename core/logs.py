"""Process logging: one JSON object per line for operations, or readable text for a terminal.

Temporal's workflow and activity loggers attach their context to each record (`temporal_workflow`,
`temporal_activity`). Only identifiers are copied from it (workflow id, run id, types, attempt): never
inputs, results or heartbeat details, so no client data reaches the logs through the context.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

from core.settings import Settings

# What a log line may carry from Temporal's context; everything else stays out.
_WORKFLOW_KEYS = (
    "workflow_id",
    "run_id",
    "workflow_type",
    "namespace",
    "task_queue",
    "attempt",
    "update_id",
    "update_name",
)
_ACTIVITY_KEYS = {
    "activity_id": "activity_id",
    "activity_type": "activity_type",
    "attempt": "attempt",
    "namespace": "namespace",
    "task_queue": "task_queue",
    "workflow_id": "workflow_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with Temporal's workflow/activity identifiers as top-level fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        workflow_context = getattr(record, "temporal_workflow", None)
        if isinstance(workflow_context, dict):
            entry.update({key: workflow_context[key] for key in _WORKFLOW_KEYS if key in workflow_context})
        activity_context = getattr(record, "temporal_activity", None)
        if isinstance(activity_context, dict):
            entry.update(
                {field: activity_context[key] for key, field in _ACTIVITY_KEYS.items() if key in activity_context}
            )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# A partner's signed link is a bearer credential for one referral, and a client's feedback link one for an
# answer on the client's pathway: the access log keeps their paths, not them.
_PARTNER_LINK = re.compile(r"(/partner/referrals/|/feedback/)[^/?\s\"]+")


class RedactPartnerLinks(logging.Filter):
    """Takes the link tokens out of uvicorn's access log lines (`GET /partner/referrals/<token>`,
    `GET /feedback/<token>`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_PARTNER_LINK.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _PARTNER_LINK.sub(r"\1…", record.msg)
        return True


def configure_logging(settings: Settings) -> None:
    """Set up the root logger of this process once, as `settings.log_format` says."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
        # The context goes into fields; repeating it as a dict in the message would only add noise.
        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    handler.addFilter(RedactPartnerLinks())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
