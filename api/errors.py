"""What can go wrong in a request, independent of HTTP; `api.app` maps each to its status code.

Services raise these with a message that says what was wrong, so staff (and the systems that integrate
with us) can act on it. Messages never carry client data beyond the pseudonymous pathway id.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of the errors a service raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAuthenticatedError(ApiError):
    """No bearer token, or one that is unknown, revoked or belongs to an inactive staff member."""


class ForbiddenError(ApiError):
    """Authenticated, but outside one's team or role."""


class NotFoundError(ApiError):
    """The pathway (or notification, staff member, team) does not exist."""


class ConflictError(ApiError):
    """The pathway cannot take this action now (closed, validator rejection, already open)."""


class InvalidInputError(ApiError):
    """Input that passes the schema but names something that does not fit (unknown team, wrong case manager)."""

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail)
        self.field = field


class UnavailableError(ApiError):
    """Something the request needs is away for now (503 with Retry-After); the request can be repeated."""

    retry_after_seconds = 5


class TemporalUnavailableError(UnavailableError):
    """Temporal, or the pathway's worker, cannot answer now; the request can be retried."""


class DatabaseUnavailableError(UnavailableError):
    """The record database cannot be reached (a fail-over, a restart); the request can be retried."""

    retry_after_seconds = 10

    def __init__(self) -> None:
        super().__init__(
            "the record database cannot be reached right now (it may be restarting); try again in a moment. "
            "An action repeated with the same Idempotency-Key is applied once"
        )
