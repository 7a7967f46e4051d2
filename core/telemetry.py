"""The Temporal runtime of a worker process: Prometheus metrics, and core logs in the process's log format."""

from __future__ import annotations

import socket

from temporalio.runtime import (
    LoggingConfig,
    LoggingFormat,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from core.settings import Settings


def port_in_use(host: str, port: int) -> bool:
    """True if something already listens on host:port (a clear message beats a bind traceback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def build_runtime(settings: Settings) -> Runtime:
    """A runtime whose core logs follow `log_format` (JSON lines too) and, when
    `worker_metrics_port` is set, that serves Prometheus metrics on it.

    Raises SystemExit with a readable message when the metrics port is taken.
    """
    metrics: PrometheusConfig | None = None
    if settings.worker_metrics_port is not None:
        if port_in_use(settings.ops_bind_host, settings.worker_metrics_port):
            raise SystemExit(
                f"metrics port {settings.worker_metrics_port} on {settings.ops_bind_host} is already in use: "
                "stop what runs there or set PATHWAYS_WORKER_METRICS_PORT"
            )
        metrics = PrometheusConfig(bind_address=f"{settings.ops_bind_host}:{settings.worker_metrics_port}")
    # Core writes its own log lines as JSON to stderr. Forwarding them into Python logging instead would
    # call into the interpreter from core's threads, which crashed the process at exit when Temporal had
    # gone away (core was still logging poll errors while Python finalized).
    core_logging = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        format=LoggingFormat.JSON if settings.log_format == "json" else LoggingFormat.COMPACT,
    )
    return Runtime(telemetry=TelemetryConfig(logging=core_logging, metrics=metrics))
