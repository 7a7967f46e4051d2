"""Request bodies and small checks shared by the API tests."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.workflows.helpers import eventually

__all__ = ["eventually", "intake_body", "new_client_reference", "ok", "service_body", "start"]


def new_client_reference() -> str:
    # Letters only: random hex can form something shaped like a personal identity code (e.g. 433375c1791),
    # which the API rightly refuses.
    return "client-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


def intake_body(team: str, client_reference: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_reference": client_reference or new_client_reference(),
        "team": team,
        "referral_source": "professional_referral",
        "referring_organisation": "employment_services",
        "client_language": "fi",
        "reason": "Long unemployment, reduced work ability suspected",
    }
    body.update(overrides)
    return body


def service_body(kind: str = "vocational_rehabilitation", provider: str = "Kela") -> dict[str, Any]:
    start_at = datetime.now(UTC) + timedelta(days=1)
    return {
        "kind": kind,
        "provider": provider,
        "planned_start": start_at.isoformat(),
        "planned_end": (start_at + timedelta(days=90)).isoformat(),
    }


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have this status (the body is shown when it has not)."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def start(api: httpx.AsyncClient, auth: dict[str, str], team: str, **overrides: Any) -> dict[str, Any]:
    """Start a pathway through the API and return its state (intake answers a receipt, the state follows)."""
    receipt = ok(await api.post("/pathways", json=intake_body(team, **overrides), headers=auth), 201)
    return ok(await api.get(f"/pathways/{receipt['pathway_id']}", headers=auth), 200)  # type: ignore[no-any-return]
