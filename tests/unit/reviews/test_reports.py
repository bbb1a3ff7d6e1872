"""Signed, claim-scoped reports: round trip, tampering of every part, revocation, expiry, key rotation, log."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from pypdf import PdfReader, PdfWriter

from intake.digest import config_digest
from intake.models import Submission
from intake.states import State, transition
from reviews.models import Report, TransparencyEntry
from reviews.report_pdf import SIGNATURE_NAME, STATEMENT_NAME
from reviews.reports import report_issue, report_revoke, report_verify
from reviews.transparency import keyring, log_check_history
from tests.factories import make_draft
from triage.models import TriageResult


def closed_case(builder) -> Submission:  # noqa: ANN001
    submission = make_draft(builder)
    digest = config_digest(files=[("settings.json", "a" * 64)], manifest=submission.manifest)
    Submission.objects.filter(pk=submission.pk).update(config_digest=digest)
    submission.refresh_from_db()
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.CLOSED):
        submission = transition(submission, state, actor=None)
    TriageResult.objects.create(
        submission=submission, policy_version="test-1", sandbox="bubblewrap", config_digest=digest, score=35,
        decision="guidance", reasons=["no finding needs a human for this claim"], findings=[
            {"check": "provenance.unpinned-mcp-package", "title": "MCP server fetched unpinned at run time",
             "severity": "medium", "categories": ["provenance"], "path": ".mcp.json", "line": 3,
             "evidence": "npx -y pkg@latest", "remediation": "Pin the package version."}])
    return submission


@pytest.fixture
def report(builder, settings, tmp_path):  # noqa: ANN001, ANN201
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    return report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)


def _pdf(report: Report) -> bytes:
    return bytes(report.pdf)


@pytest.mark.django_db
def test_issued_report_verifies_and_names_claim_digest_and_limits(report):  # noqa: ANN001
    result = report_verify(_pdf(report))
    assert result.status == "valid", result.message
    predicate = result.statement["predicate"]
    assert result.statement["subject"][0]["digest"]["sha256"] == report.config_digest.removeprefix("sha256:")
    assert predicate["claim"]["property"] == "no-exfiltration"
    assert "certifies nothing" in predicate["disclaimer"]
    assert predicate["findings"][0]["check"] == "provenance.unpinned-mcp-package"
    assert "LLM03:2025" in predicate["findings"][0]["taxonomy"]  # OWASP LLM supply chain
    assert TransparencyEntry.objects.filter(index=report.log_index, kind="report").exists()
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(_pdf(report))).pages).split())
    assert "certifies nothing" in text and "Pin the package version." in text


@pytest.mark.django_db
def test_flipping_a_byte_of_the_pdf_is_tampering(report):  # noqa: ANN001
    data = bytearray(_pdf(report))
    length = report.statement["predicate"]["pdf"]["length"]
    data[length // 2] ^= 0x01
    assert report_verify(bytes(data)).status == "tampered"


@pytest.mark.django_db
def test_editing_the_embedded_statement_or_signature_fails(report):  # noqa: ANN001
    original = _pdf(report)
    reader = PdfReader(io.BytesIO(original))
    statement = json.loads(reader.attachments[STATEMENT_NAME][0])
    statement["predicate"]["claim"]["property"] = "least-privilege"
    forged = _replace_attachment(original, STATEMENT_NAME, json.dumps(statement).encode())
    assert report_verify(forged).status in {"tampered", "bad_signature"}

    signature = json.loads(reader.attachments[SIGNATURE_NAME][0])
    signature["signature"] = signature["signature"][:-4] + ("AAA=" if not signature["signature"].endswith("AAA=")
                                                             else "BBB=")
    assert report_verify(_replace_attachment(original, SIGNATURE_NAME, json.dumps(signature).encode())).status in {
        "bad_signature", "tampered"}


def _replace_attachment(pdf: bytes, name: str, content: bytes) -> bytes:
    """An attacker's second incremental update that swaps one attachment."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_attachment(name, content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.django_db
def test_revoked_report_verifies_as_revoked(report, coordinator):  # noqa: ANN001
    report_revoke(report=report, actor=coordinator, reason="configuration digest was computed on a wrong upload")
    result = report_verify(_pdf(report))
    assert result.status == "revoked"
    assert "wrong upload" in result.message
    assert TransparencyEntry.objects.filter(kind="revocation").count() == 1


@pytest.mark.django_db
def test_report_past_expiry_verifies_as_expired(report):  # noqa: ANN001
    later = report.expires_at + timedelta(seconds=1)
    assert report_verify(_pdf(report), now=later).status == "expired"


@pytest.mark.django_db
def test_old_report_still_verifies_after_key_rotation(report):  # noqa: ANN001
    old_key = report.key_id
    keyring().rotate()
    assert keyring().current_key_id() != old_key
    assert report_verify(_pdf(report)).status == "valid"


@pytest.mark.django_db
def test_report_signed_by_an_unpublished_key_is_rejected(report, settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "other" / "signing.pem")
    assert report_verify(_pdf(report)).status == "unknown_key"


