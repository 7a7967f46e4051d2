"""What an update answers: the pathway view, never the timeline; and answers stored by older code still read.

A retried request with the same Idempotency-Key gets the update's first answer back from the history, so
an answer stored before the view existed (the whole state) must still decode as a view.
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory

from core.temporal import data_converter
from models.pathway import PathwayState, PathwayView

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _update_answers(history_file: Path) -> list[Payload]:
    history = WorkflowHistory.from_json("answers", json.loads(history_file.read_text()))
    return [
        event.workflow_execution_update_completed_event_attributes.outcome.success.payloads[0]
        for event in history.events
        if event.HasField("workflow_execution_update_completed_event_attributes")
    ]


async def test_answers_stored_by_older_code_decode_as_the_view() -> None:
    converter = data_converter()
    old_answers = [payload for path in sorted(HISTORIES.glob("v2-*.json")) for payload in _update_answers(path)]
    assert len(old_answers) > 10
    for payload in old_answers:
        (whole,) = await converter.decode([payload], [PathwayState])
        (view,) = await converter.decode([payload], [PathwayView])
        assert whole.events, "older code answered the whole state, timeline included"
        assert isinstance(view, PathwayView)
        assert view.model_dump() == whole.view().model_dump()


def test_view_is_the_state_without_timeline_and_bookkeeping() -> None:
    assert set(PathwayState.model_fields) - set(PathwayView.model_fields) == {
        "events",
        "fired_deadline_keys",
        "recorded_event_sequence",
    }
