"""Shared browser-test plumbing: Debian's chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path("/tmp")


def totp_now(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def new_page(browser):  # noqa: ANN001, ANN201
    """A fresh context and page that records Content-Security-Policy violations in ``page.csp_violations``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_violations.append(msg.text))
    return page


@pytest.fixture
def browser():  # noqa: ANN201
    if not Path(CHROMIUM).exists():
        message = "Debian's chromium is not installed (infra/system-deps.sh --test installs it)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(autouse=True)
def _close_orm_connections_after_browser_tests(request):  # noqa: ANN001
    """Under Playwright's event loop the test body's ORM calls get their own connection (asgiref locals are
    per context); closing it lets PostgreSQL drop the test database at the end of the run."""
    from django.db import connections

    request.addfinalizer(connections.close_all)


@pytest.fixture(autouse=True)
def _allow_sync_orm_under_playwright(monkeypatch):  # noqa: ANN001
    """Playwright's sync API runs an event loop in this thread; the test body's ORM calls are still synchronous.
    Scoped to browser tests so the variable never leaks into other tests or subprocesses (check --deploy)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _mail_links_point_at_the_live_server(request, settings):  # noqa: ANN001
    """E-mails link to ASSAY_PUBLIC_URL (never the request's host): in a browser test that is the live server."""
    if "live_server" in request.fixturenames:
        settings.ASSAY_PUBLIC_URL = request.getfixturevalue("live_server").url
