"""The worker's fast runner, and why the saved histories are also replayed in the strict sandbox.

The worker's runner also enters the sandbox with code compiled once (`CompiledOnceSandbox`), and reads a
payload's serialization context from the workflow instance without entering it, through hooks on the SDK's
private sandbox instance: the first two tests here fail when an SDK upgrade takes a hook away or changes what
the context read answers.

`workflow_runner()` passes every module through, the workflow module included, so a machine-clock read
written in workflow code goes unnoticed while the workflow runs. The strict sandbox refuses it on replay:
this is the check that tests/workflows/test_replay.py applies to every saved pathway history.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any, cast

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import ActivitySerializationContext, DataConverter, WorkflowSerializationContext
from temporalio.worker import Replayer, Worker

from core import temporal
from core.codec import WORKFLOW_ID_METADATA, EncryptionCodec
from core.settings import Settings
from core.temporal import ContextBoundDataConverter, data_converter, strict_workflow_runner, workflow_runner
from tests.workflows.clock_reading import ClockReadingWorkflow
from tests.workflows.payload_contexts import PayloadContextsWorkflow, echo


async def test_the_worker_runner_enters_the_sandbox_with_code_compiled_once(client: Client) -> None:
    assert temporal._sandbox_instance_class() is not None, "this temporalio has no `_Instance._run_code` to hook"
    queue = f"runner-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ClockReadingWorkflow], workflow_runner=workflow_runner()):

        async def run_one() -> None:
            handle = await client.start_workflow(ClockReadingWorkflow.run, id=f"clock-{uuid.uuid4()}", task_queue=queue)
            assert await handle.result()

        await run_one()
        warm = temporal._compiled.cache_info()
        await run_one()
        after = temporal._compiled.cache_info()
    # The second workflow was built (two entries) and activated (at least one) in the sandbox, all with code
    # compiled for the first: nothing compiled again.
    assert after.hits - warm.hits >= 3
    assert after.misses == warm.misses


async def test_payload_contexts_are_read_without_entering_the_sandbox_and_are_the_sandboxed_answers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every context the worker's runner answers is the one the stock sandbox answers for the same payload, and
    the payloads the workflow wrote are bound to it by the codec (an activity's included)."""
    instance_class = temporal._sandbox_instance_class()
    assert instance_class is not None
    stock: Any = cast(type, instance_class).__mro__[1]
    answers: list[tuple[str, Any, Any]] = []
    entries = 0

    def checked(kind: str) -> Any:
        ours = getattr(instance_class, kind)

        def answer(self: Any, command_info: Any) -> Any:
            nonlocal entries
            direct = ours(self, command_info)
            answers.append((kind, direct, getattr(stock, kind)(self, command_info)))
            entries -= 1  # the stock answer just asked for entered the sandbox; ours did not
            return direct

        return answer

    enter = stock._run_code

    def counted(self: Any, code: Any, **extra_globals: Any) -> None:
        nonlocal entries
        entries += 1
        enter(self, code, **extra_globals)

    for kind in ("get_serialization_context", "get_external_store_context"):
        monkeypatch.setattr(instance_class, kind, checked(kind))
    config: Any = client.config()
    config["data_converter"] = _encrypting_converter()
    encrypted = Client(**config)
    assert isinstance(encrypted.data_converter, ContextBoundDataConverter)
    queue = f"runner-{uuid.uuid4().hex[:8]}"
    workflow_id = f"contexts-{uuid.uuid4()}"
    async with Worker(
        encrypted,
        task_queue=queue,
        workflows=[PayloadContextsWorkflow],
        activities=[echo],
        workflow_runner=workflow_runner(),
    ):
        monkeypatch.setattr(stock, "_run_code", counted)
        result = await encrypted.execute_workflow(
            PayloadContextsWorkflow.run, "hello", id=workflow_id, task_queue=queue
        )
    assert result == ["hello", "hello"]

    assert answers and all(direct == sandboxed for _, direct, sandboxed in answers), answers
    contexts = [direct for kind, direct, _ in answers if kind == "get_serialization_context"]
    assert any(isinstance(context, ActivitySerializationContext) and not context.is_local for context in contexts)
    assert any(isinstance(context, ActivitySerializationContext) and context.is_local for context in contexts)
    assert any(isinstance(context, WorkflowSerializationContext) for context in contexts)
    # Only the workflow's own code entered the sandbox: building it and its activations, not its context reads.
    assert entries < len(answers)

    history = await encrypted.get_workflow_handle(workflow_id).fetch_history()
    payloads = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            # The local activity's marker: its result is ours, its "data" detail is the SDK's own bookkeeping
            # (sequence, activity id, time), written in plain JSON by the SDK's core as for every workflow.
            event.marker_recorded_event_attributes.details.pop("data")
        payloads.extend(_payloads(event))
    # At least the input, the activity's input and result, the local activity's result and summary (its input
    # stays in the worker), the timer's summary and the result.
    assert len(payloads) >= 7
    assert all(payload.metadata[WORKFLOW_ID_METADATA] == workflow_id.encode() for payload in payloads)


