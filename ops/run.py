"""`make run`: the whole product in one terminal, for a newcomer and for demos.

A small supervisor. It starts, each as a `python -m ops.cli ...` child process with its output
prefixed by its name: the Temporal dev server (persisting under PATHWAYS_VAR_DIR, Web UI, search
attributes), the database migration, the worker and the API, then seeds the demo data on first start.
Children get their own process group, so Ctrl-C in the terminal reaches only this supervisor, which
stops them in reverse order (API, worker, dev server), each with a bounded wait, and leaves nothing
behind. The worker and the API always talk to the embedded server, whatever PATHWAYS_TEMPORAL_ADDRESS says.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from core.codec import new_key_entry
from core.settings import Settings, get_settings
from core.telemetry import port_in_use

T = TypeVar("T")

DEV_SERVER_START_SECONDS = 60.0
API_READY_SECONDS = 90.0
# The demo seed waits on the worker; its own timeout (ops.demo) is shorter than this.
DEMO_SECONDS = 180.0
API_STOP_SECONDS = 15.0
DEV_SERVER_STOP_SECONDS = 15.0
NAME_WIDTH = 10
# A worker or API that dies is started again after 1 s, then 2, 4 ... at most 30 s between tries; a child
# that ran for a minute starts the count afresh.
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_RESET_AFTER = 60.0


class Stopped(Exception):
    """Ctrl-C / SIGTERM arrived, or a component failed: shut down what runs."""

    def __init__(self, code: int) -> None:
        self.code = code


def say(name: str, line: str) -> None:
    sys.stdout.write(f"{name:<{NAME_WIDTH}}| {line}\n")
    sys.stdout.flush()


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover (not Linux)
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover (runs in the child between fork and exec)
    # Linux: should the supervisor itself be killed (SIGKILL), its children get SIGTERM instead of lingering.
    with contextlib.suppress(AttributeError):
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def connect_host(ip: str) -> str:
    """Where to reach a server listening on `ip` (a wildcard address is reached on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(ip, ip)  # noqa: S104 (we connect, not bind)


def child_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    # The embedded server's address, not PATHWAYS_TEMPORAL_ADDRESS: ports may have been moved.
    env["PATHWAYS_TEMPORAL_ADDRESS"] = f"{connect_host(settings.dev_server_ip)}:{settings.dev_server_port}"
    env["PYTHONUNBUFFERED"] = "1"
    # Readable lines in a terminal unless asked otherwise (PATHWAYS_LOG_FORMAT=json make run).
    env.setdefault("PATHWAYS_LOG_FORMAT", "text")
    # The demo's closed pathways are erased soon after they close, so the record's life can be watched;
    # real records keep the 12-year default.
    env.setdefault("PATHWAYS_DEMO_RECORD_RETENTION", "PT30M")
    env.setdefault("PATHWAYS_RECORD_RETENTION_CHECK", "PT1M")
    # Sign in without an identity provider, as one of the demo staff (a page that says it is for development).
    if not env.get("PATHWAYS_OIDC_ISSUER"):
        env.setdefault("PATHWAYS_DEV_SIGN_IN", "true")
    env.setdefault("PATHWAYS_PUBLIC_URL", f"http://localhost:{settings.api_port}")
    # The Web UI (its proxy, ops/ui_proxy.py) calls the API's codec endpoint from the browser with the session.
    env.setdefault("PATHWAYS_CODEC_CORS_ORIGINS", f"http://localhost:{settings.dev_server_ui_port}")
    if not env.get("PATHWAYS_DEV_SERVER_UI_INTERNAL_PORT"):
        env["PATHWAYS_DEV_SERVER_UI_INTERNAL_PORT"] = str(free_port(settings.dev_server_ip))
    if not env.get("PATHWAYS_ENCRYPTION_KEYS"):
        # Encrypted out of the box: notes never lie in plain text in var/, Temporal's database included.
        key_id, key = local_encryption_key(settings.var_dir)
        env["PATHWAYS_ENCRYPTION_KEYS"] = f"{key_id}:{key}"
        env["PATHWAYS_ENCRYPTION_ACTIVE_KEY"] = key_id
    if not env.get("PATHWAYS_PARTNER_LINK_SECRETS"):
        # Partners' referral links work out of the box, signed with a secret kept beside the key.
        env["PATHWAYS_PARTNER_LINK_SECRETS"] = local_partner_link_secret(settings.var_dir)
    return env


def free_port(ip: str) -> int:
    with socket.socket() as sock:
        sock.bind((connect_host(ip), 0))
        port: int = sock.getsockname()[1]
        return port


LOCAL_KEY_FILE = "encryption.key"
LOCAL_KEY_ID = "local1"


def local_encryption_key(var_dir: Path) -> tuple[str, str]:
    """The key `make run` encrypts with: made on the first start into var/ (mode 600, never committed: var/
    is in .gitignore), the same on every later start so earlier pathways stay readable."""
    path = var_dir / LOCAL_KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        entry = new_key_entry(LOCAL_KEY_ID)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(entry + "\n")
    key_id, _, key = path.read_text().strip().partition(":")
    return key_id, key


LOCAL_PARTNER_LINK_SECRET_FILE = "partner-links.secret"  # noqa: S105 (a file name, not a secret)


def local_partner_link_secret(var_dir: Path) -> str:
    """The secret `make run` signs partners' referral links with: made once into var/ (mode 600), so links
    already sent keep working after a restart."""
    path = var_dir / LOCAL_PARTNER_LINK_SECRET_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def adopt_local_secrets(settings: Settings, environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Put the keys `make run` keeps in var/ into `environ` where the configuration (the environment or .env)
    names none, as `make run` gives them to its pieces: a worker or an API started by hand beside it then
    decrypts what the others encrypt. Makes nothing new; returns the variables it set."""
    var_dir = settings.var_dir
    adopted: list[str] = []
    key_file = var_dir / LOCAL_KEY_FILE
    if not settings.encryption_keys.get_secret_value() and key_file.exists():
        key_id, key = local_encryption_key(var_dir)
        environ["PATHWAYS_ENCRYPTION_KEYS"] = f"{key_id}:{key}"
        environ["PATHWAYS_ENCRYPTION_ACTIVE_KEY"] = key_id
        adopted += ["PATHWAYS_ENCRYPTION_KEYS", "PATHWAYS_ENCRYPTION_ACTIVE_KEY"]
    if not settings.partner_link_secrets.get_secret_value() and (var_dir / LOCAL_PARTNER_LINK_SECRET_FILE).exists():
        environ["PATHWAYS_PARTNER_LINK_SECRETS"] = local_partner_link_secret(var_dir)
        adopted.append("PATHWAYS_PARTNER_LINK_SECRETS")
    return adopted


def busy_ports(settings: Settings) -> list[str]:
    """One line per configured port something else already listens on, naming the variable that moves it."""
    ports = [
        (settings.dev_server_ip, settings.dev_server_port, "PATHWAYS_DEV_SERVER_PORT"),
        (settings.dev_server_ip, settings.dev_server_ui_port, "PATHWAYS_DEV_SERVER_UI_PORT"),
        (settings.api_host, settings.api_port, "PATHWAYS_API_PORT"),
    ]
    if settings.worker_health_port is not None:
        ports.append((settings.ops_bind_host, settings.worker_health_port, "PATHWAYS_WORKER_HEALTH_PORT"))
    if settings.worker_metrics_port is not None:
        ports.append((settings.ops_bind_host, settings.worker_metrics_port, "PATHWAYS_WORKER_METRICS_PORT"))
    return [
        f"port {port} is already in use: stop what runs there or set {variable}"
        for host, port, variable in ports
        if port_in_use(host, port)
    ]


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    stop_signal: signal.Signals
    stop_seconds: float
    command: str = ""
    restart: bool = False
    relayed: bool = True
    output: list[str] = field(default_factory=list)
    relay: asyncio.Task[None] | None = None
    started_at: float = 0.0
    restarts: int = 0
    # The dev server's shutdown chatter (its internal workers losing their connection) is noise.
    quiet_when_stopping: bool = False
    stopping: bool = False


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = child_environment(settings)
        self.children: list[Child] = []
        self.stop = asyncio.Event()
        self.stop_code = 0
        self.demo: Child | None = None
        self.guards: list[asyncio.Task[None]] = []
        self.banner_shown = False

    # -- children --------------------------------------------------------------------------------

    async def spawn(
        self,
        name: str,
        command: str,
        *,
        # SIGTERM: a graceful stop for uvicorn, the worker and Temporal alike, and a quiet end (no
        # KeyboardInterrupt traceback) for a child still importing when Ctrl-C comes.
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_seconds: float = 15.0,
        relay: bool = True,
        essential: bool = True,
        restart: bool = False,
    ) -> Child:
        """Start `python -m ops.cli <command>`. An essential child that ends by itself stops everything, unless
        it is one to `restart`: then it is started again after a back-off."""
        process = await self._process(command)
        child = Child(name, process, stop_signal, stop_seconds, command=command, restart=restart, relayed=relay)
        child.started_at = asyncio.get_running_loop().time()
        child.relay = asyncio.create_task(self._relay(child, show=relay))
        if essential:
            self.guards.append(asyncio.create_task(self._guard(child)))
        self.children.append(child)
        return child

    async def _process(self, command: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ops.cli",
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            # Our own process group: the terminal's Ctrl-C reaches only the supervisor, which stops the
            # children in order.
            process_group=0,
            preexec_fn=_die_with_parent,
        )

    async def _guard(self, child: Child) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_FIRST_DELAY
        while True:
            code = await child.process.wait()
            if child.stopping or self.stop.is_set():
                return
            # Exit code 2 is a configuration or schema the child refused: starting it again cannot help.
            if not child.restart or code == 2:
                self.request_stop(self.failed(child, f"exited with code {code}"))
                return
            if child.relay is not None:
                await child.relay
            if loop.time() - child.started_at > RESTART_RESET_AFTER:
                delay = RESTART_FIRST_DELAY
            child.restarts += 1
            say("run", f"{child.name} exited with code {code}; restarting it in {delay:g} s (restart {child.restarts})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            if self.stop.is_set():
                return
            child.process = await self._process(child.command)
            child.started_at = loop.time()
            child.relay = asyncio.create_task(self._relay(child, show=child.relayed))
            say("run", f"{child.name} started again")
            delay = min(delay * 2, RESTART_MAX_DELAY)

    async def _relay(self, child: Child, *, show: bool) -> None:
        assert child.process.stdout is not None
        async for raw in child.process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            child.output.append(line)
            if show and not (child.stopping and child.quiet_when_stopping):
                say(child.name, line)

    async def finished(self, child: Child) -> int:
        code = await child.process.wait()
        if child.relay is not None:
            await child.relay
        return code

    async def stop_child(self, child: Child) -> None:
        process = child.process
        child.stopping = True
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(child.stop_signal)
            try:
                await asyncio.wait_for(process.wait(), child.stop_seconds)
            except TimeoutError:
                say("run", f"{child.name} did not stop within {child.stop_seconds:.0f}s; killing it")
        # Whatever the child left in its process group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        if child.relay is not None:
            await child.relay

    async def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.process.returncode is None:
                say("run", f"stopping {child.name}")
            await self.stop_child(child)

    # -- waiting, interrupted by Ctrl-C ------------------------------------------------------------

    async def until_stopped(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` unless a stop request comes first (or came already: then nothing more starts)."""
        task = asyncio.ensure_future(awaitable)
        stop = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if self.stop.is_set():
            task.cancel()
            # Whatever the step came to (done, failed, cancelled) no longer matters: everything stops.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise Stopped(self.stop_code)
        return task.result()

    def request_stop(self, code: int = 0) -> None:
        if not self.stop.is_set():
            self.stop_code = code
            self.stop.set()

    # -- start-up steps ----------------------------------------------------------------------------

    async def wait_for_port(self, child: Child, host: str, port: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not port_in_use(host, port):
            if loop.time() > deadline:
                raise Stopped(self.failed(child, f"did not open port {port} within {seconds:.0f}s"))
            await asyncio.sleep(0.2)

    async def wait_for_ready(self, child: Child, url: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not await asyncio.to_thread(_answers_200, url):
            if loop.time() > deadline:
                raise Stopped(self.failed(child, f"was not ready at {url} within {seconds:.0f}s"))
            await asyncio.sleep(0.5)

    def failed(self, child: Child, what: str) -> int:
        say("run", f"{child.name} {what}; stopping everything")
        return 1

    async def run_to_end(self, name: str, command: str, seconds: float, *, relay: bool = True) -> Child:
        """A one-off step (migrate, demo); its failure stops start-up."""
        child = await self.spawn(name, command, relay=relay, essential=False)
        if name == "demo":
            self.demo = child
        try:
            code = await self.until_stopped(asyncio.wait_for(self.finished(child), seconds))
        except TimeoutError:
            raise Stopped(self.failed(child, f"did not finish within {seconds:.0f}s")) from None
        if code != 0:
            raise Stopped(self.failed(child, f"failed with code {code}"))
        return child

    async def start(self) -> str:
        """Everything up; returns the demo seed's report for the closing banner."""
        settings = self.settings
        dev_server = await self.spawn(
            "temporal", "dev-server", stop_signal=signal.SIGTERM, stop_seconds=DEV_SERVER_STOP_SECONDS
        )
        dev_server.quiet_when_stopping = True
        await self.until_stopped(
            self.wait_for_port(dev_server, settings.dev_server_ip, settings.dev_server_port, DEV_SERVER_START_SECONDS)
        )
        # The Web UI on its public port, through the proxy that lets it send the signed-in session to the codec.
        await self.spawn("ui", "ui-proxy", stop_seconds=API_STOP_SECONDS, restart=True)
        await self.run_to_end("migrate", "migrate", 120.0)
        # A worker or an API that dies is started again (pathways wait in Temporal meanwhile; the API's clients
        # get their answer from the next process).
        await self.spawn("worker", "worker", stop_seconds=settings.graceful_shutdown_seconds + 15, restart=True)
        api = await self.spawn("api", "api", stop_seconds=API_STOP_SECONDS, restart=True)
        api_url = f"http://{connect_host(settings.api_host)}:{settings.api_port}"
        await self.until_stopped(self.wait_for_ready(api, f"{api_url}/readyz", API_READY_SECONDS))
        # The demo's output is the token block: shown once, in the closing banner, not interleaved.
        demo = await self.run_to_end("demo", "demo", DEMO_SECONDS, relay=False)
        return "\n".join(demo.output)

    def banner(self, demo_report: str) -> None:
        settings = self.settings
        api = f"http://localhost:{settings.api_port}"
        lines = [
            "",
            "Work-ability pathways are running:",
            f"  Staff web app    {api}/app/  (sign in as a demo staff member: development sign-in, not for production)",
            f"  Temporal Web UI  http://localhost:{settings.dev_server_ui_port}  (sign in on the web app first)",
            f"  API              {api}",
            f"  API docs         {api}/docs",
            f"  Data             {settings.var_dir}/ (Temporal and the database; delete it to start afresh)",
            "",
            *demo_report.splitlines(),
            "",
            "Ctrl-C stops everything.",
        ]
        for line in lines:
            say("run", line)
        self.banner_shown = True

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            try:
                self.banner(await self.start())
                # Until Ctrl-C / SIGTERM, or until an essential child ends by itself (its guard asks to stop).
                await self.stop.wait()
            except Stopped as stopped:
                self.stop_code = self.stop_code or stopped.code
        finally:
            await self.stop_all()
            if self.demo is not None and not self.banner_shown:
                # Start-up did not get as far as the banner: tokens already issued must not be lost.
                for line in self.demo.output:
                    say("demo", line)
        say("run", "stopped" if self.stop_code == 0 else "stopped after a failure")
        return self.stop_code


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http://localhost URL)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    try:
        settings = get_settings()
    except ValidationError as err:
        problems = "; ".join(
            f"PATHWAYS_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}" for error in err.errors()
        )
        print(f"invalid configuration: {problems}", file=sys.stderr)
        sys.exit(2)
    busy = busy_ports(settings)
    if busy:
        for line in busy:
            print(line, file=sys.stderr)
        sys.exit(1)
    sys.exit(asyncio.run(Supervisor(settings).run()))


if __name__ == "__main__":
    main()
