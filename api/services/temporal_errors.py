"""Turning Temporal's client errors into the API's errors, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ConflictError, InvalidInputError, NotFoundError, TemporalUnavailableError

# The error type the pathway's update validators raise (workflows.pathway.InvalidPathwayAction).
INVALID_PATHWAY_ACTION = "InvalidPathwayAction"
_UNREACHABLE = "Temporal cannot be reached; nothing was changed, try again shortly"
# How the server words NOT_FOUND for an update that reached a pathway just as it closed.
_CLOSED_MESSAGES = ("already completed", "aborted by closing workflow")
# How the server words FAILED_PRECONDITION (WorkflowNotReadyFailure) for an update while a task is retried.
_WORKFLOW_NOT_READY = "Workflow Task in failed state"
_UNAVAILABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})


@asynccontextmanager
async def translated(pathway_id: str | None = None) -> AsyncIterator[None]:
    """Raise Temporal failures as NotFound / Conflict / TemporalUnavailable with a reason staff can act on."""
    try:
        yield
    except WorkflowAlreadyStartedError as err:
        raise ConflictError(
            f"the client already has an open pathway ({err.workflow_id}); act on that pathway instead"
        ) from err
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == INVALID_PATHWAY_ACTION:
            raise ConflictError(cause.message) from err
        raise
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            if any(closing in err.message for closing in _CLOSED_MESSAGES):
                raise ConflictError(f"pathway {pathway_id} is closed; no further actions are possible") from err
            raise NotFoundError(f"no pathway {pathway_id}") from err
        if err.status is RPCStatusCode.FAILED_PRECONDITION and _WORKFLOW_NOT_READY in err.message:
            # The pathway's last workflow task failed or timed out (an overloaded worker); the server takes
            # no update until the next attempt succeeds, which it schedules itself.
            raise TemporalUnavailableError(
                "the pathway's worker is catching up (its last workflow task did not complete in time); nothing "
                "was changed, retry shortly with the same Idempotency-Key"
            ) from err
        if err.status is RPCStatusCode.RESOURCE_EXHAUSTED:
            # A rate limit or a workflow busy with other requests; the update was not admitted.
            raise TemporalUnavailableError(
                "Temporal is busy with this pathway; nothing was changed, retry shortly with the same Idempotency-Key"
            ) from err
        if err.status in _UNAVAILABLE:
            raise TemporalUnavailableError(
                "Temporal cannot be reached; nothing was changed, try again shortly"
            ) from err
        if err.status is RPCStatusCode.INVALID_ARGUMENT:
            raise InvalidInputError(f"Temporal rejected the request: {err.message}", field="query") from err
        raise
    except (TimeoutError, RPCTimeoutOrCancelledError) as err:
        # Our own deadline on a query or update (an update reports it as its RPC timing out).
        raise TemporalUnavailableError(
            "the pathway's worker did not answer in time; an action may still apply later, "
            "so retry it with the same Idempotency-Key"
        ) from err
    except RuntimeError as err:
        # A lazily connected client reports a server it could not reach this way.
        if str(err).startswith("Failed client connect"):
            raise TemporalUnavailableError(
                "Temporal cannot be reached; nothing was changed, try again shortly"
            ) from err
        raise
