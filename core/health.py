"""A tiny HTTP health endpoint for the worker (standard library only).

- `GET /healthz`: 200 while the worker polls and Temporal answers its health check, 503 otherwise
  (also while shutting down). Readiness: tells an orchestrator this worker does useful work.
- `GET /livez`: 200 while the worker polls, whether or not Temporal answers. Liveness: a Temporal
  outage must not make Kubernetes restart every worker, the SDK reconnects on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("pathways.health")

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


@dataclass
class HealthChecks:
    worker_running: Callable[[], bool]
    temporal_reachable: Callable[[], Awaitable[bool]]


class HealthServer:
    def __init__(self, checks: HealthChecks, host: str, port: int) -> None:
        self._checks = checks
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._handle, self._host, self._port)
        except OSError as err:
            raise SystemExit(
                f"health port {self._port} on {self._host} is not available ({err.strerror}): "
                "stop what runs there or set PATHWAYS_WORKER_HEALTH_PORT"
            ) from None
        log.info("Health check on http://%s:%d/healthz", self._host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _status(self, path: str) -> tuple[int, dict[str, object]]:
        running = self._checks.worker_running()
        if path == "/livez":
            return (200 if running else 503), {"worker_running": running}
        reachable = await self._checks.temporal_reachable() if running else False
        healthy = running and reachable
        return (200 if healthy else 503), {"worker_running": running, "temporal_reachable": reachable}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            # Headers are read and ignored: the answer depends on the path alone.
            while await asyncio.wait_for(reader.readline(), timeout=5) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            body: dict[str, object]
            if path not in ("/healthz", "/livez"):
                status, body = 404, {"error": "unknown path; use /healthz or /livez"}
            elif method not in ("GET", "HEAD"):
                status, body = 405, {"error": "use GET"}
            else:
                status, body = await self._status(path)
            payload = json.dumps(body).encode()
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (b"" if method == "HEAD" else payload))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
