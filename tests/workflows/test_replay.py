"""Saved histories of every pathway shape must keep replaying: pathways run for years.

A failure here means a change would break pathways already running in production. Guard the change
with `workflow.patched(...)` (see README, "Changing workflow code"); never edit or delete these files.

Each history replays twice: in the worker's runner, and in the SDK's strict sandbox, which reloads the
workflow module and refuses non-deterministic calls (`datetime.now()`, `random`, ...) written in it.
The worker's runner passes modules through for speed and would not notice such a call.

`v1`-`v4` histories are of the version-4 workflow (type `PathwayWorkflow`, `workflows.legacy`), `v5` and `v6`
of the current one (type `Pathway`; `v5` before safe transitions, without their patch marker, `v6` with it,
`v7` with deadlines recorded in their own task by a local activity, `v8` with staff actions filed from their
answers by the caller, as the staff API does, `v9` begun with every change in force, so without patch markers);
the replayer picks the class by the history's workflow type, as a worker does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.temporal import data_converter, strict_workflow_runner, workflow_runner
from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories").glob("*.json"))


def test_histories_cover_every_recorded_scenario_of_both_workflows() -> None:
    scenarios = {"health_check_to_employment", "specialist_assessment_with_team_review", "no_need"}
    with_transitions = scenarios | {"safe_transitions"}
    for version, expected in (
        ("v4", scenarios),
        ("v5", scenarios),
        ("v6", with_transitions),
        ("v7", with_transitions),
        ("v8", with_transitions),
        ("v9", with_transitions),
    ):
        names = {path.name.split("-")[1] for path in HISTORIES if path.name.startswith(f"{version}-")}
        assert expected <= names, version


RUNNERS = {"worker": workflow_runner, "strict": strict_workflow_runner}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("history_file", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_saved_history_replays_on_current_code(history_file: Path, runner: str) -> None:
    history_json = json.loads(history_file.read_text())  # noqa: ASYNC240 (a small local file)
    history = WorkflowHistory.from_json(f"replay-{history_file.stem}", history_json)
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter(), workflow_runner=RUNNERS[runner]())
    # Raises on any nondeterminism.
    await replayer.replay_workflow(history)
