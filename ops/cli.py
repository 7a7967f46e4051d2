"""`python -m ops.cli`: the product's pieces, one command each. The container image runs these too.

Configuration comes from the environment (`PATHWAYS_*`, see `core/settings.py`), never from options,
so a process started by hand, by compose or by Kubernetes reads it the same way. Each command is a
thin wrapper: it loads the settings once (the callback), then calls the function that does the work.
Groups (`staff add`, `team add`) are sub-apps.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import ValidationError

from core.process import exit_without_finalizing
from core.settings import MissingEncryptionKeys, Settings, get_settings
from models.pathway import Language
from models.tables import StaffRole

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")

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
    from ops.run import adopt_local_secrets

    try:
        settings = get_settings()
        # The keys `make run` made in var/, as `make run` gives them to its pieces (the environment wins).
        if adopt_local_secrets(settings, os.environ):
            settings = get_settings()
        ctx.obj = settings
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
    from core.telemetry import port_in_use
    from ops.dev_server import dev_server_command

    settings = _settings(ctx)
    ui_port, ui_variable = (
        (settings.dev_server_ui_internal_port, "PATHWAYS_DEV_SERVER_UI_INTERNAL_PORT")
        if settings.dev_server_ui_internal_port
        else (settings.dev_server_ui_port, "PATHWAYS_DEV_SERVER_UI_PORT")
    )
    for port, variable in ((settings.dev_server_port, "PATHWAYS_DEV_SERVER_PORT"), (ui_port, ui_variable)):
        if port_in_use(settings.dev_server_ip, port):
            typer.echo(f"port {port} is already in use: stop what runs there or set {variable}", err=True)
            raise typer.Exit(code=1)
    command = dev_server_command(settings)
    # The server replaces this process: signals (Ctrl-C, SIGTERM) reach it directly, nothing is left behind.
    os.execv(command[0], command)  # noqa: S606 (our own binary from the venv)


@app.command("ui-proxy")
def ui_proxy(ctx: typer.Context) -> None:
    """Serve the dev server's Web UI on PATHWAYS_DEV_SERVER_UI_PORT, from the embedded UI on
    PATHWAYS_DEV_SERVER_UI_INTERNAL_PORT, so that it decodes payloads for the signed-in staff member."""
    import uvicorn

    from core.logs import configure_logging
    from core.telemetry import port_in_use
    from ops.ui_proxy import create_app

    settings = _settings(ctx)
    if not settings.dev_server_ui_internal_port:
        typer.echo("set PATHWAYS_DEV_SERVER_UI_INTERNAL_PORT: the port the embedded Web UI listens on", err=True)
        raise typer.Exit(code=2)
    if port_in_use(settings.dev_server_ip, settings.dev_server_ui_port):
        typer.echo(
            f"port {settings.dev_server_ui_port} is already in use: stop what runs there or set "
            "PATHWAYS_DEV_SERVER_UI_PORT",
            err=True,
        )
        raise typer.Exit(code=1)
    configure_logging(settings)
    upstream = f"http://127.0.0.1:{settings.dev_server_ui_internal_port}"
    proxy = create_app(upstream, sign_in_url=f"{settings.effective_public_url}/auth/login")
    uvicorn.run(proxy, host=settings.dev_server_ip, port=settings.dev_server_ui_port, log_config=None)


@app.command("worker")
def worker(ctx: typer.Context) -> None:
    """Run a worker on PATHWAYS_TASK_QUEUE against PATHWAYS_TEMPORAL_ADDRESS until SIGTERM/SIGINT.

    Concurrency: PATHWAYS_MAX_CONCURRENT_ACTIVITIES, PATHWAYS_MAX_CONCURRENT_WORKFLOW_TASKS.
    Health: PATHWAYS_WORKER_HEALTH_PORT (/healthz, /livez). Metrics: PATHWAYS_WORKER_METRICS_PORT (/metrics).
    Logs: PATHWAYS_LOG_FORMAT=json|text, PATHWAYS_LOG_LEVEL.
    """
    import worker as worker_process

    worker_process.main(_settings(ctx))


@app.command("api")
def api(ctx: typer.Context) -> None:
    """Run the staff HTTP API (uvicorn) on PATHWAYS_API_HOST:PATHWAYS_API_PORT; docs at /docs.

    Connects to PATHWAYS_TEMPORAL_ADDRESS and the database (PATHWAYS_DATABASE_URL), which must be migrated.
    """
    import uvicorn

    from api.app import engine_for, prepare_database
    from core.db import OutdatedSchemaError
    from core.logs import configure_logging
    from core.telemetry import port_in_use

    settings = _settings(ctx)
    try:
        settings.require_keys("the API")
    except MissingEncryptionKeys as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=2) from None
    if port_in_use(settings.api_host, settings.api_port):
        typer.echo(
            f"port {settings.api_port} is already in use: stop what runs there or set PATHWAYS_API_PORT", err=True
        )
        raise typer.Exit(code=1)
    engine = engine_for(settings)
    try:
        prepare_database(engine)
    except OutdatedSchemaError as err:
        typer.echo(f"API not started: {err}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    configure_logging(settings)
    # log_config=None: uvicorn's loggers go through the root logger, in PATHWAYS_LOG_FORMAT like the rest.
    uvicorn.run("web.app:create_app", factory=True, host=settings.api_host, port=settings.api_port, log_config=None)


@app.command("migrate")
def migrate(ctx: typer.Context) -> None:
    """Upgrade the database to the newest schema.

    PATHWAYS_DATABASE_URL; unset means the SQLite file pathways.db under PATHWAYS_VAR_DIR.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import PreReleaseDatabaseError, expected_revisions, migrate_to_head

    settings = _settings(ctx)
    # The URL may carry a password: show only where it points.
    where = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    try:
        migrate_to_head(settings.effective_database_url)
    except PreReleaseDatabaseError as err:
        typer.echo(f"database {where}: {err}", err=True)
        raise typer.Exit(code=2) from None
    except SQLAlchemyError as err:
        typer.echo(f"database {where} could not be migrated: {err.__class__.__name__}: {err.args[0]}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"database {where} is at revision {', '.join(expected_revisions())}")


records_app = typer.Typer(help="The client records in the database.", no_args_is_help=True)
app.add_typer(records_app, name="records")


@records_app.command("reseal")
def records_reseal(ctx: typer.Context) -> None:
    """Seal every record value again with the active key (PATHWAYS_ENCRYPTION_ACTIVE_KEY).

    Run after making a new key active; afterwards the old key can be dropped from PATHWAYS_ENCRYPTION_KEYS
    (once no open pathway's Temporal history needs it either: see deploy/README.md, key rotation).
    """
    from core.crypto import RecordSealer
    from core.db import session_scope
    from records.store import reseal

    sealer = RecordSealer.from_settings(_settings(ctx))
    if not sealer.encrypting:
        typer.echo("encryption is off (no PATHWAYS_ENCRYPTION_KEYS): nothing to seal", err=True)
        raise typer.Exit(code=2)

    def run(engine: Engine) -> int:
        with session_scope(engine) as session:
            return reseal(session, sealer)

    count = _on_database(ctx, run)
    typer.echo(f"{count} value(s) sealed again with key {sealer.active_key_id}")


staff_app = typer.Typer(help="Staff members and their bearer tokens.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
team_app = typer.Typer(help="Work-ability teams.", no_args_is_help=True)
app.add_typer(team_app, name="team")


def _admin_errors(action: Callable[[], T]) -> T:
    """Run an administration action; its refusal becomes one line on stderr and a non-zero exit."""
    from api.errors import ApiError
    from core.db import OutdatedSchemaError

    try:
        return action()
    except ApiError as err:
        typer.echo(f"error: {err.detail}", err=True)
        raise typer.Exit(code=1) from None
    except OutdatedSchemaError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    except ValidationError as err:
        typer.echo(f"error: {err.errors()[0]['msg']}", err=True)
        raise typer.Exit(code=2) from None


def _on_database(ctx: typer.Context, action: Callable[[Engine], T]) -> T:
    """Run an administration action on the configured (migrated) database; refusals as `_admin_errors`."""
    from api.app import engine_for, prepare_database

    engine = engine_for(_settings(ctx))

    def run() -> T:
        prepare_database(engine)
        return action(engine)

    try:
        return _admin_errors(run)
    finally:
        engine.dispose()


@staff_app.command("add")
def staff_add(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Option(help="lower-case id, e.g. nurse.virtanen; never a client identifier")],
    name: Annotated[str, typer.Option(help="display name")],
    role: Annotated[StaffRole, typer.Option(help="professional, coordinator or admin (service: `service add`)")],
    team: Annotated[list[str] | None, typer.Option(help="team id; repeat for several teams")] = None,
    language: Annotated[Language, typer.Option(help="language of the staff member's notifications")] = Language.FI,
    email: Annotated[str | None, typer.Option(help="address for e-mail notifications")] = None,
    sign_in_subject: Annotated[
        str | None, typer.Option(help="the identity provider's subject (sub) they sign in as; or `staff link` later")
    ] = None,
) -> None:
    """Add a staff member. An administrator's bearer token is printed once (the first administrator's way in);
    people sign in with the identity provider and make their own API tokens in the web app."""
    from ops.admin import add_person, add_staff

    if role is StaffRole.SERVICE:
        typer.echo(
            "a service account is added with `python -m ops.cli service add` (its actions and purpose)", err=True
        )
        raise typer.Exit(code=2)
    lifetime = timedelta(days=_settings(ctx).api_token_days)
    if role is not StaffRole.ADMIN:
        _on_database(
            ctx,
            lambda engine: add_person(
                engine,
                staff_id=staff_id,
                display_name=name,
                role=role,
                teams=team or [],
                language=language,
                email=email,
                sign_in_subject=sign_in_subject,
            ),
        )
        typer.echo(f"staff member {staff_id} added; they sign in, and make their own API tokens (web app: API tokens)")
        return
    token = _on_database(
        ctx,
        lambda engine: add_staff(
            engine,
            staff_id=staff_id,
            display_name=name,
            role=role,
            teams=team or [],
            language=language,
            email=email,
            token_lifetime=lifetime,
        ),
    )
    typer.echo(f"administrator {staff_id} added; bearer token (shown only now, keep it safe):")
    typer.echo(token)


@staff_app.command("token")
def staff_token(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Option(help="the staff member's id")],
    revoke_existing: Annotated[
        bool, typer.Option("--revoke-existing", help="revoke the member's other tokens (a lost or leaked one)")
    ] = False,
) -> None:
    """Issue a new bearer token for an administrator or a service account and print it once (only its hash is
    kept). People make their own in the web app."""
    from ops.admin import issue_token, role_of

    role = _on_database(ctx, lambda engine: role_of(engine, staff_id))
    if role is None:
        typer.echo(f"error: no staff member {staff_id}", err=True)
        raise typer.Exit(code=1)
    if role not in (StaffRole.ADMIN, StaffRole.SERVICE):
        typer.echo(
            f"error: {staff_id} is a person ({role.value}): people make their own API tokens in the web app, and an "
            "administrator can revoke them (POST /staff/{id}/tokens/revoke)",
            err=True,
        )
        raise typer.Exit(code=2)

    lifetime = timedelta(days=_settings(ctx).api_token_days)
    issued = _on_database(
        ctx, lambda engine: issue_token(engine, staff_id=staff_id, revoke_existing=revoke_existing, lifetime=lifetime)
    )
    revoked = "; their other tokens are revoked" if revoke_existing else ""
    typer.echo(
        f"new bearer token for {staff_id}{revoked}, valid until {issued.expires_at:%Y-%m-%d} "
        "(shown only now, keep it safe):"
    )
    typer.echo(issued.token)


