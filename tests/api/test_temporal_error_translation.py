"""How Temporal's client errors reach staff: a unit test of the one translator (`translated`), since a real
server refuses an update as RESOURCE_EXHAUSTED only under overload the suite cannot make on demand."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.errors import NotFoundError, TemporalUnavailableError
from api.services.temporal_errors import translated


async def test_a_busy_or_rate_limited_temporal_is_a_retryable_503_not_a_server_error() -> None:
    with pytest.raises(TemporalUnavailableError) as raised:
        async with translated("pathway-x"):
            raise RPCError("workflow is busy", RPCStatusCode.RESOURCE_EXHAUSTED, b"")
    assert "retry" in raised.value.detail and "Idempotency-Key" in raised.value.detail
    assert raised.value.retry_after_seconds > 0


async def test_an_update_while_the_pathways_task_is_retried_is_a_retryable_503() -> None:
    # The server's words when the pathway's last workflow task failed or timed out (an overloaded worker).
    message = "Unable to perform workflow execution update due to Workflow Task in failed state."
    with pytest.raises(TemporalUnavailableError) as raised:
        async with translated("pathway-x"):
            raise RPCError(message, RPCStatusCode.FAILED_PRECONDITION, b"")
    assert "catching up" in raised.value.detail and "Idempotency-Key" in raised.value.detail


async def test_another_failed_precondition_is_not_taken_for_an_overload() -> None:
    with pytest.raises(RPCError):
        async with translated("pathway-x"):
            raise RPCError("something else entirely", RPCStatusCode.FAILED_PRECONDITION, b"")


async def test_a_missing_pathway_stays_a_404() -> None:
    with pytest.raises(NotFoundError):
        async with translated("pathway-x"):
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
