"""Schema-driven fuzzing: schemathesis generates requests from the API's own OpenAPI document and sends them to
the real app served by uvicorn in its own process, with a real worker process and Temporal dev server behind
it. No answer may be a 5xx, and every answer must match the document (status code, content type, headers,
body schema).

Two passes. Every operation alone, with a coordinator's token. Then stateful: scenarios that follow the
document's links (`api.openapi_links`: a referral's answer to the actions on that pathway, an action's
created ids to the next action, a new partner to its changes), so requests reach real pathways, consents,
referrals and partners instead of 404s; run once per role (professional, coordinator, administrator,
service account, data protection officer). The answers' status counts per role are written to
`STATUS_COUNTS_FILE` (for the closing notes) and printed.

`TRUST_FUZZ_EXAMPLES` (default 10) bounds the examples per operation, `TRUST_FUZZ_SCENARIOS` (default 25) the
scenarios per role, so the whole run stays near four minutes.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from api.app import create_app
from core.settings import Settings
from tests.faults.helpers import TemporalServer, seed_staff_with_email, start_worker
from tests.ops.helpers import REPO_ROOT, clean_env, free_port, stop_process, wait_until
from tests.support.helpers import COORDINATOR, NURSE, TEAM

EXAMPLES = int(os.environ.get("TRUST_FUZZ_EXAMPLES", "10"))
SCENARIOS = int(os.environ.get("TRUST_FUZZ_SCENARIOS", "25"))
STATUS_COUNTS_FILE = Path(os.environ.get("TRUST_FUZZ_COUNTS", "var/fuzz-status-counts.json"))
# The administrator last: its scenarios deactivate staff and revoke their tokens, the other roles' included.
ROLES = ("professional", "coordinator", "service", "data_protection_officer", "admin")
# Run encrypted, as production does: the API then also serves the codec server, which is fuzzed too.
ENCRYPTION = {
    "PATHWAYS_ENCRYPTION_KEYS": "fuzz1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    "PATHWAYS_ENCRYPTION_ACTIVE_KEY": "fuzz1",
}


@dataclass(frozen=True)
class ServedApi:
    base_url: str
    tokens: dict[str, str]  # role -> bearer token

    @property
    def token(self) -> str:
        return self.tokens["coordinator"]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def served_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    directory = tmp_path_factory.mktemp("fuzz")
    database_url = f"sqlite:///{directory / 'pathways.db'}"
    tokens = seed_staff_with_email(database_url)
    queue = f"fuzz-{uuid.uuid4().hex[:8]}"
    server = TemporalServer(directory / "temporal", directory)
    server.start()
    worker = start_worker(server.address, queue, database_url, directory / "worker.log", **ENCRYPTION)
    port = free_port()
    env = clean_env(
        PATHWAYS_TEMPORAL_ADDRESS=server.address,
        PATHWAYS_TASK_QUEUE=queue,
        PATHWAYS_DATABASE_URL=database_url,
        PATHWAYS_LOG_FORMAT="json",
        **ENCRYPTION,
    )
    with (directory / "api.log").open("wb") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{base_url}/healthz"), "the API answering", 60, process=api)
        published = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
        assert published == schema.raw_schema, "the fuzzed document must be the one the app serves"
        # A few real pathways, so listings, caseloads and reports have something to show.
        for _ in range(3):
            response = httpx.post(
                f"{base_url}/pathways",
                json={
                    "client_reference": f"client-{uuid.uuid4().hex[:4]}abc",
                    "team": TEAM,
                    "referral_source": "self_referral",
                    "reason": "Fuzzing seed",
                },
                headers={"Authorization": f"Bearer {tokens[NURSE]}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
        yield ServedApi(
            base_url=base_url,
            tokens={**_other_roles(database_url), "coordinator": tokens[COORDINATOR], "professional": tokens[NURSE]},
        )
    finally:
        stop_process(api)
        stop_process(worker.process)
        server.stop()
        errors = (directory / "api.log").read_text(errors="replace")
        assert "Traceback" not in errors, errors[-4000:]


def _other_roles(database_url: str) -> dict[str, str]:
    """An administrator, a service account of the team and a data protection officer, made as operations do."""
    from core.db import build_engine
    from models.pathway import Language
    from models.tables import StaffRole
    from ops.admin import add_service_account, add_staff

    engine = build_engine(database_url)
    try:

        def person(staff_id: str, role: StaffRole) -> str:
            return add_staff(
                engine, staff_id=staff_id, display_name=staff_id, role=role, teams=[], language=Language.FI, email=None
            )

        return {
            "admin": person("fuzz.admin", StaffRole.ADMIN),
            "data_protection_officer": person("fuzz.dpo", StaffRole.DPO),
            "service": add_service_account(
                engine,
                staff_id="fuzz.integration",
                display_name="Fuzz integration",
                teams=[TEAM],
                actions=["start", "list_pathways", "read_record", "read_timeline", "record_follow_up", "set_goal"],
                purpose="reporting: fuzzing",
            ),
        }
    finally:
        engine.dispose()


# The document the served app publishes at /openapi.json (the same factory and keys, so with the codec routes).
schema = schemathesis.openapi.from_dict(
    create_app(
        Settings(
            encryption_keys=ENCRYPTION["PATHWAYS_ENCRYPTION_KEYS"],
            encryption_active_key=ENCRYPTION["PATHWAYS_ENCRYPTION_ACTIVE_KEY"],
        )
    ).openapi()
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_without_5xx_and_as_documented(
    case: Case[Any], served_api: ServedApi
) -> None:
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    # The real token replaces a generated one; a negative case that left the header out on purpose (to see
    # a 401) keeps it out.
    sends_token = positive or "Authorization" in (case.headers or {})
    auth = {"Authorization": f"Bearer {served_api.token}"} if sends_token else {}
    response = case.call(base_url=served_api.base_url, headers=auth, timeout=60)
    OPERATION_COUNTS[response.status_code] += 1
    # Every check but "schema-valid data is accepted", which is replaced below: some rules span several
    # fields (a triage route that names no case manager, a decision that needs a closure reason) and an
    # OpenAPI schema cannot state them, so a schema-valid body may still get 422.
    case.validate_response(response, excluded_checks=[positive_data_acceptance], headers=auth)
    if positive and response.status_code == 422:
        errors = response.json()["detail"]
        assert all(error["type"] == "value_error" and error["loc"][0] in ("body", "query") for error in errors), (
            f"schema-valid request refused for something other than a cross-field rule: {errors}"
        )


# Answers of the first pass (every operation alone, a coordinator's token), by status.
OPERATION_COUNTS: Counter[int] = Counter()


@pytest.fixture(scope="module")
def status_counts() -> Iterator[dict[str, Counter[int]]]:
    counts: dict[str, Counter[int]] = {role: Counter() for role in ROLES}
    yield counts
    report = {role: dict(sorted(counted.items())) for role, counted in counts.items() if counted}
    if OPERATION_COUNTS:
        report["each operation alone (coordinator)"] = dict(sorted(OPERATION_COUNTS.items()))
    STATUS_COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATUS_COUNTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nstateful fuzzing, answers per status and role: {json.dumps(report)}")


@pytest.mark.parametrize("role", ROLES)
def test_stateful_scenarios_follow_the_links_through_real_pathways_for_every_role(
    role: str, served_api: ServedApi, status_counts: dict[str, Counter[int]]
) -> None:
    token = served_api.tokens[role]
    counted = status_counts[role]

    failures: list[str] = []
    scenarios_run = 0

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case[Any]) -> None:
            # The role's real token replaces a generated one, so each scenario acts as that role throughout.
            # Assigned, not changed in place: schemathesis tracks a case's containers by assignment.
            headers = CaseInsensitiveDict(case.headers or {})
            headers["Authorization"] = f"Bearer {token}"
            case.headers = headers
            # Realistic seeds where a random value would only ever meet "not your team": a referral and a
            # partner go to the team the staff are in, so the scenario's next steps reach what they made. The
            # stateless pass above fuzzes the teams themselves.
            if case.method == "POST" and case.path == "/pathways" and isinstance(case.body, dict):
                case.body = {**case.body, "team": TEAM}
            if case.path.startswith("/teams/{team_id}/partners") and case.path_parameters:
                case.path_parameters = {**case.path_parameters, "team_id": TEAM}

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"base_url": served_api.base_url, "timeout": 60}

        def after_call(self, response: Any, case: Case[Any]) -> None:
            counted[response.status_code] += 1
            if os.environ.get("TRUST_FUZZ_TRACE"):
                print(role, case.method, case.path, response.status_code, response.text[:100])

        def teardown(self) -> None:
            nonlocal scenarios_run
            scenarios_run += 1

        def validate_response(
            self, response: Any, case: Case[Any], additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                assert response.status_code < 500, f"answered {response.status_code}: {response.text[:300]}"
                self._check(response, case, kwargs)
            except BaseException as failure:
                # Kept as it ran: a replay against the live server is not the same scenario (below).
                failures.append(f"{role}: {case.method} {case.formatted_path} -> {response.status_code}: {failure!r}")
                raise

        def _check(self, response: Any, case: Case[Any], kwargs: dict[str, Any]) -> None:
            case.validate_response(
                response,
                # Every scenario sends its role's real token by design (the pass above covers wrong ones), and
                # cross-field rules are not in the schema (as above).
                excluded_checks=[positive_data_acceptance, ignored_auth],
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs,
            )

    # A live server answers a replayed step differently (its pathways have moved on), which Hypothesis reports
    # as flaky data generation; as schemathesis' own runner does, such a run ends and a new one starts, until
    # the scenarios are done. What a step really answered is judged as it ran (`failures`), never on a replay.
    for _attempt in range(6):
        try:
            Scenarios.run(
                settings=settings(
                    max_examples=SCENARIOS,
                    stateful_step_count=12,
                    deadline=None,
                    phases=[Phase.generate],
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
        except Flaky:
            pass
        except Exception:
            if not failures:
                raise
        if failures or scenarios_run >= SCENARIOS:
            break
    assert not failures, "\n".join(failures)
    # The links took the scenarios past the front door: something on a real pathway, partner or item answered.
    assert sum(counted.values()) > SCENARIOS, counted
    assert any(200 <= status < 300 for status in counted), counted
