"""The staff web app in Chromium, on `make run`'s own stack with its development sign-in.

A nurse and a coordinator work a pathway through the pages from the referral (typed with the keyboard
only) to its closure; a refused action shows its reason beside the form; the language switches; another
team's pathway is a 403 page by its URL. Every page passes axe-core's WCAG 2.1 A/AA rules with no
serious or critical violation. Screenshots of the pages are kept in the test's folder (printed).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Locator, Page, Response, expect

from tests.ops.helpers import REPO_ROOT, clean_env, free_port
from tests.support.make_run import MakeRun, run_environment

pytestmark = pytest.mark.slow

OTHER_TEAM = "pori-team"
OUTSIDER = "outsider.pori"
WCAG = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass
class Stack:
    run: MakeRun
    api: str
    shots: Path
    var: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("web-app")
    ports = {"dev_server": free_port(), "ui": free_port(), "api": free_port()}
    run = MakeRun(REPO_ROOT, run_environment(tmp / "var", **ports))
    try:
        run.wait_for_line("Ctrl-C stops everything.")
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
                "--language",
                "en",
            ],
        ):
            subprocess.run(
                [sys.executable, "-m", "ops.cli", *args], cwd=REPO_ROOT, env=cli_env, check=True, capture_output=True
            )
        shots = tmp / "screenshots"
        shots.mkdir()
        print(f"\nscreenshots: {shots}")
        yield Stack(run, f"http://localhost:{ports['api']}", shots, tmp / "var")
    finally:
        run.kill_if_running()


class Checked:
    """A signed-in browser page whose every page is checked with axe-core and photographed."""

    def __init__(self, page: Page, stack: Stack, who: str) -> None:
        self.page, self.stack, self.who = page, stack, who
        self.shots = 0

    async def check(self, name: str) -> None:
        # Every form is checked, the closed ones too; then the page is put back as it was for the picture.
        await self.page.evaluate(
            "document.querySelectorAll('details').forEach(d => { d.dataset.wasOpen = d.open; d.open = true; })"
        )
        results = await Axe().run(self.page, options=WCAG)
        bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name}: {results.generate_report()}"
        await self.page.evaluate(
            "document.querySelectorAll('details').forEach(d => { d.open = d.dataset.wasOpen === 'true'; })"
        )
        self.shots += 1
        await self.page.screenshot(path=self.stack.shots / f"{self.who}-{self.shots:02d}-{name}.png", full_page=True)

    async def goto(self, path: str, name: str) -> None:
        await self.page.goto(self.stack.api + path)
        await self.check(name)


async def signed_in(
    browser: Browser, stack: Stack, who: str, *, language: str | None = "en"
) -> tuple[BrowserContext, Checked]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    if language:
        await context.add_cookies([{"name": "pathways_language", "value": language, "url": stack.api}])
    page = await context.new_page()
    await page.goto(f"{stack.api}/auth/login?return_to=/app/")
    await expect(page.get_by_text("Development sign-in.")).to_be_visible()
    await page.get_by_role("button", name=re.compile(f"Sign in as {who}")).click()
    await page.wait_for_url(f"{stack.api}/app/")
    return context, Checked(page, stack, who.split()[-1].lower())


def action(page: Page, title: str) -> Locator:
    return page.locator("details.action", has=page.locator("summary", has_text=title))


async def open_action(page: Page, title: str) -> Locator:
    details = action(page, title)
    await details.locator("summary").click()
    return details.locator("form")


async def submit(form: Locator, button: str, page: Page) -> None:
    await form.get_by_role("button", name=button).click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()


def local(moment: datetime) -> str:
    return moment.astimezone(HELSINKI).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
async def nurse(chromium: Browser, stack: Stack) -> AsyncIterator[Checked]:
    context, checked = await signed_in(chromium, stack, "Demo public health nurse")
    yield checked
    await context.close()


@pytest.fixture
async def coordinator(chromium: Browser, stack: Stack) -> AsyncIterator[Checked]:
    context, checked = await signed_in(chromium, stack, "Demo coordinator")
    yield checked
    await context.close()


async def keyboard_intake(nurse: Checked, reference: str, reason: str) -> str:
    """The referral typed with the keyboard only: Tab to each field, type, Enter on the button."""
    page = nurse.page
    await nurse.goto("/app/intake", "intake")
    await page.locator("body").press("Tab")  # the skip link comes first
    for _ in range(40):
        if await page.evaluate("document.activeElement.id") == "intake-client_reference":
            break
        await page.keyboard.press("Tab")
    else:
        raise AssertionError("the client reference field cannot be reached with Tab")
    await page.keyboard.type(reference)
    # team, how the client came (self-referral is first), referring organisation (none), language, remote
    for _ in range(5):
        await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "intake-reason"
    await page.keyboard.type(reason)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.tagName") == "BUTTON"
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    match = re.search(r"/app/pathways/(pathway-[^?#]+)", page.url)
    assert match, page.url
    return match.group(1)


async def test_a_nurse_and_a_coordinator_work_a_pathway_from_referral_to_closure(
    nurse: Checked, coordinator: Checked
) -> None:
    reference = f"web{uuid.uuid4().hex[:8]}"
    reason = "Unemployed for two years; back pain makes long days hard."
    pathway_id = await keyboard_intake(nurse, reference, reason)
    await expect(nurse.page.get_by_text(reason)).to_be_visible()
    await nurse.check("referral-registered")

    # The coordinator finds it in the team's view and triages it, naming the nurse.
    page = coordinator.page
    await coordinator.goto("/app/team", "team")
    await page.get_by_role("link", name=reference).click()
    form = await open_action(page, "Team triage")
    await form.get_by_label("Route").select_option("health_check")
    await form.get_by_label("Case manager").select_option("demo.nurse")
    await submit(form, "Team triage", page)
    await coordinator.check("triaged")

    # The nurse: the client's goal, the assessment, a plan with a service, follow-up, the solution.
    page = nurse.page
    await nurse.goto("/app/", "caseload")
    await expect(page.get_by_role("link", name=reference)).to_be_visible()
    await nurse.goto(f"/app/pathways/{pathway_id}", "assessment")
    form = await open_action(page, "Add a goal")
    await form.get_by_label("The client's goal, in their own words").fill("Back to work part-time by spring")
    await submit(form, "Add a goal", page)
    form = await open_action(page, "Complete the assessment")
    await form.get_by_label("Summary").fill("Able to work part-time with adjustments")
    await form.get_by_label("Recommendation").fill("Employment services and a work trial")
    await submit(form, "Complete the assessment", page)

    form = await open_action(page, "Set the plan")
    row = form.locator("fieldset.service-row", has_text="New service 1")
    await row.get_by_label("Service").select_option("employment_services")
    await row.get_by_label("Provider").fill("TE office, Eura")
    await row.get_by_label("Planned start").fill(local(datetime.now(HELSINKI) - timedelta(hours=1)))
    await form.get_by_label("Follow-up every (days)").fill("30")
    await submit(form, "Set the plan", page)
    await expect(page.locator("figure.coverage")).to_be_visible()
    await nurse.check("plan")

    form = await open_action(page, "Report a change: Employment services")
    await form.get_by_label("What happened").select_option("started")
    await submit(form, "Report a change: Employment services", page)
    form = await open_action(page, "Record a follow-up")
    await form.get_by_label("How").select_option("phone")
    await form.get_by_label("Note").fill("The work trial starts on Monday.")
    await submit(form, "Record a follow-up", page)
    await expect(page.get_by_text("The work trial starts on Monday.")).to_be_visible()
    form = await open_action(page, "Report a change: Employment services")
    await form.get_by_label("What happened").select_option("completed")
    await submit(form, "Report a change: Employment services", page)
    form = await open_action(page, "Record the long-term solution")
    await form.get_by_label("Long-term solution").select_option("employment")
    await form.get_by_label("Description").fill("Part-time job at the library")
    await submit(form, "Record the long-term solution", page)
    await nurse.check("sustainment")

    # Too early to confirm that the solution held: the rule says why, beside the form, and nothing changes.
    form = await open_action(page, "Confirm whether the solution held")
    await form.get_by_label("The solution held").check()
    await form.get_by_label("Note").fill("Still working")
    await form.get_by_role("button", name="Confirm whether the solution held").click()
    refusal = action(page, "Confirm whether the solution held").get_by_role("alert")
    await expect(refusal).to_contain_text("the sustainment period runs until")
    await expect(page.locator("dd").filter(has_text="Following the solution")).to_be_visible()
    await nurse.check("refused")

    form = await open_action(page, "Close the pathway")
    await form.get_by_label("Reason").select_option("completed")
    await form.get_by_label("Note").fill("Employed; the team agreed to close early")
    await submit(form, "Close the pathway", page)
    await expect(page.locator("dd").filter(has_text="Closed")).to_be_visible()
    await expect(page.get_by_role("heading", name="Closed")).to_be_visible()
    await nurse.check("closed")


async def test_the_pages_switch_language_and_write_times_as_finns_do(chromium: Browser, stack: Stack) -> None:
    context, social = await signed_in(chromium, stack, "Demo social worker", language=None)
    try:
        page = social.page
        await expect(page.get_by_role("heading", name="My caseload")).to_be_visible()  # the demo staff's English
        await page.get_by_label("Language").select_option("sv")
        await page.get_by_role("button", name="Change language").click()
        await expect(page.get_by_role("heading", name="Mina klienter")).to_be_visible()
        await social.check("swedish")
        # Not her own case: she says why she opens it (a team review), as the page would ask.
        await page.goto(f"{stack.api}/app/pathways/pathway-demo-0003?purpose=team_review")
        await expect(page.get_by_text(re.compile(r"\d{1,2}\.\d{1,2}\.20\d\d kl\. \d{1,2}\.\d\d")).first).to_be_visible()
        await page.get_by_label("Språk").select_option("fi")
        await page.get_by_role("button", name="Byt språk").click()
        await expect(page.get_by_role("heading", name="Tilanne")).to_be_visible()
        await social.check("finnish")
    finally:
        await context.close()


async def test_another_teams_pathway_is_not_reachable_by_its_url(chromium: Browser, stack: Stack) -> None:
    context, outsider = await signed_in(chromium, stack, "Pori professional")
    try:
        response = await outsider.page.goto(f"{stack.api}/app/pathways/pathway-demo-0003")
        assert response is not None and response.status == 403
        await expect(outsider.page.get_by_role("heading", name="Not available to you")).to_be_visible()
        await expect(outsider.page.get_by_role("alert")).to_contain_text("is not on your team(s)")
        assert "Kela refers the client" not in await outsider.page.inner_text("body")
        await outsider.check("forbidden")
    finally:
        await context.close()


async def test_the_coordinators_pages_pass_the_accessibility_checks(coordinator: Checked) -> None:
    for path, name in (
        ("/app/", "caseload"),
        ("/app/team", "team"),
        ("/app/reviews", "reviews"),
        ("/app/inbox", "inbox"),
        ("/app/reports", "report"),
        ("/app/partners", "partners"),
        ("/app/intake", "intake"),
        ("/app/pathways/pathway-demo-0005", "pathway-with-review"),
    ):
        await coordinator.goto(path, name)
        if name == "report":
            chart = coordinator.page.locator("img.chart")
            assert await chart.evaluate("image => image.complete && image.naturalWidth > 0")
        if name == "pathway-with-review":
            await expect(
                coordinator.page.get_by_text("team review pending").or_(coordinator.page.get_by_text("pending")).first
            ).to_be_visible()


async def _to_services(nurse: Checked, coordinator: Checked, reference: str) -> str:
    """A new pathway through the pages: the nurse's intake, the coordinator's triage, the plan with a service."""
    pathway_id = await keyboard_intake(nurse, reference, "Unemployed for a year; needs a work try-out.")
    page = coordinator.page
    await coordinator.page.goto(f"{coordinator.stack.api}/app/pathways/{pathway_id}")
    form = await open_action(page, "Team triage")
    await form.get_by_label("Route").select_option("health_check")
    await form.get_by_label("Case manager").select_option("demo.nurse")
    await submit(form, "Team triage", page)
    page = nurse.page
    await page.goto(f"{nurse.stack.api}/app/pathways/{pathway_id}")
    form = await open_action(page, "Complete the assessment")
    await form.get_by_label("Summary").fill("Able to work part-time")
    await form.get_by_label("Recommendation").fill("A work try-out through Kela")
    await submit(form, "Complete the assessment", page)
    form = await open_action(page, "Set the plan")
    row = form.locator("fieldset.service-row", has_text="New service 1")
    await row.get_by_label("Service").select_option("vocational_rehabilitation")
    await row.get_by_label("Provider").fill("Kela")
    await row.get_by_label("Planned start").fill(local(datetime.now(HELSINKI) + timedelta(days=7)))
    await submit(form, "Set the plan", page)
    return pathway_id


async def test_a_handover_waits_for_the_new_case_manager_who_accepts_it_on_the_page(
    chromium: Browser, stack: Stack, nurse: Checked, coordinator: Checked
) -> None:
    pathway_id = await _to_services(nurse, coordinator, f"ho{uuid.uuid4().hex[:8]}")
    page = coordinator.page
    await coordinator.goto(f"/app/pathways/{pathway_id}", "handover-before")
    form = await open_action(page, "Hand over to another case manager")
    await form.get_by_label("Case manager").select_option("demo.social-worker")
    await form.get_by_label("Reason").fill("The nurse starts a long leave")
    await submit(form, "Hand over to another case manager", page)
    # People are named on the pages, not by their staff ids.
    await expect(page.get_by_text("hand-over to Demo social worker pending since")).to_be_visible()
    await coordinator.check("handover-pending")

    context, social = await signed_in(chromium, stack, "Demo social worker")
    try:
        page = social.page
        # As from her inbox's hand-over notice, whose link says why she opens it.
        await social.goto(f"/app/pathways/{pathway_id}?purpose=handover", "handover-to-accept")
        form = await open_action(page, "Accept the hand-over")
        await form.get_by_label("Note").fill("Met the client with the nurse; the try-out starts next week")
        await form.get_by_role("button", name="Accept the hand-over").click()
        # Not yet: the client must know whom to contact. The reason is beside the form; nothing changed.
        refusal = action(page, "Accept the hand-over").get_by_role("alert")
        await expect(refusal).to_contain_text("the client knows whom to contact")
        form = action(page, "Accept the hand-over").locator("form")
        await form.get_by_label("Note").fill("Met the client with the nurse; the try-out starts next week")
        await form.get_by_label("The client knows whom to contact now").check()
        await form.get_by_label("How the client was told").select_option("in_person")
        await submit(form, "Accept the hand-over", page)
        await expect(page.get_by_text("Met the client with the nurse; the try-out starts next week")).to_be_visible()
        await expect(page.locator("dd").filter(has_text="Demo social worker").first).to_be_visible()
        await social.check("handover-accepted")
    finally:
        await context.close()


async def test_the_provider_answers_a_referral_on_the_signed_link_page(
    chromium: Browser, stack: Stack, nurse: Checked, coordinator: Checked
) -> None:
    pathway_id = await _to_services(nurse, coordinator, f"rf{uuid.uuid4().hex[:8]}")
    page = nurse.page
    await nurse.goto(f"/app/pathways/{pathway_id}", "referral-before")
    form = await open_action(page, "Record the client's consent")
    await form.get_by_label("Partner organisation").select_option("kela-demo")
    await form.get_by_label("Referral to its service").check()
    await form.get_by_label("Consent given").fill(local(datetime.now(HELSINKI) - timedelta(minutes=5)))
    await submit(form, "Record the client's consent", page)
    form = await open_action(page, "Refer to its provider: Vocational rehabilitation")
    await form.get_by_label("Partner organisation").select_option("kela-demo")
    message = "Needs a work try-out with short days at first"
    await form.get_by_label("Message to the provider").fill(message)
    await submit(form, "Refer to its provider: Vocational rehabilitation", page)
    await nurse.check("referral-sent")

    # The provider's link, as the referral e-mail carries it (make run has no SMTP: read from the outbox).
    database = stack.var / "pathways.db"
    with sqlite3.connect(database) as connection:
        [(body,)] = connection.execute(
            "SELECT body FROM notification WHERE pathway_id = ? AND kind = 'referral_to_partner'", (pathway_id,)
        ).fetchall()
    match = re.search(r"(/partner/referrals/\S+)", body)
    assert match, body
    assert message not in body  # the message is behind the link, shared under the consent only
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        provider = Checked(await context.new_page(), stack, "provider")
        await provider.goto(match.group(1), "partner-referral")
        await expect(provider.page.get_by_text(message)).to_be_visible()
        await provider.page.get_by_label("We accept the referral").check()
        await provider.page.get_by_role("button", name="Send the answer").click()
        await expect(provider.page.get_by_role("status")).to_contain_text("your answer was recorded")
        # The page shows the answer just given, and offers only what can follow it.
        await expect(provider.page.locator("dd").filter(has_text="Accepted")).to_be_visible()
        await expect(provider.page.get_by_label("We accept the referral")).to_have_count(0)
        await provider.check("partner-answered")
    finally:
        await context.close()
    await page.goto(f"{stack.api}/app/pathways/{pathway_id}")
    await expect(page.get_by_text("Accepted").first).to_be_visible()


async def test_the_work_ability_score_is_chosen_by_keyboard_on_a_phone_and_charted(
    chromium: Browser, stack: Stack
) -> None:
    """The demo's pathway in services (demo-0003) on a 390 px wide phone: the score's radio group fits the
    screen, is reached with Tab and chosen with the arrow keys, and the answer joins the chart and table."""
    context = await chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await context.add_cookies([{"name": "pathways_language", "value": "en", "url": stack.api}])
    page = await context.new_page()
    try:
        await page.goto(f"{stack.api}/auth/login?return_to=/app/")
        await page.get_by_role("button", name=re.compile("Sign in as Demo public health nurse")).click()
        await page.wait_for_url(f"{stack.api}/app/")
        phone = Checked(page, stack, "phone")
        await phone.goto("/app/pathways/pathway-demo-0003", "work-ability-on-a-phone")
        chart = page.locator("figure.work-ability")
        await expect(chart).to_be_visible()
        await expect(chart.locator("text", has_text="Poor (0-5)")).to_have_count(1)

        form = await open_action(page, "Record the client's Work Ability Score")
        group = form.get_by_role("group", name="Work Ability Score")
        await expect(group.get_by_role("radio")).to_have_count(12)
        fits = await group.evaluate("g => g.scrollWidth <= g.clientWidth && g.getBoundingClientRect().right <= 390")
        assert fits, "the radio group is wider than the phone's screen"
        # From the form's summary, Tab into the group (its first radio); the arrow keys move the choice: 0 -> 2.
        await action(page, "Record the client's Work Ability Score").locator("summary").focus()
        for _ in range(5):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.name") == "score":
                break
        assert await page.evaluate("document.activeElement.name") == "score", "the scores cannot be reached with Tab"
        await page.keyboard.press("Space")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        assert await page.evaluate("document.activeElement.value") == "2"
        await expect(group.get_by_role("radio", name="2", exact=True)).to_be_checked()
        await submit(form, "Record the client's Work Ability Score", page)
        table = page.locator("table", has=page.locator("caption", has_text="The client's own answers"))
        await expect(table.locator("tbody tr").last).to_contain_text("2 · Poor (0-5)")
        await phone.check("work-ability-recorded")
    finally:
        await context.close()


@pytest.mark.parametrize(
    ("language", "title"),
    [("fi", "Työkykysuunnitelmasi"), ("sv", "Din arbetsförmågeplan"), ("en", "Your work-ability plan")],
)
async def test_the_clients_plan_summary_reads_in_their_language_on_a_desk_and_on_a_phone(
    chromium: Browser, stack: Stack, nurse: Checked, coordinator: Checked, language: str, title: str
) -> None:
    """A referral in the client's language, triaged; its plan summary opens in that language, passes axe at
    desk and phone widths and never scrolls sideways on a 360 px phone."""
    page = nurse.page
    await nurse.goto("/app/intake", "intake-for-summary")
    await page.get_by_label("Client reference (pseudonymous)").fill(f"sum{uuid.uuid4().hex[:8]}")
    await page.get_by_label("Client's language").select_option(language)
    await page.get_by_label("Reason").fill("Wants support to return to work")
    await page.get_by_role("button", name="Register the referral").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    match = re.search(r"/app/pathways/(pathway-[^?#]+)", page.url)
    assert match, page.url
    pathway_id = match.group(1)
    await coordinator.goto(f"/app/pathways/{pathway_id}", "summary-triage")
    form = await open_action(coordinator.page, "Team triage")
    await form.get_by_label("Route").select_option("health_check")
    await form.get_by_label("Case manager").select_option("demo.nurse")
    await submit(form, "Team triage", coordinator.page)

    await nurse.goto(f"/app/pathways/{pathway_id}/summary", f"summary-{language}")
    await expect(page.locator("html")).to_have_attribute("lang", language)
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await expect(page.get_by_role("heading", name="Demo public health nurse")).to_be_visible()
    await page.set_viewport_size({"width": 360, "height": 780})
    await nurse.check(f"summary-{language}-phone")
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 360, f"the summary scrolls sideways on a phone: {wide} px"
    await page.set_viewport_size({"width": 1280, "height": 900})


async def _phone_and_desk(page: Page, stack: Stack, name: str, path: str, missing: list[str]) -> None:
    """The page at 360 px and at a desk's width: axe finds no serious or critical fault, the phone never
    scrolls sideways (every form opened, as axe sees them)."""
    for width, height in ((360, 780), (1280, 900)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.goto(stack.api + path)
        await page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        results = await Axe().run(page, options=WCAG)
        bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name} at {width} px: {results.generate_report()}"
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} scrolls sideways at {width} px: {wide} px of content"
        await page.screenshot(path=stack.shots / f"every-page-{name}-{width}.png", full_page=True)
    assert missing == [], f"requests that answered 404 on {name}: {missing}"


async def test_every_page_the_accessibility_statement_names_works_on_a_phone_and_at_a_desk(
    chromium: Browser, stack: Stack, nurse: Checked, coordinator: Checked
) -> None:
    """The accessibility statement's facts are this test's: it walks every page the statement names
    (`web.accessibility.CHECKED_PAGES`), at 360 px and 1280 px, with axe, and no request may answer 404."""
    from web.accessibility import CHECKED_PAGES

    pathway_id = await _to_services(nurse, coordinator, f"ph{uuid.uuid4().hex[:8]}")
    page = nurse.page
    # The client's feedback link, made on the pathway page.
    await page.goto(f"{stack.api}/app/pathways/{pathway_id}")
    await page.get_by_role("button", name="Make a feedback link").click()
    feedback_url = await page.locator("ul.links a").first.get_attribute("href")
    assert feedback_url and "/feedback/" in feedback_url
    # A partner's referral page: consent, referral, and its link from the outbox (make run has no SMTP).
    form = await open_action(page, "Record the client's consent")
    await form.get_by_label("Partner organisation").select_option("kela-demo")
    await form.get_by_label("Referral to its service").check()
    await form.get_by_label("Consent given").fill(local(datetime.now(HELSINKI) - timedelta(minutes=5)))
    await submit(form, "Record the client's consent", page)
    form = await open_action(page, "Refer to its provider: Vocational rehabilitation")
    await form.get_by_label("Partner organisation").select_option("kela-demo")
    await form.get_by_label("Message to the provider").fill("Needs a work try-out")
    await submit(form, "Refer to its provider: Vocational rehabilitation", page)
    with sqlite3.connect(stack.var / "pathways.db") as connection:
        [(body,)] = connection.execute(
            "SELECT body FROM notification WHERE pathway_id = ? AND kind = 'referral_to_partner'", (pathway_id,)
        ).fetchall()
    partner_path = re.search(r"(/partner/referrals/\S+)", body).group(1)  # type: ignore[union-attr]

    # The data protection officer's home is the audit log: signed in by hand (the helper waits for /app/).
    dpo_context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    await dpo_context.add_cookies([{"name": "pathways_language", "value": "en", "url": stack.api}])
    dpo = Checked(await dpo_context.new_page(), stack, "dpo")
    await dpo.page.goto(f"{stack.api}/auth/login?return_to=/app/audit")
    await dpo.page.get_by_role("button", name=re.compile("Sign in as Demo data protection officer")).click()
    await dpo.page.wait_for_url(f"{stack.api}/app/audit**")
    try:
        coordinator_pages = {
            "caseload": "/app/",
            "team": "/app/team",
            "team_reviews": "/app/reviews",
            "outcome_report": "/app/reports",
            "partners": "/app/partners",
            "new_referral": "/app/intake",
            "inbox": "/app/inbox",
            "api_tokens": "/app/tokens",
            "about_me": "/app/me",
        }
        nurse_pages = {"pathway": f"/app/pathways/{pathway_id}", "plan_summary": f"/app/pathways/{pathway_id}/summary"}
        public_pages = {
            "client_feedback": feedback_url.removeprefix(stack.api),
            "partner_referral": partner_path,
            "accessibility_statement": "/accessibility",
        }
        walked = {**coordinator_pages, **nurse_pages, **public_pages, "audit_log": "/app/audit"}
        assert set(walked) == set(CHECKED_PAGES), "the statement and this test name the same pages"
        for checked, pages in (
            (coordinator, coordinator_pages),
            (nurse, {**nurse_pages, **public_pages}),
            (dpo, {"audit_log": "/app/audit"}),
        ):
            missing: list[str] = []

            def note_missing(response: Response, seen: list[str] = missing) -> None:
                if response.status == 404:
                    seen.append(response.url)

            checked.page.on("response", note_missing)
            for name, path in pages.items():
                await _phone_and_desk(checked.page, stack, name, path, missing)
    finally:
        await dpo_context.close()


async def test_the_client_answers_through_the_feedback_link_on_a_phone_and_a_used_expired_or_altered_link_says_so(
    chromium: Browser, stack: Stack, nurse: Checked
) -> None:
    """From the link to the recorded feedback, in the client's language (the demo's clients read Finnish), on a
    phone; then the same link used, another expired and one altered: each its own page, nothing recorded."""
    pathway = "pathway-demo-0003"
    page = nurse.page

    async def new_link() -> str:
        await page.goto(f"{stack.api}/app/pathways/{pathway}")
        await page.get_by_role("button", name="Make a feedback link").click()
        url = await page.locator("ul.links a").first.get_attribute("href")
        assert url and "/feedback/" in url
        return url

    def feedback_count() -> int:
        with sqlite3.connect(stack.var / "pathways.db") as connection:
            [(count,)] = connection.execute(
                "SELECT count(*) FROM pathway_event WHERE pathway_id = ? AND kind = 'feedback_recorded'", (pathway,)
            ).fetchall()
        return int(count)

    link = await new_link()
    before = feedback_count()
    # A Finnish phone: a link that names no client (an altered one) answers in the browser's language.
    context = await chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="fi-FI"
    )
    try:
        client = Checked(await context.new_page(), stack, "client")
        await client.goto(link.removeprefix(stack.api), "feedback-form")
        await expect(client.page.locator("html")).to_have_attribute("lang", "fi")
        await expect(client.page.get_by_text("Demo public health nurse")).to_have_count(0)  # no names, no client data
        await client.page.get_by_role("group", name=re.compile("Miten arvioisit")).get_by_text("4", exact=True).click()
        await client.page.get_by_role("group", name="Tiedätkö, keneen ottaa yhteyttä?").get_by_text("Kyllä").click()
        await client.page.get_by_label(re.compile("Haluatko sanoa vielä jotain")).fill("Hyvä tuki, kiitos")
        await client.page.get_by_role("button", name="Lähetä").click()
        await expect(client.page.get_by_role("status")).to_contain_text("Kiitos. Vastauksesi lähetettiin")
        await client.check("feedback-thanks")

        async def recorded() -> bool:
            return feedback_count() == before + 1

        for _ in range(100):
            if await recorded():
                break
            await asyncio.sleep(0.1)
        assert await recorded(), "the client's answer is on the pathway"

        await client.goto(link.removeprefix(stack.api), "feedback-used")
        await expect(client.page.get_by_role("status")).to_contain_text("Tätä linkkiä on jo käytetty")
        altered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
        await client.goto(altered.removeprefix(stack.api), "feedback-altered")
        await expect(client.page.get_by_role("alert")).to_contain_text("Tämä linkki ei kelpaa")

        expired = await new_link()
        link_token = expired.rsplit("/", 1)[1]
        with sqlite3.connect(stack.var / "pathways.db") as connection:
            # The newest link (made just now) is past its expiry: as if the client came back weeks later.
            connection.execute(
                "UPDATE client_feedback_link SET expires_at = '2020-01-01 00:00:00.000000' WHERE created_at = "
                "(SELECT max(created_at) FROM client_feedback_link)"
            )
        await client.goto(f"/feedback/{link_token}", "feedback-expired")
        await expect(client.page.get_by_role("alert")).to_contain_text("Tämä linkki on vanhentunut")
        assert feedback_count() == before + 1  # none of them changed anything
    finally:
        await context.close()
