"""Claim-scoped reports: compose, render (HTML and tagged PDF), sign, log, verify, revoke.

A report speaks only to one claim at one configuration digest, carries its
limitations and an expiry, and says plainly that it certifies nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from intake.audit import audit_append
from intake.errors import ValidationFailed
from intake.models import NotificationKind, Submission, User
from intake.notifications import notify
from intake.states import StaleTransition, State, transition
from reviews.models import Report, SignedTreeHead, TransparencyEntry
from reviews.report_findings import findings_merged, headline_findings, report_evidence
from reviews.report_pdf import ContainerInvalid, canonical, embed, extract
from reviews.transparency import inclusion_for, keyring, log_append, sth_sign
from reviews.verdicts import verdict_of

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://assay.invalid/attestations/claim-assessment/v1"
DISCLAIMER = ("This report assesses one stated claim about one fixed configuration, identified by its "
              "configuration digest. It certifies nothing: it is not a statement that the system is safe. "
              "Responsibility for releasing and operating the system stays with the builder.")
VALID_DAYS = {Report.Kind.GUIDANCE: 180, Report.Kind.ASSESSMENT: 365}
NOT_CHECKED_BY_TRIAGE = [
    "Behaviour of the models themselves (triage reads configuration and code; it does not query models).",
    "Components outside the stated scope, and infrastructure the configuration does not describe.",
    "Runtime behaviour of MCP servers and tools, unless a dynamic stage result is listed.",
]
CSS_PATH = Path(__file__).resolve().parent.parent / "static" / "assay" / "report.css"


def _iso(moment: datetime) -> str:
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _latest_triage(submission: Submission):  # noqa: ANN202
    from triage.models import TriageResult

    return TriageResult.objects.filter(submission=submission).order_by("-created_at").first()


def _taxonomy_ids(check: str) -> list[str]:
    """OWASP LLM / agentic, MITRE ATLAS and CWE ids for a check, in that order."""
    from triage.taxonomy import taxonomy_for

    mapping = taxonomy_for(check)
    return [ref["id"] for scheme in ("owasp_llm", "owasp_agentic", "atlas", "cwe") for ref in mapping[scheme]]


def _dynamic_summary(submission: Submission) -> dict:
    from triage.dynamic.selectors import dynamic_closing_note, dynamic_latest_run

    run = dynamic_latest_run(submission=submission)
    findings = [{k: f.get(k) for k in ("check", "title", "severity", "categories", "remediation")}
                for f in (run.findings if run else [])]
    return {"ran": run is not None and run.ran, "summary": dynamic_closing_note(run=run), "findings": findings}


def _outside_scope(triage, submission: Submission) -> tuple[dict, list[dict]]:  # noqa: ANN001
    """Findings outside the claim's scope, counted and named, so the report cannot read cleaner than the system:
    (the predicate's summary, the stored findings it names)."""
    from triage.selectors import findings_outside_scope

    if triage is None:
        return {"counts": {}, "findings": []}, []
    outside = findings_outside_scope(triage, submission)
    return ({"counts": outside["counts"], "findings": [{k: f.get(k) for k in ("check", "title", "severity", "path",
                                                                             "line")} for f in outside["findings"]]},
            outside["findings"])


def verify_url_for(report_id: str) -> str:
    """Where anyone checks this report: absolute, so a printed copy (and its QR code) leads back here."""
    return f"{settings.ASSAY_PUBLIC_URL.rstrip('/')}/verify/?{urlencode({'id': report_id})}"


def signing_key_summary() -> dict:
    """The key that signs this report: its id and the SHA-256 fingerprint of its raw public key (the id is that
    fingerprint's first 16 hex digits), to compare with /.well-known/assay-keys.json."""
    key_id = keyring().current_key_id()
    key = next(k for k in keyring().published_keys() if k.key_id == key_id)
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return {"key_id": key_id, "fingerprint": "SHA256:" + " ".join(digest[i:i + 4] for i in range(0, 64, 4))}


def report_compose(*, submission: Submission, kind: str, report_id: str, issued_at: datetime) -> dict:
    """The predicate: everything the report says, as data (the HTML and PDF are views of it)."""
    triage = _latest_triage(submission)
    outside, outside_findings = _outside_scope(triage, submission)
    findings = sorted(triage.findings if triage else [], key=lambda f: (
        ["critical", "high", "medium", "low", "info"].index(f["severity"]), f["check"], f["path"]))
    predicate = {
        "report_id": report_id,
        "kind": kind,
        "case_reference": submission.reference,
        "claim": {
            "statement": submission.claim_statement, "property": submission.claim_property,
            "scope_in": submission.claim_scope_in, "scope_out": submission.claim_scope_out,
            "assumptions": submission.claim_assumptions, "access_tier_offered": submission.claim_access_tier,
        },
        "config_digest": submission.config_digest,
        "triage": {
            "policy_version": triage.policy_version if triage else None,
            "sandbox": triage.sandbox if triage else None,
            "score": triage.score if triage else None,
            "decision": triage.decision if triage else None,
            "reasons": triage.reasons if triage else [],
        },
        "findings": [{**{k: f.get(k) for k in ("check", "title", "severity", "categories", "path", "line",
                                                "remediation")}, "evidence": report_evidence(f.get("evidence")),
                      "taxonomy": _taxonomy_ids(f.get("check", "")),
                      **({"outside_scope": True} if f in outside_findings else {})}
                     for f in findings],
        "outside_scope": outside,
        "not_checked": NOT_CHECKED_BY_TRIAGE,
        "dynamic": _dynamic_summary(submission),
        "issued_at": _iso(issued_at),
        "expires_at": _iso(issued_at + timedelta(days=VALID_DAYS[kind])),
        "disclaimer": DISCLAIMER,
        "verify_url": verify_url_for(report_id),
        "signing_key": signing_key_summary(),
    }
    if kind == Report.Kind.ASSESSMENT:
        decision = submission.decision
        reviews = list(submission.reviews.select_related("reviewer"))
        consent = getattr(submission, "consent", None)
        predicate["assessment"] = {
            "verdict": decision.verdict,
            "rationale": decision.rationale,
            "override_reason": decision.override_reason,
            "access_tier_used": consent.granted_tier if consent else None,
            "reviewers": {"count": len(reviews), "pseudonyms": sorted(r.reviewer.pseudonym for r in reviews)},
            "agreement_kappa": decision.agreement_kappa,
            "disagreement": decision.disagreement,
            "reviewer_findings": [f for r in reviews for f in r.findings],
            "limitations": [r.limitations for r in reviews if r.limitations],
        }
    # Titles are sealed, so the database cannot match them: compare the owner's earlier reports here.
    earlier = (Report.objects.filter(submission__owner=submission.owner).exclude(submission=submission)
               .select_related("submission").order_by("-issued_at")[:200])
    previous = next((report for report in earlier if report.submission.title == submission.title
                     and report.submission.state != State.SHREDDED), None)
    predicate["supersedes"] = str(previous.pk) if previous else None
    predicate["changes"] = _changes_since(previous, submission, findings) if previous else None
    return predicate


def _changes_since(previous: Report, submission: Submission, findings: list[dict]) -> dict:
    """What changed since the earlier report on this system: configuration, artifacts, findings."""
    before = previous.submission
    old_files = dict(before.artifacts.values_list("name", "sha256"))
    new_files = dict(submission.artifacts.values_list("name", "sha256"))
    old_checks = {f["check"] for f in previous.statement.get("predicate", {}).get("findings", [])}
    new_checks = {f["check"] for f in findings}
    return {
        "previous_report": str(previous.pk),
        "previous_config_digest": previous.config_digest,
        "artifacts_added": sorted(set(new_files) - set(old_files)),
        "artifacts_removed": sorted(set(old_files) - set(new_files)),
        "artifacts_changed": sorted(n for n in set(old_files) & set(new_files) if old_files[n] != new_files[n]),
        "manifest_changed": (before.manifest or {}) != (submission.manifest or {}),
        "claim_changed": (before.claim_statement, before.claim_property) != (submission.claim_statement,
                                                                              submission.claim_property),
        "findings_resolved": sorted(old_checks - new_checks),
        "findings_new": sorted(new_checks - old_checks),
    }


def _access_tier_words(tier: str | None) -> str:
    """"grey box (redacted artifacts)" for "grey"."""
    from intake.models import AccessTier

    if tier not in AccessTier.values:
        return "no"
    kind, _, what = AccessTier(tier).label.partition(": ")
    return f"{kind.lower()} ({what})"


def _examined(predicate: dict) -> list[tuple[str, str]]:
    """What was and was not examined, one (stage, what happened) line each, for the summary."""
    triage, dynamic = predicate.get("triage") or {}, predicate.get("dynamic") or {}
    static = (f"ran under policy {triage['policy_version']} in the {triage.get('sandbox') or 'unnamed'} sandbox"
              if triage.get("policy_version") else "did not run")
    lines = [("Static triage", static),
             ("Dynamic stage", " ".join(dynamic.get("summary") or ["not recorded"]).removeprefix("Dynamic stage")
              .lstrip(": "))]
    assessment = predicate.get("assessment")
    if assessment:
        reviewers = assessment.get("reviewers", {}).get("count", 0)
        lines.append(("Human review", f"{reviewers} reviewer(s) with "
                                      f"{_access_tier_words(assessment.get('access_tier_used'))} access"))
    else:
        offered = _access_tier_words(predicate["claim"].get("access_tier_offered")).split(" (")[0]
        lines.append(("Human review", f"none, automated triage only (the builder offered {offered} access)"))
    return lines


def _qr_svg(url: str) -> str:
    """The verification URL as an inline SVG QR code (drawn here: rendering fetches nothing)."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=3, border=2, dark="#1b1f24", light="#ffffff",
                                                  svgclass="qr", omitsize=True)  # viewBox: CSS sizes it


def report_html(predicate: dict, *, for_pdf: bool) -> str:
    from django.utils.safestring import mark_safe

    rows = findings_merged(predicate.get("findings") or [])
    verify_url = predicate.get("verify_url") or verify_url_for(predicate.get("report_id", ""))
    code, label = verdict_of(predicate)
    return render_to_string("reviews/report.html", {
        "r": predicate, "for_pdf": for_pdf, "verdict_code": code, "verdict_label": label, "rows": rows,
        "headline": headline_findings(rows, reviewer_findings=(predicate.get("assessment") or {}).get(
            "reviewer_findings") or []), "examined": _examined(predicate), "verify_url": verify_url,
        "reviewer_count": len((predicate.get("assessment") or {}).get("reviewer_findings") or []),
        "qr_svg": mark_safe(_qr_svg(verify_url)),  # noqa: S308 - segno's own markup of our own URL
    })


def _no_network_fetcher(url: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    raise ValueError(f"report rendering fetches nothing ({url})")


def report_render_pdf(predicate: dict) -> bytes:
    import weasyprint

    html = weasyprint.HTML(string=report_html(predicate, for_pdf=True), url_fetcher=_no_network_fetcher)
    return html.write_pdf(stylesheets=[weasyprint.CSS(filename=str(CSS_PATH))], pdf_variant="pdf/ua-1")


def statement_for(predicate: dict, *, pdf: bytes) -> dict:
    digest = predicate["config_digest"].removeprefix("sha256:")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": "assay-configuration", "digest": {"sha256": digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {**predicate, "pdf": {"sha256": hashlib.sha256(pdf).hexdigest(), "length": len(pdf)}},
    }


def report_issue(*, submission: Submission, kind: str, actor: User | None) -> Report:
    """Render, sign, store and log a report; move the case on (decided → reported, or guidance close)."""
    if kind == Report.Kind.ASSESSMENT and submission.state != State.DECIDED:
        raise ValidationFailed("an assessment report needs a coordinator decision first")
    if kind == Report.Kind.GUIDANCE and submission.state not in (State.TRIAGED, State.CLOSED):
        raise ValidationFailed("a guidance report is issued when triage closes a case")
    if not submission.config_digest:
        raise ValidationFailed("the case has no configuration digest")
    report_id = str(uuid.uuid4())
    keyring().current_key_id()  # creates and publishes the first key before the issue time is taken
    issued_at = timezone.now().replace(microsecond=0)
    predicate = report_compose(submission=submission, kind=kind, report_id=report_id, issued_at=issued_at)
    pdf = report_render_pdf(predicate)
    statement = statement_for(predicate, pdf=pdf)
    statement_bytes = canonical(statement)
    key_id, signature = keyring().sign(statement_bytes)
    if key_id != predicate["signing_key"]["key_id"]:  # rotated between composing and signing: the page would lie
        raise ValidationFailed("the signing key changed while the report was issued; issue it again")
    signed_pdf = embed(pdf=pdf, statement_bytes=statement_bytes, key_id=key_id, signature=signature)
    statement_sha = hashlib.sha256(statement_bytes).hexdigest()
    with transaction.atomic():
        entry = log_append(kind=TransparencyEntry.Kind.REPORT, subject_sha256=statement_sha)
        report = Report.objects.create(
            id=report_id, submission=submission, kind=kind, config_digest=submission.config_digest,
            statement=statement, statement_sha256=statement_sha, key_id=key_id,
            pdf_sha256=hashlib.sha256(signed_pdf).hexdigest(), pdf=signed_pdf, issued_at=issued_at,
            expires_at=issued_at + timedelta(days=VALID_DAYS[kind]), log_index=entry.index,
            supersedes_id=predicate["supersedes"])
        audit_append(actor=actor, action="report.issue", obj=submission,
                     data={"report": report_id, "kind": kind, "statement_sha256": statement_sha})
        if kind == Report.Kind.ASSESSMENT:
            transition(submission, State.REPORTED, actor=actor, reason="assessment report issued")
            # The decision reaches the builder with its report (a guidance report was announced by triage).
            notify(recipient=submission.owner, kind=NotificationKind.REPORT_ISSUED, submission=submission,
                   path=reverse("case_detail", args=[submission.pk]))
    sth_sign()
    return report


def report_issue_when_due(*, submission_id: str, kind: str) -> Report | None:
    """Issue the report a case is due, once: a guidance report when triage closed it, an assessment report
    once a coordinator decided it. Returns the existing report if one was already issued for this digest."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None:
        return None
    existing = Report.objects.filter(submission=submission, kind=kind, config_digest=submission.config_digest,
                                     revoked_at__isnull=True).first()
    if existing is not None:
        return existing
    due = {Report.Kind.GUIDANCE: (State.CLOSED,), Report.Kind.ASSESSMENT: (State.DECIDED,)}[kind]
    if submission.state not in due:
        return None
    try:
        return report_issue(submission=submission, kind=kind, actor=None)
    except StaleTransition:  # another issuer (the queued task, a coordinator's click) moved the case first
        return Report.objects.filter(submission=submission, kind=kind, config_digest=submission.config_digest,
                                     revoked_at__isnull=True).first()


def report_revoke(*, report: Report, actor: User, reason: str) -> Report:
    if len(reason.strip()) < 10:
        raise ValidationFailed("give a reason for revoking the report")
    with transaction.atomic():
        rows = Report.objects.filter(pk=report.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoke_reason=reason.strip()[:500])
        if rows != 1:
            raise ValidationFailed("this report is already revoked")
        revocation = canonical({"revokes": report.statement_sha256, "reason": reason.strip()[:500]})
        log_append(kind=TransparencyEntry.Kind.REVOCATION, subject_sha256=hashlib.sha256(revocation).hexdigest())
        audit_append(actor=actor, action="report.revoke", obj=report.submission,
                     data={"report": str(report.pk), "reason": reason.strip()[:500]})
    sth_sign()
    report.refresh_from_db()
    return report


@dataclass(frozen=True)
class Verification:
    status: str  # valid | expired | revoked | tampered | bad_signature | unknown_key
    message: str
    statement: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == "valid"

    @property
    def verdict(self) -> tuple[str, str] | None:
        """(code, label) of what the signed report concludes; None when there is no signed statement to read."""
        if not self.statement:
            return None
        return verdict_of(self.statement.get("predicate") or {})


def report_verify(data: bytes, *, now: datetime | None = None, check_database: bool = True) -> Verification:
    now = now or timezone.now()
    try:
        extracted = extract(data)
    except ContainerInvalid as exc:
        return Verification("tampered", str(exc))
    keys = {k.key_id: k for k in keyring().published_keys()}
    key = keys.get(extracted.key_id)
    if key is None:
        return Verification("unknown_key", f"signed with unknown key {extracted.key_id}")
    try:
        key.public_key.verify(extracted.signature, extracted.statement_bytes)
    except Exception:  # noqa: BLE001 - cryptography raises InvalidSignature
        return Verification("bad_signature", "the signature does not match the report's statement")
    statement = extracted.statement
    predicate = statement.get("predicate", {})
    try:
        issued = datetime.strptime(predicate["issued_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt_timezone.utc)
        expires = datetime.strptime(predicate["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt_timezone.utc)
        subject = statement["subject"][0]["digest"]["sha256"]
    except (KeyError, IndexError, ValueError, TypeError):
        return Verification("tampered", "the statement is incomplete")
    if not key.valid_at(issued):
        return Verification("unknown_key", f"key {key.key_id} was not valid when the report says it was issued")
    if f"sha256:{subject}" != predicate.get("config_digest"):
        return Verification("tampered", "the statement's subject does not match its configuration digest")
    if check_database:
        statement_sha = hashlib.sha256(extracted.statement_bytes).hexdigest()
        report = Report.objects.filter(statement_sha256=statement_sha).first()
        if report is None:
            return Verification("unknown_key", "this report was not issued by this platform", statement)
        if report.revoked_at is not None:
            return Verification("revoked", f"revoked on {report.revoked_at:%Y-%m-%d}: {report.revoke_reason}",
                                statement)
        if report.log_index is not None and not _included(report):
            return Verification("tampered", "the report is not in the transparency log", statement)
    if now >= expires:
        return Verification("expired", f"expired on {expires:%Y-%m-%d}", statement)
    claim = predicate.get("claim", {})
    _code, verdict = verdict_of(predicate)
    return Verification("valid", f"{verdict}. Valid: {predicate.get('kind')} report {predicate.get('report_id')} "
                                 f"on claim "
                                 f"'{claim.get('property')}' for {predicate.get('config_digest')}, "
                                 f"expires {expires:%Y-%m-%d}", statement)


def _included(report: Report) -> bool:
    from reviews.merkle import leaf_hash, verify_inclusion
    from reviews.transparency import leaf_bytes

    # Prove against the newest signed head that covers the entry; sign one only if none does yet. (Signing
    # re-reads every leaf to compare roots, and the proof below reads them again: verification stays read-only.)
    sth = SignedTreeHead.objects.filter(tree_size__gt=report.log_index).order_by("-tree_size", "-timestamp").first()
    if sth is None:
        sth = sth_sign()
    proof = [bytes.fromhex(h) for h in inclusion_for(report.log_index, sth.tree_size)]
    leaf = leaf_hash(leaf_bytes(index=report.log_index, kind=TransparencyEntry.Kind.REPORT,
                                subject_sha256=report.statement_sha256))
    return verify_inclusion(index=report.log_index, tree_size=sth.tree_size, leaf=leaf, proof=proof,
                            root=bytes.fromhex(sth.root_hash))


def report_pdf_response(report: Report):  # noqa: ANN201
    """The signed PDF as a download that no cache keeps (portal and API)."""
    import io

    from django.http import FileResponse

    if not report.pdf:
        from django.http import Http404

        raise Http404("This report's case was deleted; its PDF is no longer kept here.")
    response = FileResponse(io.BytesIO(bytes(report.pdf)), content_type="application/pdf", as_attachment=True,
                            filename=f"assay-{report.submission.reference}-{report.kind}.pdf")
    response["Cache-Control"] = "no-store"
    return response
