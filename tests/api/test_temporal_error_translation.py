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


async def test_a_missing_pathway_stays_a_404() -> None:
    with pytest.raises(NotFoundError):
        async with translated("pathway-x"):
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
