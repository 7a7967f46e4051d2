"""The rooms of the code and the way their imports run: down only, never in a circle.

From the ground up: `core/` (infrastructure) and `models/` (the contract); the pure rooms that use only
those (`workflows/`, `interop/`, `reports/`, `client/`, `migrations/`); `records/` (the record in the database);
`activities/` and `api/` (side effects and HTTP); `worker.py` and `web/` (the worker, and the HTTP app with
the staff pages); `ops/` (the entry points); `bench/`.
A module imports from its own room or from a room below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOOR = {
    "core": 0,
    "models": 0,
    "workflows": 1,
    "interop": 1,
    "reports": 1,
    "client": 1,
    "migrations": 1,
    "records": 2,
    "activities": 3,
    "api": 3,
    "worker": 4,
    "web": 4,
    "ops": 5,
    "bench": 6,
}
# Rooms on the same floor that must not lean on each other either.
APART = {frozenset({"core", "models"}), frozenset({"activities", "api"}), frozenset({"worker", "web"})}


def _modules() -> list[Path]:
    files = [ROOT / "worker.py"]
    for room in FLOOR:
        if (ROOT / room).is_dir():
            files += sorted((ROOT / room).rglob("*.py"))
    return files


def _room_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0].removesuffix(".py")


def _imported_rooms(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(FLOOR)


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_imports_run_down_only(path: Path) -> None:
    room = _room_of(path)
    for imported in _imported_rooms(path) - {room}:
        assert FLOOR[imported] <= FLOOR[room], f"{room}/ imports {imported}/, which stands above it"
        assert frozenset({room, imported}) not in APART, f"{room}/ and {imported}/ stand apart"
        if FLOOR[imported] == FLOOR[room]:
            pytest.fail(f"{room}/ imports {imported}/ on its own floor")


def test_workflow_code_imports_no_side_effect_room() -> None:
    """Workflow modules run in the sandbox and replay for years: models and their own room only."""
    for path in sorted((ROOT / "workflows").rglob("*.py")):
        if path.name == "client.py":
            continue  # the workflows' client half, used by callers outside the sandbox
        assert _imported_rooms(path) <= {"workflows", "models"}, (
            f"{path.relative_to(ROOT)} imports {_imported_rooms(path)}"
        )
