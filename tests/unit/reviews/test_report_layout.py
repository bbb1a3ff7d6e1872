"""The report reads as an assessment (issue 15 item 7): page 1 is an executive summary that names the claim, the
verdict, what was examined, the headline findings and where to verify; findings found in the manifest and in the
file are one row; the evidence column is there, masked and inside the page; one font family."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from intake.models import Submission
from intake.states import State
from intake.models import Role
from reviews.models import Consent, Decision, Report, Review, Verdict
from reviews.report_findings import findings_merged, headline_findings, merge_key, report_evidence
from reviews.reports import report_issue
from tests.factories import make_user
from tests.unit.reviews.test_reports import closed_case
from triage.models import TriageResult

DB_PASSWORD = "Qw7rT2uV9xZ4bN6mLp"
LONG_ARGUMENT = "--allow-host=" + ",".join(f"h{n}.internal.example" for n in range(40))


def _finding(check: str, severity: str, path: str, line: int | None, evidence: str, title: str = "") -> dict:
    return {"check": check, "title": title or check.replace(".", ": ").replace("-", " "), "severity": severity,
            "categories": ["provenance"], "path": path, "line": line, "evidence": evidence,
            "remediation": f"Fix {check} at its source."}


# As triage reports one system whose servers are declared both in the submitted manifest and in .mcp.json.
SYSTEM_FINDINGS = [
    _finding("trifecta.lethal-trifecta", "critical", "", None,
             "claude-code: reads web via mcp:browser; sees private via mcp:jira; sends out via mcp:postgres",
             "Private data, untrusted input and an exit in one agent"),
    _finding("approval.bypass-permissions", "high", "(manifest)", None, "permissions.mode: bypassPermissions",
             "Permission prompts are bypassed"),
    _finding("provenance.unpinned-mcp-package", "high", ".mcp.json", 17, "browser: npx @playwright/mcp@latest",
             "MCP server fetched unpinned at run time"),
    _finding("provenance.unpinned-mcp-package", "medium", "(manifest)", None,
             "mcp_servers[browser]: npx @playwright/mcp@latest", "MCP server fetched unpinned at run time"),
    _finding("provenance.unpinned-mcp-package", "medium", ".mcp.json", 3, "jira: npx -y @atlas-tools/jira-mcp",
             "MCP server fetched unpinned at run time"),
    _finding("provenance.unpinned-mcp-package", "medium", "(manifest)", None,
             "mcp_servers[jira]: npx -y @atlas-tools/jira-mcp", "MCP server fetched unpinned at run time"),
    _finding("provenance.unpinned-mcp-package", "medium", ".mcp.json", 12,
             f"postgres: uvx postgres-mcp postgresql://analytics_admin:{DB_PASSWORD}@warehouse.internal:5432/a",
             "MCP server fetched unpinned at run time"),
    _finding("hooks.network-call", "medium", ".claude/settings.json", 10, f"SessionStart: curl {LONG_ARGUMENT}",
             "A hook calls the network"),
    _finding("hooks.network-call", "medium", ".claude/settings.json", 18, "PostToolUse: curl https://c.example/e",
             "A hook calls the network"),
]


def test_the_same_flaw_in_the_manifest_and_the_file_is_one_row_naming_both_places():
    rows = findings_merged(SYSTEM_FINDINGS)
    unpinned = [r for r in rows if r["check"] == "provenance.unpinned-mcp-package"]
    assert len(unpinned) == 3  # browser, jira, postgres: three servers, not five reports
    browser = next(r for r in unpinned if "playwright" in r["evidence"])
    assert [p["path"] for p in browser["locations"]] == [".mcp.json", "(manifest)"]
    assert browser["severity"] == "high" and browser["merged"] == 2  # the more severe report leads
    # Two network calls from different hooks stay two rows; so do different checks on one subject.
    assert len([r for r in rows if r["check"] == "hooks.network-call"]) == 2
    assert merge_key(SYSTEM_FINDINGS[2]) != merge_key({**SYSTEM_FINDINGS[2], "check": "provenance.other"})
    # Without evidence nothing shows two places share a flaw: such findings are never merged.
    bare = [_finding("x.y", "low", "a.json", 1, ""), _finding("x.y", "low", "b.json", 1, "")]
    assert len(findings_merged(bare)) == 2
    assert [r["severity"] for r in rows] == sorted((r["severity"] for r in rows),
                                                   key=["critical", "high", "medium", "low", "info"].index)


def test_a_merged_row_is_outside_scope_only_when_every_place_is():
    inside = {**SYSTEM_FINDINGS[2]}
    outside = {**SYSTEM_FINDINGS[3], "outside_scope": True}
    row = findings_merged([inside, outside])[0]
    assert row["outside_scope"] is False
    assert [p["outside_scope"] for p in row["locations"]] == [False, True]
    assert findings_merged([{**inside, "outside_scope": True}, outside])[0]["outside_scope"] is True


def test_report_evidence_masks_url_passwords_and_stays_short():
    evidence = report_evidence(SYSTEM_FINDINGS[6]["evidence"])
    assert DB_PASSWORD not in evidence and "analytics_admin:" in evidence and "@warehouse.internal" in evidence
    assert len(report_evidence("x " * 500)) <= 160
    assert headline_findings(findings_merged(SYSTEM_FINDINGS), count=2)[0]["severity"] == "critical"


def _system_case(builder) -> Submission:  # noqa: ANN001
    submission = closed_case(builder)
    submission.claim_scope_in = [".mcp.json"]
    submission.save(update_fields=["claim_scope_in"])  # sealed fields are written through save()
    result = TriageResult.objects.get(submission=submission)
    result.findings, result.decision, result.score = SYSTEM_FINDINGS, "escalate", 98
    result.save(update_fields=["findings", "decision", "score"])
    submission.refresh_from_db()
    return submission


def _pages(pdf_bytes: bytes, tmp_path: Path, name: str) -> tuple[list[str], list[Path]]:
    from tests.conftest import REQUIRE_SERVICES

    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)("poppler-utils is not installed")
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / name)], check=True, timeout=60)
    pngs = sorted(tmp_path.glob(f"{name}-*.png"))
    count = len(PdfReader(str(pdf)).pages)
    # -raw keeps the content stream order, so a wrapped table cell reads on (no interleaved columns).
    texts = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-raw", str(pdf), "-"], check=True,
                            capture_output=True, text=True, timeout=60).stdout for n in range(1, count + 1)]
    return texts, pngs


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _fonts(pdf_bytes: bytes, tmp_path: Path) -> set[str]:
    pdf = tmp_path / "fonts.pdf"
    pdf.write_bytes(pdf_bytes)
    listing = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True, timeout=60).stdout
    return {line.split()[0].split("+")[-1] for line in listing.splitlines()[2:] if line.strip()}


@pytest.mark.django_db
def test_the_guidance_report_opens_with_an_executive_summary(builder, settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_PUBLIC_URL = "https://assay.example.org/"
    report = report_issue(submission=_system_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    predicate = report.statement["predicate"]
    assert predicate["verify_url"] == f"https://assay.example.org/verify/?id={report.pk}"
    assert predicate["signing_key"]["key_id"] == report.key_id
    assert _flat(predicate["signing_key"]["fingerprint"]).startswith("SHA256:" + report.key_id.split(":")[1])
    assert all(DB_PASSWORD not in f["evidence"] for f in predicate["findings"])

    texts, pngs = _pages(bytes(report.pdf), tmp_path, "guidance")
    assert len(texts) <= 4 and len(pngs) == len(texts)
    assert all(png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)
    first = texts[0]
    assert "No verdict: automated triage guidance" in first
    assert "The agent cannot send ticket contents" in first  # the claim
    assert _flat(f"Verify at https://assay.example.org/verify/?id={report.pk}") in _flat(first)
    assert "certifiesnothing" in _flat(first)  # the disclaimer stays on page 1
    assert report.key_id in first and "Key fingerprint" in first
    assert "Static triage" in first and "Dynamic stage" in first and "Human review" in first
    assert "Headline findings" in first and "Private data, untrusted input and an exit" in first
    assert "outside the claim's scope" in first
    assert "Fix trifecta.lethal-trifecta" not in first  # remediation detail is for the findings table
    rest = "\n".join(texts[1:])
    assert re.search(r"Severity\s+Finding\s+Where\s+Evidence\s+Remediation", rest)
    assert DB_PASSWORD not in _flat(rest) and "analytics_admin:" in _flat(rest)
    assert "submittedmanifest" in _flat(rest)  # the merged row names both places
    assert _flat(rest).count("jira:npx-y@atlas-tools/jira-mcp") == 1  # the file's report leads, once
    assert "mcp_servers[jira]" not in _flat(rest)
    # A long evidence line wraps inside its column and ends, shortened, with an ellipsis.
    assert "h5.internal.example" in _flat(rest) and "h39.internal" not in _flat(rest)
    _assert_text_inside_the_page(bytes(report.pdf), tmp_path)
    fonts = _fonts(bytes(report.pdf), tmp_path)
    assert "DejaVu-Sans" in fonts and all(name.startswith("DejaVu-Sans") for name in fonts), fonts


def _assert_text_inside_the_page(pdf_bytes: bytes, tmp_path: Path) -> None:
    """Every word's box lies within the page's margins (nothing runs off the right edge)."""
    pdf = tmp_path / "bbox.pdf"
    pdf.write_bytes(pdf_bytes)
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', html, re.S)
    assert pages
    for width, body in pages:
        right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', body)]
        assert right_edges and max(right_edges) <= float(width) - 30  # 15 mm margin is about 42 pt


@pytest.mark.django_db
def test_the_assessment_report_leads_with_its_verdict_and_review(builder, coordinator, settings,
                                                                  tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_PUBLIC_URL = "http://127.0.0.1:8000"
    submission = _system_case(builder)
    Submission.objects.filter(pk=submission.pk).update(state=State.DECIDED)
    submission.refresh_from_db()
    reviewer = make_user("reviewer@assay.example", role=Role.REVIEWER)
    Review.objects.create(submission=submission, reviewer=reviewer, verdict=Verdict.NOT_SUPPORTED, confidence=80,
                          findings=[{"severity": "critical", "title": "Ticket text reaches the mail tool unfiltered",
                                     "remediation": "Put the mail tool behind an approval."}],
                          limitations="Grey box only: the mail relay's own code was redacted.")
    Consent.objects.create(submission=submission, tier_required="grey", granted_tier="grey")
    Decision.objects.create(submission=submission, coordinator=coordinator, verdict=Verdict.NOT_SUPPORTED,
                            rationale="the reviewers found an exfiltration path through the mail tool")
    report = report_issue(submission=submission, kind=Report.Kind.ASSESSMENT, actor=None)
    texts, _pngs = _pages(bytes(report.pdf), tmp_path, "assessment")
    first = " ".join(texts[0].split())
    assert "Claim not supported within scope" in first and "Verdict: Not supported within scope" in first
    assert "Human review: 1 reviewer(s) with grey box (redacted artifacts) access" in first
    # The reviewer's critical finding headlines, first among the criticals, marked as a reviewer's.
    headline = first[first.index("Headline findings"):]
    assert headline.index("Ticket text reaches the mail tool") < headline.index("Private data, untrusted input")
    assert "found by a reviewer" in headline
    assert _flat(f"Verify at http://127.0.0.1:8000/verify/?id={report.pk}") in _flat(first)
    assert "notsupported" not in "".join(texts)
    assert "exfiltration path through the mail tool" not in first  # the rationale opens page two
    assert len(texts) <= 4


@pytest.mark.django_db
def test_the_printed_qr_code_is_the_verification_url(builder, settings, tmp_path):  # noqa: ANN001
    """Read the QR code back off the rendered page: module by module it is segno's code of the absolute URL."""
    import segno
    from PIL import Image

    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_PUBLIC_URL = "https://assay.example.org"
    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    _pages(bytes(report.pdf), tmp_path, "qr")  # skips or fails as the other layout tests do without poppler
    pdf = tmp_path / "qr.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(tmp_path / "qr-hi")], check=True, timeout=60)
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    verify = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">Verify</word>', bbox)
    assert verify, "page 1 names where to verify"
    scale = 200 / 72
    x_max, y_top = float(verify.group(1)) * scale, float(verify.group(2)) * scale
    image = Image.open(tmp_path / "qr-hi.png").convert("L")
    region = image.crop((0, int(y_top - 20 * scale), int(x_max - 2 * scale), int(y_top + 100 * scale)))
    # The code is the tallest band of rows with dark pixels (the band above, if any, is the text before it).
    dark_rows = [y for y in range(region.height) if region.crop((0, y, region.width, y + 1)).getextrema()[0] < 128]
    bands, start = [], dark_rows[0]
    for previous, y in zip(dark_rows, dark_rows[1:] + [None]):
        if y is None or y - previous > 12:
            bands.append((start, previous + 1))
            start = y
    top, bottom = max(bands, key=lambda band: band[1] - band[0])
    band = region.crop((0, top, region.width, bottom)).point(lambda v: 255 if v < 128 else 0)
    left, _, right, _ = band.getbbox()
    matrix = segno.make(report.statement["predicate"]["verify_url"], error="m").matrix
    size = len(matrix)
    module = (right - left) / size
    assert abs((bottom - top) - (right - left)) <= 2 and module >= 5  # square, and big enough to scan
    same = sum((region.getpixel((int(left + (c + .5) * module), int(top + (r + .5) * module))) < 128)
               == bool(matrix[r][c]) for r in range(size) for c in range(size))
    assert same / size**2 > 0.98


@pytest.mark.django_db
def test_a_report_issued_before_these_fields_still_renders(builder, settings, tmp_path):  # noqa: ANN001
    from reviews.reports import report_html

    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_PUBLIC_URL = "https://assay.example.org"
    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    predicate = {k: v for k, v in report.statement["predicate"].items() if k not in ("verify_url", "signing_key")}
    predicate["findings"] = [{k: v for k, v in f.items() if k != "evidence"} for f in predicate["findings"]]
    html = report_html(predicate, for_pdf=False)
    assert f"Verify at https://assay.example.org/verify/?id={report.pk}" in html
    assert "Key fingerprint" not in html and '<svg viewBox="0 0' in html
