"""Error responses the OpenAPI document lists per route kind."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


AUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: _error("No valid bearer token (answered with WWW-Authenticate: Bearer)."),
    403: _error("Outside your team(s) or role."),
}
TEMPORAL: dict[int | str, dict[str, Any]] = {
    503: _error("Temporal cannot be reached; nothing changed. Retry after the Retry-After seconds."),
}
PATHWAY_READ: dict[int | str, dict[str, Any]] = {
    **AUTHENTICATED,
    **TEMPORAL,
    404: _error("No such pathway."),
}
PATHWAY_ACTION: dict[int | str, dict[str, Any]] = {
    **PATHWAY_READ,
    409: _error("The pathway cannot take this action now (closed, or rejected with the reason)."),
}

# The largest integer a database row id or offset can be (SQL BIGINT); a larger one overflowed the driver
# into a 500 (found by fuzzing), so the schema bounds it and the API answers 422.
MAX_DATABASE_INTEGER = 2**63 - 1
