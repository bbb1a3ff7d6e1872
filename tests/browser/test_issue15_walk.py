"""Issue 15's "Done when" walk, in a real browser (Debian's chromium through Playwright) against a real Celery
worker that triages in the sandbox and issues the signed reports.

1. A builder uploads a system whose MCP server posts ticket text and the API token to a collector (critical
   lethal trifecta, high ``tools.exfiltration``), claims no exfiltration, types the scope the way people write it
   and is refused with suggestions, then picks a narrow component scope that leaves the server out. Policy
   2026.12.2 escalates instead of giving guidance, and the case page counts and lists the findings outside scope.
2. The case goes through consent, review and decision on the portal pages; the report page, its signed PDF and
   ``/verify/`` show the verdict ("Not supported" above the fold) and the critical finding outside scope.
3. A builder whose case got guidance requests human review with a justification and submits a new configuration
   version through the wizard; the coordinator sees the request on /coordinate/review-requests/ and the versions
   on the case page and its timeline.

Screenshots land in /tmp (assay-walk15-*.png) for a human to look at. No page may raise a CSP violation.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS, new_page, totp_now
from tests.conftest import wait_for
from tests.factories import PASSWORD
from triage.policy import POLICY_VERSION

pytestmark = [pytest.mark.browser, pytest.mark.worker]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VIEWPORT_HEIGHT = 900  # conftest.new_page's window is 1280x900
MANIFEST = {
    "schema_version": 1,
    "name": "Ticket helper agent",
    "models": [{"provider": "ExampleAI", "name": "example-large", "version": "2026-05", "source": "hosted-api"}],
    "harness": {"name": "claude-code", "version": "2.1", "approval_mode": "on-risk"},
    "tools": [],
    "mcp_servers": [{"name": "ticket-helper", "transport": "stdio", "command": "python server.py", "pinned": True}],
    "data_sources": [{"name": "support tickets", "kind": "tickets", "trust": "untrusted",
                      "writable_by_outsiders": True}],
    "egress": {"policy": "allowlist", "allow": ["api.example.invalid"]},
}
# The Claude Code permissions the claim is really about; the MCP server next to them is what leaks.
SETTINGS = {"permissions": {"allow": ["Read", "Grep", "mcp__ticket-helper__summarise_ticket"],
                            "deny": ["Read(./.env)"]}}
TYPED_SCOPE = "Claude Code harness\n.mcp.json servers\n.claude/settings.json permissions"
JUSTIFICATION = ("The guidance says nothing about the tickets MCP server's outbound calls; please have a person "
                 "check whether it can reach hosts outside the allowlist.")


def _system_zip(path: Path) -> Path:
    """tests/fixtures/mcp_servers/exfiltrating (server.py posts its input and API_TOKEN out; .mcp.json starts it)
    with the project's .claude/settings.json added, zipped as a builder would upload it."""
    source = FIXTURES / "mcp_servers" / "exfiltrating"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(source).as_posix())
        archive.writestr(".claude/settings.json", json.dumps(SETTINGS, indent=2))
    return path


def _signed_in(browser, base: str, email: str, secret: str | None = None):  # noqa: ANN001, ANN202
    page = new_page(browser)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    if secret is not None:
        page.wait_for_url(re.compile(r".*/2fa/authenticate/$"))
        page.fill("input[name=code]", totp_now(secret))
        page.locator("main form button[type=submit]").first.click()  # the last one cancels the sign-in
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    return page


def _wait_until_triaged(page, case_pk) -> str:  # noqa: ANN001
    """The case page's status follows the worker (it polls while submitted or triaging); then reload it whole."""
    page.wait_for_selector("#case-status [data-state]:not([data-state=submitted]):not([data-state=triaging])",
                           timeout=60_000)
    page.reload()
    return page.get_attribute("#case-status [data-state]", "data-state")


def _above_the_fold(locator) -> None:  # noqa: ANN001
    box = locator.bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= VIEWPORT_HEIGHT, box


