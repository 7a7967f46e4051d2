"""Saved histories of every pathway shape must keep replaying: pathways run for years.

A failure here means a change would break pathways already running in production. Guard the change
with `workflow.patched(...)` (docs/architecture.md, "Versioning"); never edit or delete these files.

Each history replays twice: in the worker's runner, and in the SDK's strict sandbox, which reloads the
workflow module and refuses non-deterministic calls (`datetime.now()`, `random`, ...) written in it.
The worker's runner passes modules through for speed and would not notice such a call.

Files are named `<release>-<scenario>-<start>.json`: the histories recorded by each release since 1.0.0
(`python -m tests.workflows.record_histories <release>`). Nothing before 1.0.0 ever ran in production.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.temporal import data_converter, strict_workflow_runner, workflow_runner
from tests.workflows.record_histories import SCENARIOS
from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories").glob("*.json"))


def test_every_release_recorded_every_scenario_of_its_time_and_the_first_is_1_0_0() -> None:
    """Each release recorded every scenario the recorder had then: a later release's set includes every
    earlier scenario (none dropped), and the newest release recorded every scenario there is now."""
    releases: dict[str, set[str]] = {}
    for path in HISTORIES:
        release, scenario, _ = path.name.split("-", 2)
        releases.setdefault(release, set()).add(scenario)
    assert "1.0.0" in releases
    ordered = sorted(releases, key=lambda release: tuple(int(part) for part in release.split(".")))
    for earlier, later in itertools.pairwise(ordered):
        assert releases[earlier] <= releases[later], f"{later} dropped {releases[earlier] - releases[later]}"
    assert releases[ordered[-1]] == set(SCENARIOS), ordered[-1]


RUNNERS = {"worker": workflow_runner, "strict": strict_workflow_runner}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("history_file", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_saved_history_replays_on_current_code(history_file: Path, runner: str) -> None:
    history_json = json.loads(history_file.read_text())  # noqa: ASYNC240 (a small local file)
    history = WorkflowHistory.from_json(f"replay-{history_file.stem}", history_json)
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter(), workflow_runner=RUNNERS[runner]())
    # Raises on any nondeterminism.
    await replayer.replay_workflow(history)
