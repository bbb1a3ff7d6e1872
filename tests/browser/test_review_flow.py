"""Human review in a real browser (Debian's chromium through Playwright).

A coordinator proposes the solver's plan, the reviewer accepts, the
coordinator grants grey-box access, the reviewer opens an artifact in the
secure viewer (the watermark is on the screenshot, the secret is masked),
submits a structured review, and the coordinator records the decision. Both
sign in with password plus a TOTP code computed from their authenticator's
secret. No page may raise a Content-Security-Policy violation.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, new_page, totp_now
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser]


def _signed_in_page(browser, base: str, email: str, secret: str):  # noqa: ANN001, ANN202
    page = new_page(browser)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.wait_for_url(re.compile(r".*/2fa/authenticate/$"))
    page.fill("input[name=code]", totp_now(secret))
    page.locator("main form button[type=submit]").first.click()  # the last one cancels the sign-in
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    return page


@pytest.mark.django_db(transaction=True)
def test_coordinator_assigns_reviewer_accepts_views_watermarked_artifact_reviews_and_coordinator_decides(
        live_server, browser, request):  # noqa: ANN001
    from django.db import connections

    # With Playwright's event loop running in this thread, the ORM here gets its own connection
    # (asgiref locals are per context); close it, or PostgreSQL cannot drop the test database.
    request.addfinalizer(connections.close_all)
    from intake.models import Role
    from reviews.models import AccessGrant, Decision, Review, ReviewerProfile
    from tests.factories import enable_totp, make_user
    from tests.unit.review_portal_support import case_in_review

    builder = make_user("builder@acme-agents.example")
    case = case_in_review(builder, tier="grey")
    coordinator = make_user("coord@assay.example", role=Role.COORDINATOR)
    coordinator_secret = enable_totp(coordinator)
    reviewer = make_user("reviewer@southwind.example", role=Role.REVIEWER, organisation="Southwind")
    reviewer_secret = enable_totp(reviewer)
    ReviewerProfile.objects.create(user=reviewer, expertise=["no-exfiltration"], capacity=2)
    base = live_server.url

    coord = _signed_in_page(browser, base, coordinator.email, coordinator_secret)
    coord.goto(f"{base}/coordinate/cases/{case.pk}/")
    assert reviewer.pseudonym in coord.inner_text("#plan")
    coord.click("#assign-plan")
    coord.wait_for_selector(f".messages >> text=Proposed the case to {reviewer.pseudonym}.")

    rev = _signed_in_page(browser, base, reviewer.email, reviewer_secret)
    rev.goto(f"{base}/review/")
    assert case.reference in rev.inner_text("#proposed")
    rev.click("#proposed button:has-text('Accept')")
    rev.wait_for_selector(f".messages >> text=Accepted case {case.reference}.")

    coord.reload()
    coord.select_option("#grant-form select[name=tier]", "grey")
    coord.fill("#grant-form input[name=days]", "7")
    coord.click("#grant-form button[type=submit]")
    coord.wait_for_selector(f".messages >> text=Granted grey box access to {reviewer.pseudonym}")
    assert AccessGrant.objects.filter(submission=case, reviewer=reviewer, tier="grey").exists()

    rev.goto(f"{base}/review/")
    rev.click(f"#granted a:has-text('{case.reference}')")
    rev.wait_for_url(re.compile(rf".*/review/cases/{case.pk}/$"))
    assert builder.email not in rev.content()
    rev.click("a:has-text('notes.txt')")
    rev.wait_for_selector("#content")
    content = rev.inner_text("#content")
    assert "[redacted secret]" in content and "sk-ant-" not in content
    watermark = rev.locator("img.watermark")
    assert watermark.is_visible()
    box = watermark.bounding_box()
    assert box["width"] >= 1200 and box["height"] >= 850  # covers the whole viewport
    assert reviewer.pseudonym in rev.inner_text(".watermark-label")
    rev.screenshot(path=str(SCREENSHOTS / "assay-review-viewer.png"))

    rev.goto(f"{base}/review/cases/{case.pk}/review/")
    rev.check("input[name=verdict][value=not_supported]")
    rev.fill("input[name=confidence]", "75")
    rev.fill("textarea[name=limitations]", "Grey box only; no runtime access.")
    rev.fill("input[name=findings-0-title]", "Ticket text reaches the shell")
    rev.select_option("select[name=findings-0-severity]", "high")
    rev.fill("input[name=findings-0-evidence]", "settings.json:1")
    rev.fill("textarea[name=findings-0-remediation]", "Require approval for shell commands.")
    rev.click("button:has-text('Submit review')")
    rev.wait_for_selector(f".messages >> text=Your review of {case.reference} is submitted.")
    assert Review.objects.get(submission=case, reviewer=reviewer).findings[0]["evidence"] == "settings.json:1"

    coord.reload()
    assert "Ticket text reaches the shell" in coord.inner_text("#reviews")
    coord.select_option("#decision-form select[name=verdict]", "not_supported")
    coord.fill("#decision-form textarea[name=rationale]", "Untrusted ticket text can reach the shell tool.")
    coord.click("#decision-form button[type=submit]")
    coord.wait_for_selector("#decision")
    assert "Not supported within scope" in coord.inner_text("#decision")
    assert Decision.objects.get(submission=case).verdict == "not_supported"
    case.refresh_from_db()
    assert case.state == "decided"
    coord.screenshot(path=str(SCREENSHOTS / "assay-review-decision.png"), full_page=True)
    assert coord.csp_violations == [] and rev.csp_violations == []