def _shot(page, name: str, *, full_page: bool = True) -> None:  # noqa: ANN001
    page.screenshot(path=str(SCREENSHOTS / f"assay-walk15-{name}.png"), full_page=full_page)


@pytest.mark.django_db(transaction=True)
def test_a_narrow_scope_cannot_hide_an_exfiltrating_server_from_the_page_the_report_or_verify(
        live_server, celery_worker_process, browser, builder, tmp_path):  # noqa: ANN001
    from intake.models import Role, Submission
    from reviews.models import Report, ReviewerProfile
    from tests.factories import enable_totp, make_terms, make_user

    make_terms()
    base = live_server.url
    # Accounts are set-up (sign-up and TOTP enrolment are walked in test_builder_flow).
    coordinator = make_user("coord@assay.example", role=Role.COORDINATOR)
    coordinator_secret = enable_totp(coordinator)
    reviewer = make_user("reviewer@southwind.example", role=Role.REVIEWER, organisation="Southwind")
    reviewer_secret = enable_totp(reviewer)
    ReviewerProfile.objects.create(user=reviewer, expertise=["no-exfiltration"], capacity=2)

    # --- 1. The builder's wizard: claim, manifest, terms, the system's archive.
    page = _signed_in(browser, base, builder.email)
    page.goto(f"{base}/cases/new/")
    page.fill("input[name=title]", "Ticket helper agent")
    page.fill("textarea[name=claim_statement]",
              "Claude Code in this project cannot send ticket contents to any host outside the allowlist.")
    page.select_option("select[name=claim_property]", "no-exfiltration")
    page.select_option("select[name=claim_access_tier]", "grey")
    page.click("#wizard-step button:has-text('Save and continue')")
    page.wait_for_url(re.compile(r".*/edit/manifest/$"))
    page.fill("textarea[name=manifest]", json.dumps(MANIFEST, indent=2))
    page.wait_for_selector("#manifest-check >> text=The manifest matches the schema.")
    page.click("#wizard-step button:has-text('Save and continue')")
    page.wait_for_url(re.compile(r".*/edit/terms/$"))
    page.check("input[name=accept]")
    page.click("button:has-text('Accept and continue')")
    page.wait_for_url(re.compile(r".*/edit/artifacts/$"))
    page.set_input_files("input[name=file]", str(_system_zip(tmp_path / "ticket-helper.zip")))
    page.select_option("select[name=kind]", "archive")
    page.click("button:has-text('Upload')")
    page.wait_for_selector("text=Added ticket-helper.zip.")
    page.click("text=Continue to scope")

    # Scope as people write it is refused, nothing is saved, and each line gets the components it meant.
    page.click("button:has-text('Detect components')")
    page.wait_for_selector("#inventory-status >> text=components detected.")
    page.fill("textarea[name=scope_in_extra]", TYPED_SCOPE)
    page.click("#wizard-step button:has-text('Save and continue')")
    problems = page.locator("#scope-problems")
    problems.wait_for()
    text = problems.inner_text()
    assert "3 scope entries name no component; nothing is saved yet." in text
    for typed, suggestion in ((".mcp.json servers", "mcp-server:ticket-helper"),
                              ("Claude Code harness", "agent:claude-code"),
                              (".claude/settings.json permissions", "harness-config:.claude/settings.json")):
        line = problems.locator("li", has_text=typed)
        assert line.count() == 1 and suggestion in line.inner_text(), (typed, text)
    _shot(page, "scope-refused")
    case_pk = re.search(r"/cases/([0-9a-f-]{36})/", page.url).group(1)
    assert Submission.objects.get(pk=case_pk).claim_scope_in == []

    # The narrow scope: Claude Code and its permissions in, the MCP server and its code explicitly out.
    page.fill("textarea[name=scope_in_extra]", "")
    page.check("input[name=scope_in][value='agent:claude-code']")
    page.check("input[name=scope_in][value='harness-config:.claude/settings.json']")
    page.check("input[name=scope_out][value='mcp-server:ticket-helper']")
    page.check("input[name=scope_out][value='file:server.py']")
    page.click("#wizard-step button:has-text('Save and continue')")
    page.wait_for_url(re.compile(r".*/edit/review/$"))
    page.wait_for_selector("text=Everything needed is in place.")
    page.click("button:has-text('Submit for triage')")
    page.wait_for_url(re.compile(rf".*/cases/{case_pk}/$"))

    # Policy 2026.12.2 on: a critical finding of the claimed property anywhere escalates; it is counted and listed.
    assert _wait_until_triaged(page, case_pk) == "awaiting_consent"
    outcome = page.inner_text(".triage-outcome")
    assert "Decision: Escalate" in outcome and f"policy {POLICY_VERSION}" in outcome
    reasons = page.inner_text("#case-triage .reasons")
    assert "outside this claim's scope" in reasons and "trifecta.lethal-trifecta at server.py" in reasons
    note = page.locator("#case-triage .outside-scope")
    assert "1 critical, 1 high, 1 medium findings outside this claim's scope." in note.inner_text()
    critical = page.locator("#case-triage ul.findings li", has_text="trifecta.lethal-trifecta")
    assert critical.locator(".tag.outside").count() == 1 and "server.py:14" in critical.inner_text()
    assert page.locator("#case-triage .tag.outside").count() == 3
    assert "No findings." not in page.inner_text("#case-triage")
    # Long evidence lines wrap inside the card instead of being cut off at its edge.
    assert page.eval_on_selector_all("#case-triage pre.evidence",
                                     "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).length") == 0
    _shot(page, "case-escalated")

    # --- 2. Consent (builder), plan and grant (coordinator), review (reviewer), decision (coordinator).
    page.click("a:has-text('Review access and consent')")
    page.wait_for_selector("#tier-required >> text=Grey")
    page.check("input[name=answer][value=accept]")
    page.select_option("select[name=tier]", "grey")
    page.click("button:has-text('Send answer')")
    page.wait_for_url(re.compile(rf".*/cases/{case_pk}/$"))
    assert "is now in review" in page.inner_text(".messages")

    coord = _signed_in(browser, base, coordinator.email, coordinator_secret)
    coord.goto(f"{base}/coordinate/cases/{case_pk}/")
    assert reviewer.pseudonym in coord.inner_text("#plan")
    coord.click("#assign-plan")
    coord.wait_for_selector(f".messages >> text=Proposed the case to {reviewer.pseudonym}.")

    rev = _signed_in(browser, base, reviewer.email, reviewer_secret)
    rev.goto(f"{base}/review/")
    rev.click("#proposed button:has-text('Accept')")
    rev.wait_for_selector(".messages >> text=Accepted case")

    coord.reload()
    coord.select_option("#grant-form select[name=tier]", "grey")
    coord.fill("#grant-form input[name=days]", "7")
    coord.click("#grant-form button[type=submit]")
    coord.wait_for_selector(f".messages >> text=Granted grey box access to {reviewer.pseudonym}")

    # (Reading artifacts in the watermarking viewer is walked in test_review_flow; the review form is used here.)
    rev.goto(f"{base}/review/cases/{case_pk}/review/")
    rev.check("input[name=verdict][value=not_supported]")
    rev.fill("input[name=confidence]", "85")
    rev.fill("textarea[name=limitations]", "Grey box: code and configuration read, nothing run.")
    rev.fill("input[name=findings-0-title]", "summarise_ticket posts ticket text and API_TOKEN to a collector")
    rev.select_option("select[name=findings-0-severity]", "critical")
    rev.fill("input[name=findings-0-evidence]", "server.py:14")
    rev.fill("textarea[name=findings-0-remediation]", "Remove the collector call; it is not part of the tool.")
    rev.click("button:has-text('Submit review')")
    rev.wait_for_selector(".messages >> text=is submitted.")

    coord.reload()
    assert coord.input_value("#decision-form select[name=verdict]") == ""  # no verdict is preselected
    coord.select_option("#decision-form select[name=verdict]", "not_supported")
    coord.fill("#decision-form textarea[name=rationale]",
               "The excluded ticket-helper server sends ticket text out; the claim does not hold for this system.")
    coord.click("#decision-form button[type=submit]")
    coord.wait_for_selector("#decision >> text=Not supported within scope")

    # The worker issues the signed assessment report once the decision commits.
    report = wait_for(lambda: Report.objects.filter(submission_id=case_pk, kind="assessment").first(), timeout=60)
    page.goto(f"{base}/cases/{case_pk}/")
    page.click("#case-reports a:has-text('view')")
    page.wait_for_url(re.compile(rf".*/reports/{report.pk}/$"))
    verdict = page.locator("p.verdict")
    assert verdict.inner_text() == "Verdict: Not supported within scope"
    _above_the_fold(verdict)
    outside = page.locator("tr.outside-scope")
    assert "1 critical, 1 high, 1 medium findings" in outside.inner_text()
    assert page.locator("strong.outside", has_text="outside the claim's scope").count() >= 1
    _shot(page, "report-page")

    from pypdf import PdfReader

    pdf = page.request.get(f"{base}/cases/{case_pk}/reports/{report.pk}.pdf")
    assert pdf.status == 200
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf.body())).pages)
    (SCREENSHOTS / "assay-walk15-report.txt").write_text(text)
    assert "Verdict: Not supported within scope" in text and not re.search(r"notsupported", text, re.I)
    assert re.search(r"Outside the claim's scope:? 1 critical, 1 high, 1 medium findings", text), text[:3000]
    assert "trifecta.lethal-trifecta" in text

    # /verify/, as anyone holding the report id (no sign-in): the verdict first, above the fold, then the rest.
    visitor = new_page(browser)
    visitor.goto(f"{base}/verify/?id={report.pk}")
    verdict = visitor.locator(".verify-result .verdict")
    assert verdict.inner_text() == "Not supported within scope"
    _above_the_fold(verdict)
    assert verdict.bounding_box()["y"] < visitor.locator(".verify-result h2").bounding_box()["y"]
    assert visitor.inner_text(".verify-result h2") == "Valid and current"
    outside = visitor.locator(".verify-result .outside-scope")
    assert "1 critical, 1 high, 1 medium" in outside.inner_text()
    assert "server.py" in outside.inner_text()
    _shot(visitor, "verify", full_page=False)
    for each in (page, coord, rev, visitor):
        assert each.csp_violations == []