service_app = typer.Typer(help="Service accounts: scripts and integrations.", no_args_is_help=True)
app.add_typer(service_app, name="service")


@service_app.command("add")
def service_add(
    ctx: typer.Context,
    service_id: Annotated[str, typer.Option("--id", help="lower-case id, e.g. svc.statistics")],
    name: Annotated[str, typer.Option(help="what it is, e.g. 'Monthly statistics export'")],
    action: Annotated[list[str], typer.Option(help="an action it may use (audit name); repeat for several")],
    purpose: Annotated[
        str, typer.Option(help="why it reads client data: a purpose, e.g. 'reporting: monthly statistics'")
    ],
    team: Annotated[list[str] | None, typer.Option(help="team id; repeat for several teams")] = None,
) -> None:
    """Add a service account with its teams, actions and purpose, and print its bearer token once."""
    from ops.admin import add_service_account

    lifetime = timedelta(days=_settings(ctx).api_token_days)
    try:
        token = _on_database(
            ctx,
            lambda engine: add_service_account(
                engine,
                staff_id=service_id,
                display_name=name,
                teams=team or [],
                actions=action,
                purpose=purpose,
                token_lifetime=lifetime,
            ),
        )
    except ValueError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"service account {service_id} added; bearer token (shown only now, keep it safe):")
    typer.echo(token)


