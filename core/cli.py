"""`python -m core.cli`: the product's pieces, one command each. The container image runs these too.

Configuration comes from the environment (`PATHWAYS_*`, see `core/settings.py`), never from options,
so a process started by hand, by compose or by Kubernetes reads it the same way. Each command is a
thin wrapper: it loads the settings once (the callback), then calls the function that does the work.
More commands (`api`, `migrate`, `staff add`, `demo`) slot in as further `@app.command`s or, for a
group like `staff`, a sub-app added with `app.add_typer(staff_app, name="staff")`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import NoReturn

import typer
from pydantic import ValidationError

from core.settings import Settings, get_settings

app = typer.Typer(
    name="pathways",
    help="Work-ability pathway orchestrator. Configure with PATHWAYS_* environment variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@app.callback()
def load_settings(ctx: typer.Context) -> None:
    """Read the configuration once for whichever command runs; a bad value stops here with its name."""
    if ctx.resilient_parsing:
        return
    try:
        ctx.obj = get_settings()
    except ValidationError as err:
        problems = "; ".join(
            f"PATHWAYS_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}" for error in err.errors()
        )
        typer.echo(f"invalid configuration: {problems}", err=True)
        raise typer.Exit(code=2) from None


@app.command("dev-server")
def dev_server(ctx: typer.Context) -> None:
    """Run the Temporal dev server with its Web UI, persisting under PATHWAYS_VAR_DIR.

    Ports: PATHWAYS_DEV_SERVER_PORT (gRPC), PATHWAYS_DEV_SERVER_UI_PORT (Web UI), on PATHWAYS_DEV_SERVER_IP.
    """
    from core.dev_server import dev_server_command
    from core.telemetry import port_in_use

    settings = _settings(ctx)
    for port, variable in (
        (settings.dev_server_port, "PATHWAYS_DEV_SERVER_PORT"),
        (settings.dev_server_ui_port, "PATHWAYS_DEV_SERVER_UI_PORT"),
    ):
        if port_in_use(settings.dev_server_ip, port):
            typer.echo(f"port {port} is already in use: stop what runs there or set {variable}", err=True)
            raise typer.Exit(code=1)
    command = dev_server_command(settings)
    # The server replaces this process: signals (Ctrl-C, SIGTERM) reach it directly, nothing is left behind.
    os.execv(command[0], command)  # noqa: S606 (our own binary from the venv)


@app.command("worker")
def worker(ctx: typer.Context) -> None:
    """Run a worker on PATHWAYS_TASK_QUEUE against PATHWAYS_TEMPORAL_ADDRESS until SIGTERM/SIGINT.

    Concurrency: PATHWAYS_MAX_CONCURRENT_ACTIVITIES, PATHWAYS_MAX_CONCURRENT_WORKFLOW_TASKS.
    Health: PATHWAYS_WORKER_HEALTH_PORT (/healthz, /livez). Metrics: PATHWAYS_WORKER_METRICS_PORT (/metrics).
    Logs: PATHWAYS_LOG_FORMAT=json|text, PATHWAYS_LOG_LEVEL.
    """
    from core.db import OutdatedSchemaError
    from core.logs import configure_logging
    from worker import run_worker

    settings = _settings(ctx)
    configure_logging(settings)
    code = 0
    try:
        asyncio.run(run_worker(settings))
    except OutdatedSchemaError as err:
        typer.echo(f"worker not started: {err}", err=True)
        code = 2
    except KeyboardInterrupt:
        # Ctrl-C before the worker's own signal handlers are in place (while connecting): nothing to drain.
        code = 130
    except SystemExit as stop:
        # A readable reason (busy port, unreachable Temporal) instead of a traceback.
        if isinstance(stop.code, str):
            typer.echo(stop.code, err=True)
        code = stop.code if isinstance(stop.code, int) else 1
    except Exception:
        # One JSON line with the traceback; non-zero so a supervisor restarts us.
        logging.getLogger("pathways.worker").exception("Worker failed")
        code = 1
    _exit_without_finalizing(code)


def _exit_without_finalizing(code: int) -> NoReturn:
    """Exit once the worker has drained, without interpreter finalization.

    The SDK's Rust threads can still release Python objects while the interpreter finalizes, which aborts
    the process with "PyGILState_Release ... finalizing" (temporalio/sdk-python#300); seen here after
    Temporal went away. Everything worth keeping is done by now, so flush and leave.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