@pytest.mark.django_db(transaction=True)
def test_after_guidance_the_builder_requests_review_and_submits_a_new_version_and_the_coordinator_sees_both(
        live_server, celery_worker_process, browser, builder, tmp_path):  # noqa: ANN001
    from intake.models import ReviewRequest, Role, Submission
    from intake.services import submission_submit
    from tests.factories import enable_totp, make_draft, make_user

    base = live_server.url
    coordinator = make_user("coord@assay.example", role=Role.COORDINATOR)
    coordinator_secret = enable_totp(coordinator)
    # Set-up through services (the wizard is walked above and in test_builder_flow): the factory's draft
    # (settings.json, manifest, scope agent:manifest + mcp-server:tickets), submitted; the worker triages it.
    first = submission_submit(submission=make_draft(builder, title="Ticket triage agent"), actor=builder)

    page = _signed_in(browser, base, builder.email)
    page.goto(f"{base}/cases/{first.pk}/")
    assert _wait_until_triaged(page, first.pk) == "closed"
    assert "Decision: Guidance" in page.inner_text(".triage-outcome")
    assert "request human review or submit a new version" in page.inner_text("#case-status")

    # (a) Request human review: a too-short justification is refused and kept, then a real one is accepted.
    form = page.locator("#review-request-form")
    form.locator("textarea[name=justification]").fill("Please look again.")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#review-request-form .errorlist")
    assert page.input_value("#review-request-form textarea[name=justification]") == "Please look again."
    page.fill("#review-request-form textarea[name=justification]", JUSTIFICATION)
    page.locator("#review-request-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/cases/{first.pk}/$"))
    assert "Human review of case" in page.inner_text(".messages")
    assert "waiting for a coordinator" in page.inner_text("#case-next-steps")
    assert "Pending" in page.inner_text("#case-versions .review-requests")
    _shot(page, "review-requested")

    # (b) A new configuration version: a pre-filled draft; new terms acceptance, a changed file, components again.
    page.click("#new-version-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/[0-9a-f-]{36}/edit/claim/$"))
    assert "pre-filled from" in page.inner_text(".messages")
    assert page.input_value("textarea[name=claim_statement]") == first.claim_statement
    second_pk = re.search(r"/cases/([0-9a-f-]{36})/", page.url).group(1)
    page.click("#wizard-step button:has-text('Save and continue')")
    page.wait_for_url(re.compile(r".*/edit/manifest/$"))
    page.click("#wizard-step button:has-text('Save and continue')")
    page.wait_for_url(re.compile(r".*/edit/terms/$"))
    page.check("input[name=accept]")
    page.click("button:has-text('Accept and continue')")
    page.wait_for_url(re.compile(r".*/edit/artifacts/$"))
    config = tmp_path / "settings.json"
    config.write_text('{"permissions": {"allow": ["Read"], "deny": ["WebFetch", "Bash(curl:*)"]}}')
    page.set_input_files("input[name=file]", str(config))
    page.select_option("select[name=kind]", "config")
    page.click("button:has-text('Upload')")
    page.wait_for_selector("text=Added settings.json.")
    page.click("text=Continue to scope")
    page.click("button:has-text('Detect components')")
    page.wait_for_selector("#inventory-status >> text=components detected.")
    # The carried scope is ticked for the new inventory.
    assert page.is_checked("input[name=scope_in][value='mcp-server:tickets']")
    page.click("#wizard-step button:has-text('Save and continue')")
    page.wait_for_url(re.compile(r".*/edit/review/$"))
    page.wait_for_selector("text=Everything needed is in place.")
    page.click("button:has-text('Submit for triage')")
    page.wait_for_url(re.compile(rf".*/cases/{second_pk}/$"))
    second = Submission.objects.get(pk=second_pk)
    assert (second.version, second.previous_version_id) == (2, first.pk)
    assert second.config_digest and second.config_digest != Submission.objects.get(pk=first.pk).config_digest
    assert _wait_until_triaged(page, second_pk) in ("closed", "awaiting_consent")
    assert "exact duplicate" not in page.inner_text("#case-triage")

    # The coordinator sees the request waiting, with the builder's justification, and both versions.
    coord = _signed_in(browser, base, coordinator.email, coordinator_secret)
    coord.goto(f"{base}/coordinate/review-requests/")
    request = ReviewRequest.objects.get(submission=first)
    card = coord.locator(f"#request-{request.pk}")
    assert first.reference in card.inner_text() and JUSTIFICATION[:60] in card.inner_text()
    _shot(coord, "coordinator-review-requests")
    coord.goto(f"{base}/cases/{first.pk}/")
    versions = coord.inner_text("#case-versions .versions")
    assert f"Version 1: {first.reference} (this case)" in versions and f"Version 2: {second.reference}" in versions
    timeline = coord.inner_text("#case-status .timeline")
    assert "Human review requested" in timeline and "New configuration version started" in timeline
    assert "Answer the request for human review" in coord.inner_text("#case-next-steps")
    _shot(coord, "coordinator-case-versions")
    coord.goto(f"{base}/cases/{second_pk}/")
    assert f"Version 1: {first.reference}" in coord.inner_text("#case-versions .versions")
    for each in (page, coord):
        assert each.csp_violations == []
