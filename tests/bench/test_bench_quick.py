"""`python -m bench --quick` end to end, so the benchmark code cannot rot. Speed is not asserted here:
the figures belong to docs/BENCHMARKS.md, written by `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import TITLES

pytestmark = pytest.mark.slow


def test_quick_benchmark_writes_a_report_with_all_six_figures(tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(report), "--workdir", str(tmp_path / "run")],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Figure")]
    for number, title in TITLES.items():
        assert f"## {number}. {title}" in text
        # Every figure has at least one measured row with both sides and a verdict.
        measured = [row for row in rows if row.startswith(f"| {number}. ")]
        assert measured, f"no row for figure {number}"
        assert all("not measured" not in row for row in measured), measured
    assert "Temporal CLI / dev server" in text
    assert "- Mode: quick" in text
    assert "- Code: commit " in text
    # No staff request may end in a server error, even at small sizes.
    failed = [row for row in rows if "failed with a server error" in row]
    assert len(failed) == 1 and "| 0 |" in failed[0] and "| pass |" in failed[0], failed