@pytest.mark.django_db
def test_verify_report_command_exit_codes(report, tmp_path, capsys):  # noqa: ANN001
    good = tmp_path / "report.pdf"
    good.write_bytes(_pdf(report))
    call_command("verify_report", str(good))
    assert capsys.readouterr().out.startswith("No verdict: automated triage guidance, the claim was not assessed. Valid: guidance report")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 not really")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_report", str(bad))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith("tampered:")


@pytest.mark.django_db
def test_transparency_log_detects_a_rewritten_entry(report):  # noqa: ANN001
    assert log_check_history().ok
    TransparencyEntry.objects.filter(index=report.log_index).update(subject_sha256="0" * 64)
    result = log_check_history()
    assert not result.ok
    assert "rewritten" in result.message


@pytest.mark.django_db
def test_assessment_report_needs_a_decision(builder):  # noqa: ANN001
    from intake.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="coordinator decision"):
        report_issue(submission=closed_case(builder), kind=Report.Kind.ASSESSMENT, actor=None)


@pytest.mark.django_db
def test_a_rebuilt_container_with_an_edited_statement_or_forged_signature_fails_the_signature(report):  # noqa: ANN001
    from reviews.report_pdf import canonical, embed, extract

    extracted = extract(_pdf(report))
    edited = json.loads(extracted.statement_bytes)
    edited["predicate"]["claim"]["scope_out"] = []
    rebuilt = embed(pdf=extracted.prefix, statement_bytes=canonical(edited), key_id=extracted.key_id,
                    signature=extracted.signature)
    assert report_verify(rebuilt).status == "bad_signature"
    forged = embed(pdf=extracted.prefix, statement_bytes=extracted.statement_bytes, key_id=extracted.key_id,
                   signature=bytes(64))
    assert report_verify(forged).status == "bad_signature"


@pytest.mark.django_db
def test_an_update_that_also_redefines_a_page_is_tampering(report):  # noqa: ANN001
    """One appended section carrying the genuine attachments plus a changed page must still fail."""
    from reviews.report_pdf import extract

    extracted = extract(_pdf(report))
    writer = PdfWriter(io.BytesIO(extracted.prefix), incremental=True)
    writer.pages[0].mediabox.upper_right = (300, 300)
    reader = PdfReader(io.BytesIO(_pdf(report)))
    writer.add_attachment(STATEMENT_NAME, reader.attachments[STATEMENT_NAME][0])
    writer.add_attachment(SIGNATURE_NAME, reader.attachments[SIGNATURE_NAME][0])
    out = io.BytesIO()
    writer.write(out)
    result = report_verify(out.getvalue())
    assert result.status == "tampered"
    assert result.message.startswith("PDF object "), result.message


@pytest.mark.django_db
def test_first_page_renders_to_png_and_is_the_summary(report, tmp_path):  # noqa: ANN001
    import shutil
    import subprocess

    from tests.conftest import REQUIRE_SERVICES

    if not shutil.which("pdftoppm"):
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)("poppler-utils is not installed")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(_pdf(report))
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    first_page = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], check=True,
                                capture_output=True, text=True, timeout=60).stdout
    assert "Automated triage guidance" in first_page
    assert report.config_digest[:30] in first_page.replace("\n", "").replace(" ", "")
    assert "certifies nothing" in " ".join(first_page.split())
    assert "Pin the package version." not in first_page  # findings detail starts on page two


@pytest.mark.django_db
def test_a_resubmission_links_to_the_earlier_report_and_says_what_changed(report, builder):  # noqa: ANN001
    from intake.models import Artifact

    second = closed_case(builder)  # same title, new configuration
    Artifact.objects.filter(submission=second).update(sha256="f" * 64)
    for result in TriageResult.objects.filter(submission=second):  # findings are sealed: save, not update
        result.findings = []
        result.save(update_fields=["findings"])
    later = report_issue(submission=second, kind=Report.Kind.GUIDANCE, actor=None)
    changes = later.statement["predicate"]["changes"]
    assert later.statement["predicate"]["supersedes"] == str(report.pk)
    assert changes["artifacts_changed"] == ["settings.json"]
    assert changes["findings_resolved"] == ["provenance.unpinned-mcp-package"]
    assert changes["findings_new"] == []


@pytest.mark.django_db
def test_a_replaced_log_row_neither_fools_verification_nor_gets_signed(report):  # noqa: ANN001
    """Verification proves inclusion against the head signed at issue, so editing the stored row changes nothing
    for the report, is never signed into a new head, and the history check names the rewrite."""
    from reviews.models import SignedTreeHead

    heads_before = SignedTreeHead.objects.count()
    TransparencyEntry.objects.filter(index=report.log_index).update(leaf_hash="0" * 64)
    assert report_verify(_pdf(report)).status == "valid"
    assert SignedTreeHead.objects.count() == heads_before
    check = log_check_history()
    assert not check.ok and "rewritten" in check.message
