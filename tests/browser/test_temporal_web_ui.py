"""The Temporal Web UI decodes for a signed-in staff member, on `make run`'s own stack (`python -m ops.run`:
the dev server with its UI behind ops/ui_proxy.py, the worker, the API with its codec endpoint, the demo
pathways), with sign-in through a real OpenID provider in a real browser.

A coordinator of the demo team sees the pathway's decoded input, an update's arguments, the timer's and
the activities' summaries and the current details, and no error banner; a professional of another team
signs in just the same and gets nothing decoded.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.ops.helpers import REPO_ROOT, clean_env, free_port
from tests.support.make_run import MakeRun, run_environment
from tests.support.oidc import CLIENT_ID, OpenIdProvider, start_provider

pytestmark = pytest.mark.slow

PATHWAY = "pathway-demo-0003"  # in services: triaged, assessed, a plan, a follow-up, a reminder timer
DEMO_REASON = "Demo: Kela refers the client for work-ability support."
OTHER_TEAM = "pori-team"
OUTSIDER = "outsider.pori"
ACCOUNTS = {
    "sub-demo-coordinator": {"preferred_username": "demo.coordinator", "name": "Demo coordinator"},
    "sub-outsider": {"preferred_username": OUTSIDER, "name": "Pori professional"},
}
BANNER = "Codec Server could not connect"


@dataclass
class Stack:
    run: MakeRun
    api: str
    ui: str
    provider: OpenIdProvider


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("web-ui")
    ports = {"dev_server": free_port(), "ui": free_port(), "api": free_port()}
    api = f"http://localhost:{ports['api']}"
    provider = start_provider(tmp, [f"{api}/auth/callback"], accounts=ACCOUNTS)
    env = run_environment(tmp / "var", **ports)
    env.update(
        PATHWAYS_OIDC_ISSUER=provider.issuer,
        PATHWAYS_OIDC_CLIENT_ID=CLIENT_ID,
        PATHWAYS_OIDC_AUDIENCE="urn:pathways:api",
    )
    run = MakeRun(REPO_ROOT, env)
    try:
        run.wait_for_line("Ctrl-C stops everything.")
        # A professional of another team, added as an administrator would.
        cli_env = clean_env(PATHWAYS_VAR_DIR=str(tmp / "var"), PATHWAYS_DATABASE_URL="")
        for args in (
            ["team", "add", "--team-id", OTHER_TEAM, "--name", "Pori work-ability team"],
            [
                "staff",
                "add",
                "--staff-id",
                OUTSIDER,
                "--name",
                "Pori professional",
                "--role",
                "professional",
                "--team",
                OTHER_TEAM,
                "--sign-in-subject",
                "sub-outsider",
            ],
            # The demo coordinator signs in with the provider's account an administrator linked.
            ["staff", "link", "--staff-id", "demo.coordinator", "--subject", "sub-demo-coordinator"],
        ):
            subprocess.run(
                [sys.executable, "-m", "ops.cli", *args], cwd=REPO_ROOT, env=cli_env, check=True, capture_output=True
            )
        yield Stack(run, api, f"http://localhost:{ports['ui']}", provider)
    finally:
        run.kill_if_running()
        provider.stop()


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    context = await chromium.new_context(viewport={"width": 1400, "height": 1600})
    page = await context.new_page()
    yield page
    await context.close()


async def sign_in(page: Page, stack: Stack, subject: str) -> None:
    """The browser's sign-in: the API sends it to the provider, its login form is filled in, back to the API."""
    await page.goto(f"{stack.api}/auth/login?return_to=/auth/session")
    await page.locator("input[name=login]").fill(subject)
    await page.locator("input[name=password]").fill("any password")
    await page.locator("button[type=submit]").click()
    await page.wait_for_url(f"{stack.api}/auth/session")


async def open_pathway(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{PATHWAY}")
    await expect(page.get_by_text(PATHWAY, exact=True).first).to_be_visible(timeout=30_000)


async def test_a_signed_in_coordinator_reads_the_pathway_in_the_temporal_web_ui(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, "sub-demo-coordinator")
    assert "demo.coordinator" in await page.inner_text("body")
    await open_pathway(page, stack)
    # The workflow's input, decoded: the referral with its reason.
    await expect(page.get_by_text(DEMO_REASON).first).to_be_visible(timeout=30_000)
    # The timeline names the timer by its summary, the record activity by its type.
    await expect(page.get_by_text("follow_up_reminder due").first).to_be_visible()
    await expect(page.get_by_text("record_pathway_changes").first).to_be_visible()

    # An update's arguments: the triage, naming the case manager.
    await page.get_by_role("tab", name="Event History").click()
    await page.get_by_text("Workflow Execution Update Accepted").last.click()
    await expect(page.get_by_text('"case_manager"').first).to_be_visible(timeout=30_000)

    # The summary and the current details (the UI renders them in frames of its own).
    await page.get_by_role("tab", name="User Metadata").click()
    summary = page.frame_locator("#user-metadata-summary")
    await expect(summary.get_by_text("Work-ability pathway, team demo-team")).to_be_visible(timeout=30_000)
    details = page.frame_locator("#user-metadata-current-details")
    await expect(details.get_by_text("Stage:")).to_be_visible()
    await expect(details.get_by_text("in_services")).to_be_visible()
    assert BANNER not in await page.inner_text("body")


async def test_a_professional_of_another_team_gets_nothing_decoded(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, "sub-outsider")
    assert OUTSIDER in await page.inner_text("body")
    await open_pathway(page, stack)
    await page.wait_for_timeout(3000)  # the decode requests have been answered by now
    body = await page.inner_text("body")
    assert DEMO_REASON not in body
    assert "follow_up_reminder due" not in body
    assert BANNER not in body


async def test_without_signing_in_the_ui_says_where_to_sign_in(page: Page, stack: Stack) -> None:
    await open_pathway(page, stack)
    await page.wait_for_timeout(3000)
    body = await page.inner_text("body")
    assert DEMO_REASON not in body


async def test_the_api_docs_render_offline_from_installed_assets(page: Page, stack: Stack) -> None:
    outside: list[str] = []

    async def only_local(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.url.startswith(stack.api):
            await route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(request.url)
            await route.abort()  # type: ignore[attr-defined]

    await page.route("**/*", only_local)
    await page.goto(f"{stack.api}/docs")
    await expect(page.get_by_text("Work-ability pathways: staff API").first).to_be_visible(timeout=30_000)
    await expect(page.get_by_text("/pathways/{pathway_id}/follow-ups").first).to_be_visible()
    await page.goto(f"{stack.api}/redoc")
    await expect(page.get_by_role("heading", name="Work-ability pathways: staff API")).to_be_visible(timeout=30_000)
    await expect(page.get_by_role("heading", name="Record a follow-up contact with the client")).to_be_attached()
    # Nothing was fetched from elsewhere, and the pages' policy would refuse it if anything tried.
    assert outside == []
    async with httpx.AsyncClient(timeout=30) as http:
        policy = (await http.get(f"{stack.api}/redoc")).headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