@staff_app.command("link")
def staff_link(
    ctx: typer.Context,
    staff_id: Annotated[str, typer.Option(help="the staff member's id")],
    subject: Annotated[str, typer.Option(help="the identity (sub) their refused sign-in showed")],
) -> None:
    """Link the identity provider's account a staff member signs in as (checked by you, once)."""
    from ops.admin import link_identity

    email = _settings(ctx).smtp_enabled
    _on_database(ctx, lambda engine: link_identity(engine, staff_id=staff_id, subject=subject, email_enabled=email))
    typer.echo(f"staff member {staff_id} can now sign in with that identity; they and their coordinators are told")


@staff_app.command("deactivate")
def staff_deactivate(ctx: typer.Context, staff_id: Annotated[str, typer.Option(help="the staff member's id")]) -> None:
    """Deactivate a staff member who leaves: their tokens are revoked, their history stays."""
    from ops.admin import deactivate_staff

    revoked = _on_database(ctx, lambda engine: deactivate_staff(engine, staff_id=staff_id))
    settings = _settings(ctx)
    typer.echo(
        f"staff member {staff_id} deactivated, {revoked} token(s) revoked; running API processes refuse them "
        f"within {settings.token_cache_seconds:g} s (PATHWAYS_TOKEN_CACHE_SECONDS). Pathways that have them as "
        "case manager need a new one (POST /pathways/{id}/case-manager)."
    )


