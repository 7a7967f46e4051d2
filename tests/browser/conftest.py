"""A real browser for the page tests: Debian's Chromium (/usr/bin/chromium, `.ci/run` installs it when
missing) driven by Playwright from PyPI. Playwright's own browser download is never used (no internet)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")


def chromium_missing() -> bool:
    return not CHROMIUM.exists()


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    if chromium_missing():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        await browser.close()
