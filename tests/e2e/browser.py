"""A real browser for the dashboard's tests: Debian's chromium (apt), driven by Playwright
for Python with executable_path, so no browser is downloaded."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Where the screenshots of the main screens go when asked for (docs/screenshots for
# docs/dashboard.md): SCREENSHOT_DIR=docs/screenshots.
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    """Headless chromium for the module (as root it needs --no-sandbox)."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(name="page")
def page_fixture(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no storage, no cookies) at a laptop's size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    expect.set_options(timeout=15_000)
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Save the page for docs/dashboard.md when SCREENSHOT_DIR is set."""
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)


def sign_in(page: Page, gateway: str, email: str, password: str, *, operator: bool = False):
    """Open the dashboard and sign in through its form."""
    page.goto(f"{gateway}/#/login")
    if operator:
        page.get_by_role("button", name="Tour operator").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
