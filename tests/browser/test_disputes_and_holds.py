"""IP protection in a real browser (Debian's chromium through Playwright).

A builder opens an IP dispute against another case's report, with a statement and an evidence file; one
coordinator requests a legal hold on the case, is refused when approving it alone, a second coordinator approves
it, and the first releases it; a coordinator decides the dispute. The case page shows each step to each side, and
no page may raise a Content-Security-Policy violation. Screenshots land in /tmp for a human to look at.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, new_page, totp_now
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser]
STATEMENT = "Their MCP wiring and hooks are copied from our system, file for file, including our typo in hooks.json."


def _signed_in(browser, base: str, email: str, secret: str | None = None):  # noqa: ANN001, ANN202
    page = new_page(browser)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    if secret is not None:
        page.wait_for_url(re.compile(r".*/2fa/authenticate/$"))
        page.fill("input[name=code]", totp_now(secret))
        page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    return page


@pytest.mark.django_db(transaction=True)
def test_a_builder_opens_an_ip_dispute_and_a_coordinator_pair_places_and_releases_a_legal_hold(
        live_server, browser, request, tmp_path, settings):  # noqa: ANN001
    from django.db import connections

    request.addfinalizer(connections.close_all)
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "signing.pem")
    from intake.models import Role
    from intake.vault.models import IpDispute, LegalHold
    from tests.factories import enable_totp, make_draft, make_user
    from tests.unit.test_disputes_and_holds import report_of

    builder = make_user("builder@acme-agents.example")
    case = make_draft(builder, title="Ticket triage agent")
    from intake.services import submission_submit

    case = submission_submit(submission=case, actor=builder)
    rival = make_user("rival@other-lab.example")
    report = report_of(make_draft(rival, title="Their agent"))
    first = make_user("first@assay.example", role=Role.COORDINATOR)
    first_secret = enable_totp(first)
    second = make_user("second@assay.example", role=Role.COORDINATOR)
    second_secret = enable_totp(second)
    base = live_server.url
    evidence = tmp_path / "our-hooks-2026-03.txt"
    evidence.write_text("hooks.json as we wrote it on 2026-03-01\n")

    # The builder opens the dispute from their case page.
    page = _signed_in(browser, base, builder.email)
    page.goto(f"{base}/cases/{case.pk}/")
    page.click("#open-dispute")
    page.fill("input[name=report_id]", str(report.pk))
    page.fill("textarea[name=statement]", STATEMENT)
    page.set_input_files("input[name=evidence]", str(evidence))
    page.locator("#dispute-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/cases/{case.pk}/$"))
    assert "Your IP dispute is open" in page.content()
    assert page.locator("#case-ip .statement").inner_text().startswith("Their MCP wiring")
    assert "party to an open IP dispute" in page.locator("#case-retention").inner_text()
    dispute = IpDispute.objects.get()
    assert dispute.evidence_name == evidence.name and dispute.evidence_key

    # The first coordinator requests a hold and cannot approve it alone.
    one = _signed_in(browser, base, first.email, first_secret)
    one.goto(f"{base}/cases/{case.pk}/")
    one.fill("#hold-reason", "Preserve pending the dispute and a regulator's letter")
    one.locator("#request-hold button[type=submit]").click()
    one.wait_for_url(re.compile(rf".*/cases/{case.pk}/$"))
    assert "a second coordinator must approve it" in one.content()
    hold = LegalHold.objects.get()
    assert one.locator(f"#approve-hold-{hold.pk}").count() == 0  # the requester is not offered the approval
    refused = one.request.post(f"{base}/coordinate/holds/{hold.pk}/approve/", headers={
        "X-CSRFToken": one.locator("#request-hold input[name=csrfmiddlewaretoken]").input_value(),
        "Referer": f"{base}/cases/{case.pk}/"})
    assert refused.status == 403 and "second coordinator" in refused.text()

    # The second coordinator approves it: the case page shows the hold in force and the dispute to decide.
    two = _signed_in(browser, base, second.email, second_secret)
    two.goto(f"{base}/cases/{case.pk}/")
    two.click(f"#approve-hold-{hold.pk}")
    two.wait_for_url(re.compile(rf".*/cases/{case.pk}/$"))
    hold.refresh_from_db()
    assert hold.approved_by_id == second.pk
    section = two.locator("#case-ip")
    assert "In force" in section.inner_text() and STATEMENT[:40] in section.inner_text()
    section.scroll_into_view_if_needed()
    two.screenshot(path=str(SCREENSHOTS / "assay-case-legal-hold.png"), full_page=True)

    # The first coordinator releases it with a reason; the second decides the dispute.
    one.goto(f"{base}/cases/{case.pk}/")
    one.fill(f"#release-{hold.pk}", "The regulator's enquiry closed without a request")
    one.locator(f"#hold-{hold.pk} button.danger").click()
    one.wait_for_url(re.compile(rf".*/cases/{case.pk}/$"))
    assert "Legal hold released." in one.content()
    hold.refresh_from_db()
    assert hold.released_by_id == first.pk
    two.goto(f"{base}/cases/{case.pk}/")
    two.check("form.dispute-decide input[value=dismissed]")
    two.fill("form.dispute-decide textarea[name=decision]", "Both systems follow the same public template.")
    two.locator("form.dispute-decide button[type=submit]").click()
    two.wait_for_url(re.compile(rf".*/cases/{case.pk}/$"))
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome) == ("decided", "dismissed")

    page.goto(f"{base}/cases/{case.pk}/")
    assert "same public template" in page.locator("#case-ip").inner_text()
    assert "suspended" not in page.locator("#case-retention").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "assay-case-dispute-builder.png"), full_page=True)
    for each in (page, one, two):
        assert each.csp_violations == []