def _encrypting_converter() -> DataConverter:
    key = base64.b64encode(os.urandom(32)).decode()
    return data_converter(Settings(encryption_keys=f"k1:{key}", encryption_active_key="k1"))


def _payloads(message: Any) -> list[Payload]:
    """Every payload inside a history event, at any depth (in messages, repeated fields and maps)."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for _, value in message.ListFields():
        if hasattr(value, "ListFields"):
            items = [value]
        elif isinstance(value, str | bytes | int | float | bool):
            continue
        elif hasattr(value, "values"):
            items = list(value.values())
        else:
            items = list(value)
        for item in items:
            if hasattr(item, "ListFields"):
                found.extend(_payloads(item))
    return found


def test_the_bound_converter_binds_what_the_sdk_binds_and_copies_without_building_converters() -> None:
    converter = _encrypting_converter()
    context = ActivitySerializationContext(
        namespace="default",
        workflow_id="pathway-bound",
        workflow_type="PathwayWorkflow",
        activity_type="record",
        activity_id="1",
        activity_task_queue="pathways",
        is_local=True,
    )
    bound = converter.with_context(context)
    sdk_bound = DataConverter.with_context(converter, context)  # the SDK's own binding of the same converter
    for part in ("payload_converter_class", "failure_converter_class", "external_storage"):
        assert getattr(bound, part) == getattr(sdk_bound, part)
    assert type(bound.payload_converter) is type(sdk_bound.payload_converter)
    assert type(bound.failure_converter) is type(sdk_bound.failure_converter)
    assert isinstance(bound.payload_codec, EncryptionCodec) and isinstance(sdk_bound.payload_codec, EncryptionCodec)
    assert bound.payload_codec.workflow_id == sdk_bound.payload_codec.workflow_id == "pathway-bound"
    # Copied without building anything new: the converters bind to no context, so they are the same objects.
    assert bound.payload_converter is converter.payload_converter
    assert bound.failure_converter is converter.failure_converter
    assert bound.with_context(context) is bound  # bound already: nothing to copy
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.workflow_id is None  # the original is unchanged


async def test_strict_replay_refuses_a_clock_read_that_the_worker_runner_let_through(client: Client) -> None:
    queue = f"runner-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ClockReadingWorkflow], workflow_runner=workflow_runner()):
        handle = await client.start_workflow(ClockReadingWorkflow.run, id=f"clock-{uuid.uuid4()}", task_queue=queue)
        assert await handle.result()  # it ran: the worker's runner did not stop the clock read
    history = await handle.fetch_history()

    await Replayer(
        workflows=[ClockReadingWorkflow], data_converter=data_converter(), workflow_runner=workflow_runner()
    ).replay_workflow(history)
    strict = Replayer(
        workflows=[ClockReadingWorkflow], data_converter=data_converter(), workflow_runner=strict_workflow_runner()
    )
    with pytest.raises(RuntimeError, match=r"Cannot access datetime\.datetime\.now"):
        await strict.replay_workflow(history)
