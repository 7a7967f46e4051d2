"""`make run`: the Temporal dev server with its Web UI, and the worker, in one terminal.

Ctrl-C stops the worker first, then the server, and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys

from core.db import migrate_to_head
from core.dev_server import dev_server_command
from core.settings import Settings, get_settings
from worker import run_worker

log = logging.getLogger("pathways.run")


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


async def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not _port_in_use(host, port):
        if process.poll() is not None:
            raise SystemExit(f"the Temporal dev server exited with code {process.returncode}")
        if loop.time() > deadline:
            raise SystemExit(f"the Temporal dev server did not open port {port} within {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def run(settings: Settings) -> None:
    for port in (settings.dev_server_port, settings.dev_server_ui_port):
        if _port_in_use(settings.dev_server_ip, port):
            raise SystemExit(
                f"port {port} is already in use: stop what runs there or set "
                "PATHWAYS_DEV_SERVER_PORT / PATHWAYS_DEV_SERVER_UI_PORT"
            )
    server = subprocess.Popen(dev_server_command(settings))  # noqa: S603, ASYNC220 (our binary; returns at once)
    try:
        await _wait_for_port(settings.dev_server_ip, settings.dev_server_port, server)
        log.info("Temporal Web UI: http://localhost:%d", settings.dev_server_ui_port)
        # `make run` brings the database schema up to date before the worker checks it (db area).
        await asyncio.to_thread(migrate_to_head, settings.effective_database_url)
        await run_worker(settings)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
