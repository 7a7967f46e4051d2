"""Small helpers every test folder uses: polling, client references, intakes, policies and HTTP checks."""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from models.actions import Intake, PlannedServiceInput
from models.pathway import PathwayPolicy, ReferralSource, ReferringOrganisation, ServiceKind

# Short enough that a test sees every timer fire within seconds.
FAST_POLICY = PathwayPolicy(
    triage_due_after=timedelta(hours=1),
    assessment_due_after=timedelta(hours=1),
    follow_up_interval=timedelta(hours=1),
    follow_up_reminder_before=timedelta(minutes=10),
    follow_up_grace=timedelta(minutes=10),
    service_gap_allowed=timedelta(hours=1),
    service_gap_escalate_after=timedelta(hours=1),
    sustainment_period=timedelta(hours=1),
    sustainment_confirm_grace=timedelta(hours=1),
)


def client_reference() -> str:
    """A random pseudonymous reference of letters only: random hex can form something shaped like a
    personal identity code (e.g. 433375c1791), which the intake rightly refuses."""
    return "client-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(14))


def intake(team: str, reference: str | None = None, *, professional: bool = False, **overrides: Any) -> Intake:
    fields: dict[str, Any] = {
        "client_reference": reference or client_reference(),
        "team": team,
        "referral_source": ReferralSource.PROFESSIONAL_REFERRAL if professional else ReferralSource.SELF_REFERRAL,
        "referring_organisation": ReferringOrganisation.EMPLOYMENT_SERVICES if professional else None,
        "reason": "Long unemployment, reduced work ability suspected",
        "referred_at": datetime.now(UTC),
    }
    return Intake(**{**fields, **overrides})


def service(
    kind: ServiceKind = ServiceKind.VOCATIONAL_REHABILITATION, provider: str = "Kela", days: int = 0
) -> PlannedServiceInput:
    start_at = datetime.now(UTC) + timedelta(days=days)
    return PlannedServiceInput(
        kind=kind, provider=provider, planned_start=start_at, planned_end=start_at + timedelta(days=90)
    )


async def eventually(
    check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Poll an async or sync check until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)


# -- HTTP ------------------------------------------------------------------------------------------------------


def intake_body(team: str, reference: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_reference": reference or client_reference(),
        "team": team,
        "referral_source": "professional_referral",
        "referring_organisation": "employment_services",
        "client_language": "fi",
        "reason": "Long unemployment, reduced work ability suspected",
    }
    body.update(overrides)
    return body


def service_body(kind: str = "vocational_rehabilitation", provider: str = "Kela", days: int = 1) -> dict[str, Any]:
    start_at = datetime.now(UTC) + timedelta(days=days)
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


async def start_via_api(api: httpx.AsyncClient, auth: dict[str, str], team: str, **overrides: Any) -> dict[str, Any]:
    """Start a pathway through the API and return its record once the worker has written it."""
    receipt = ok(await api.post("/pathways", json=intake_body(team, **overrides), headers=auth), 201)

    async def recorded() -> Any:
        response = await api.get(f"/pathways/{receipt['pathway_id']}", headers=auth)
        return response.json() if response.status_code == 200 else None

    return await eventually(recorded, what=f"record of {receipt['pathway_id']}")  # type: ignore[no-any-return]


# -- one fixed team, for the tests of processes started as operations start them ----------------------------------

TEAM = "eura-team"
COORDINATOR = "coordinator.aalto"
NURSE = "nurse.virtanen"
SOCIAL_WORKER = "socialworker.nieminen"
PHYSICIAN = "physician.korhonen"
FIXED_STAFF_ROLES = {
    COORDINATOR: "coordinator",
    NURSE: "professional",
    SOCIAL_WORKER: "professional",
    PHYSICIAN: "professional",
}


def email_of(staff_id: str) -> str:
    return f"{staff_id}@hyvinvointialue.example"


def seed_fixed_team(database_url: str, *, emails: bool = False) -> dict[str, str]:
    """A migrated database with the fixed team and its staff (e-mail addresses if asked); their tokens."""
    from core.db import build_engine, migrate_to_head
    from models.pathway import Language
    from models.tables import StaffRole
    from ops.admin import add_staff, add_team

    migrate_to_head(database_url)
    engine = build_engine(database_url)
    tokens: dict[str, str] = {}
    try:
        add_team(engine, team_id=TEAM, name="Eura work-ability team")
        for staff_id, role in FIXED_STAFF_ROLES.items():
            tokens[staff_id] = add_staff(
                engine,
                staff_id=staff_id,
                display_name=staff_id,
                role=StaffRole(role),
                teams=[TEAM],
                language=Language.FI,
                email=email_of(staff_id) if emails else None,
            )
    finally:
        engine.dispose()
    return tokens


async def start_fixed(client: Any, task_queue: str, policy: Any = None, **overrides: Any) -> Any:
    """A pathway of the fixed team started on `task_queue` (its worker may be a separate process)."""
    from workflows.client import start_pathway

    referral = intake(TEAM, **overrides)
    return await start_pathway(
        client,
        task_queue,
        pathway_id=f"pathway-{referral.client_reference}",
        intake=referral,
        registered_by=COORDINATOR,
        policy=policy,
    )


async def do(handle: Any, actor: str, fields: Any, update_id: str | None = None) -> Any:
    """One staff action on a workflow handle (the registry's update for the fields model)."""
    from workflows.actions import BY_FIELDS
    from workflows.client import act

    return await act(handle, BY_FIELDS[type(fields)], actor=actor, fields=fields, update_id=update_id)