@team_app.command("add")
def team_add(
    ctx: typer.Context,
    team_id: Annotated[str, typer.Option(help="lower-case id, e.g. eura-worktime")],
    name: Annotated[str, typer.Option(help="the team's name")],
) -> None:
    """Add a work-ability team."""
    from ops.admin import add_team

    _on_database(ctx, lambda engine: add_team(engine, team_id=team_id, name=name))
    typer.echo(f"team {team_id} added")


@app.command("demo")
def demo(ctx: typer.Context) -> None:
    """Add the demo team, its staff (tokens printed once) and demo pathways; does nothing if they exist.

    Needs a running worker (`worker`) and a migrated database.
    """
    from api.app import engine_for, prepare_database
    from core.temporal import connect
    from ops.demo import DEMO_TEAM, add_demo_staff, demo_team_exists, format_tokens, seed_demo_pathways

    settings = _settings(ctx)
    engine = engine_for(settings)

    async def seed() -> str:
        prepare_database(engine)
        if demo_team_exists(engine):
            return (
                f"Demo data already present (team {DEMO_TEAM}); nothing added. Its tokens were shown when it was added."
            )
        client = await connect(settings)
        # The tokens go out before the pathways are seeded: should seeding fail, they are not lost.
        typer.echo(format_tokens(add_demo_staff(engine)))
        pathway_ids = await seed_demo_pathways(client, settings.task_queue)
        return f"Demo pathways: {', '.join(pathway_ids)} (demo data; the UI shows them with DemoData=true)."

    code = 0
    try:
        typer.echo(_admin_errors(lambda: asyncio.run(seed())))
    except typer.Exit as stop:
        code = stop.exit_code
    except TimeoutError:
        typer.echo(
            "demo pathways not finished: no worker answered; start one with `python -m ops.cli worker`", err=True
        )
        code = 1
    except RuntimeError as err:
        # Temporal unreachable: the SDK's connection error says where it tried.
        typer.echo(f"demo not added: {err}", err=True)
        code = 1
    finally:
        engine.dispose()
    exit_without_finalizing(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
