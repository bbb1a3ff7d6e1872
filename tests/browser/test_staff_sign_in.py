"""A coordinator's first sign-in in a real browser (Debian's chromium through Playwright): the password once,
TOTP set-up with one code, then the dashboard with a notice linking to the recovery codes, and the staff
pages open. A later sign-in: the password, one code, the dashboard. No page may raise a CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, new_page, totp_now
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_first_and_later_staff_sign_in_ask_each_factor_once_and_land_on_the_dashboard(live_server, browser):  # noqa: ANN001
    from intake.models import Role

    base = live_server.url
    coordinator = make_user("first-sign-in@assay.example", role=Role.COORDINATOR)
    page = new_page(browser)
    visited: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and visited.append(frame.url))

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", coordinator.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/2fa/totp/activate/$"))
    assert not [url for url in visited if "reauthenticate" in url]  # the password was asked once
    page.screenshot(path=str(SCREENSHOTS / "assay-staff-totp-setup.png"), full_page=True)
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", totp_now(secret))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    notice = page.locator("ul.messages li")
    assert notice.count() == 1 and "recovery codes" in notice.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "assay-staff-first-landing.png"), full_page=True)
    page.click("text=View and save them now")
    page.wait_for_url(re.compile(r".*/2fa/recovery-codes/$"))
    assert re.search(r"\b\d{8}\b", page.input_value("#recovery_codes"))  # the codes themselves, no prompt first
    page.goto(f"{base}/coordinate/")
    assert page.url.endswith("/coordinate/")
    assert page.locator("#needs-action").count() == 1
    assert not [url for url in visited if "reauthenticate" in url]

    # Sign out and back in: password, one code, dashboard.
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_load_state()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", coordinator.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/2fa/authenticate/$"))
    page.fill("input[name=code]", totp_now(secret))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    assert page.locator("ul.messages").count() == 0 or "recovery codes" not in page.inner_text("ul.messages")
    page.screenshot(path=str(SCREENSHOTS / "assay-staff-later-landing.png"), full_page=True)
    assert not [url for url in visited if "reauthenticate" in url or "recovery-codes/generate" in url]
    assert page.csp_violations == []


@pytest.mark.django_db(transaction=True)
def test_the_needs_your_action_list_marks_read_in_place(live_server, browser):  # noqa: ANN001
    from django.urls import reverse

    from intake.models import NotificationKind
    from intake.notifications import notify
    from tests.factories import make_draft, make_terms

    make_terms()
    builder = make_user("list-owner@acme-agents.example")
    case = make_draft(builder, title="Nightjar")
    notify(recipient=builder, kind=NotificationKind.REPORT_ISSUED, submission=case,
           path=reverse("case_detail", args=[case.pk]))
    notify(recipient=builder, kind=NotificationKind.CONSENT_NEEDED, submission=case,
           path=reverse("builder_consent", args=[case.pk]))
    page = new_page(browser)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", builder.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    items = page.locator("#needs-action li.notification")
    assert items.count() == 2
    page.screenshot(path=str(SCREENSHOTS / "assay-needs-action.png"), full_page=True)
    items.first.locator("button:has-text('Mark as read')").click()
    # a locator assertion, not wait_for_function: the page's CSP (script-src 'self') refuses string evaluation
    expect(items).to_have_count(1)
    assert page.url.endswith("/dashboard/")  # swapped in place, no navigation
    page.locator("#needs-action button:has-text('Mark all as read')").click()
    page.wait_for_selector("#needs-action .empty")
    page.screenshot(path=str(SCREENSHOTS / "assay-needs-action-empty.png"), full_page=True)
    assert page.csp_violations == []
