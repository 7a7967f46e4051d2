"""`make run` (its supervisor, `python -m ops.run`) as a subprocess for the tests that use the whole stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.ops.helpers import children_of, free_port

START_SECONDS = 240.0
STOP_SECONDS = 120.0


def run_environment(var_dir: Path, **ports: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_") and k != "DATABASE_URL"}
    env.update(
        PATHWAYS_VAR_DIR=str(var_dir),
        PATHWAYS_DEV_SERVER_IP="127.0.0.1",
        PATHWAYS_API_HOST="127.0.0.1",
        PATHWAYS_DEV_SERVER_PORT=str(ports["dev_server"]),
        PATHWAYS_DEV_SERVER_UI_PORT=str(ports["ui"]),
        PATHWAYS_API_PORT=str(ports["api"]),
        # Nothing listens here: the worker and the API must use the embedded server's address instead.
        PATHWAYS_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
    )
    return env


class MakeRun:
    """`python -m ops.run` as a subprocess, its merged output collected line by line."""

    def __init__(self, clone: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.run"],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = START_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, f"make run exited with {self.process.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"no line with {text!r} within {timeout:.0f}s:\n{self.output}"
            time.sleep(0.5)

    def descendants(self) -> set[int]:
        found: set[int] = set()
        todo = [self.process.pid]
        while todo:
            for child in children_of(todo.pop()):
                found.add(child)
                todo.append(child)
        return found

    def wait(self, timeout: float = STOP_SECONDS) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.wait()

    def kill_if_running(self) -> None:
        if self.process.poll() is None:
            # The children die with it (PR_SET_PDEATHSIG), but give the clean path a chance first.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.wait()
