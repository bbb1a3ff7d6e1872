"""What a builder and anyone verifying see of an outcome, in a real browser (Debian's chromium, Playwright):
findings outside the claim's scope are on the case page, marked, and a *not supported* report verifies with
"Not supported" above the fold (issue 15). Screenshots: /tmp/assay-outside-scope.png, /tmp/assay-verify-verdict.png.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, new_page
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_out_of_scope_findings_show_and_a_not_supported_report_reads_as_one(live_server, browser, builder,
                                                                             coordinator, settings, tmp_path):  # noqa: ANN001
    from intake.states import State
    from reviews.models import Decision, Report, Verdict
    from reviews.reports import report_issue
    from tests.unit.reviews.test_reports import closed_case

    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    case = closed_case(builder)  # scope: agent:manifest, mcp-server:tickets; the .mcp.json finding is outside it
    page = new_page(browser)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", builder.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    note = page.locator(".outside-scope")
    assert "1 medium finding outside this claim's scope." in note.inner_text()
    assert page.locator(".findings .tag.outside").count() == 1
    note.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "assay-outside-scope.png"))

    type(case).objects.filter(pk=case.pk).update(state=State.DECIDED)
    case.refresh_from_db()
    Decision.objects.create(submission=case, coordinator=coordinator, verdict=Verdict.NOT_SUPPORTED,
                            rationale="Ticket text reaches the shell tool with no approval step.")
    report = report_issue(submission=case, kind=Report.Kind.ASSESSMENT, actor=None)
    visitor = new_page(browser)
    visitor.goto(f"{live_server.url}/verify/?id={report.pk}")
    verdict = visitor.locator(".verify-result .verdict")
    assert verdict.inner_text() == "Not supported within scope"
    box = verdict.bounding_box()
    assert box is not None and box["y"] + box["height"] < 900  # above the fold of a 1280x900 window
    assert box["y"] < visitor.locator(".verify-result h2").bounding_box()["y"]  # before "Valid and current"
    visitor.screenshot(path=str(SCREENSHOTS / "assay-verify-verdict.png"))
    assert page.csp_violations == [] and visitor.csp_violations == []
