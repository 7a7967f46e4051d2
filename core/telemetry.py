"""The Temporal runtime of a worker process: Prometheus metrics and core logs through Python logging."""

from __future__ import annotations

import logging
import socket

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
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
    """A runtime whose core logs go through Python logging (so they are JSON too) and, when
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
    core_logging = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core"), append_target_to_name=False),
    )
    return Runtime(telemetry=TelemetryConfig(logging=core_logging, metrics=metrics))
