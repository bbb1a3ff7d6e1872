"""Portal views: parse the request, call one service or selector, render.

Every case-scoped view starts from :func:`intake.selectors.submission_get_for`
(404 for anything the viewer may not see); wizard and withdraw views then also
require the viewer to be the case's owner. A view that answers an htmx request
(``request.htmx``) returns only the partial the page swaps in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake.accounts.assurance import assurance_level, check_staff_session
from intake.errors import DomainError, NotEditable, TooLarge
from intake.forms import (
    ArtifactForm,
    ClaimForm,
    ManifestForm,
    PlaceholderConfirmForm,
    QueueFilterForm,
    ReviewRequestForm,
    ScopeForm,
    TermsForm,
    WithdrawForm,
    add_domain_error,
)
from intake.hooks import CASE_PAGE_RECORDS, CASE_PAGE_SUBMISSION, hook_call
from intake.manifest import manifest_schema
from intake.middleware import ratelimited_response
from intake.models import AuditEvent, Role, Submission
from intake.next_steps import case_next_steps
from intake.review_requests import review_request_create
from intake.versions import submission_new_version
from intake.ratelimits import enforce
from intake.scope import grouped, scope_problems
from intake.selectors import (current_terms, open_case_count,
                              submissions_matching,
                              submission_events, submission_get_for, submissions_visible_to)
from intake.services import (
    artifact_add,
    artifact_remove,
    submission_confirm_placeholders,
    submission_create,
    submission_readiness,
    submission_inventory,
    submission_redaction_findings,
    submission_submit,
    submission_update,
    submission_withdraw,
    terms_accept,
)
from intake.states import TERMINAL_STATES, IllegalTransition, StaleTransition, State, can_transition

WIZARD_STEPS = [("claim", "Claim"), ("manifest", "Manifest"), ("terms", "Terms"), ("artifacts", "Artifacts"),
                ("scope", "Scope"), ("review", "Review & submit")]
# Where a builder fixes a redaction finding, by the field it was found in.
FIELD_STEP = {"manifest": "manifest"}
# Poll fast while the machine is working on the case, slowly while it waits for people.
# TRIAGED lasts only until the pipeline records its outcome (closed, escalated or rejected) a moment later.
FAST_POLL_STATES = frozenset({State.SUBMITTED, State.TRIAGING, State.TRIAGED})
FAST_POLL_SECONDS, SLOW_POLL_SECONDS = 2, 20


def ratelimited(request: HttpRequest, exception=None) -> HttpResponse:  # noqa: ANN001
    return ratelimited_response(request)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "intake/home.html")


@require_GET
def manifest_schema_view(request: HttpRequest) -> JsonResponse:
    """The published manifest schema, so builders and their tooling validate exactly what we validate."""
    response = JsonResponse(manifest_schema(), json_dumps_params={"indent": 2})
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- helpers ----------------------------------------------------------------

def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful write: a normal redirect, or HX-Redirect so htmx navigates the whole page."""
    if request.htmx:
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _owned_case(request: HttpRequest, pk) -> Submission:  # noqa: ANN001
    """The viewer's own case: strangers get 404 (from the selector), others who may see it (coordinators) 403."""
    submission = submission_get_for(request.user, pk)
    if submission.owner_id != request.user.pk:
        raise PermissionDenied("Only the builder who owns this case can change it.")
    return submission


def _step_url(submission: Submission, step: str) -> str:
    return reverse(f"case_{step}", args=[submission.pk])


def _wizard(request: HttpRequest, submission: Submission | None, step: str, context: dict,
            *, status: int = 200) -> HttpResponse:
    """Render one wizard step: its partial for htmx, the whole page otherwise."""
    context = {**context, "case": submission, "step": step, "steps": WIZARD_STEPS,
               "partial": f"intake/_step_{step}.html"}
    template = context["partial"] if request.htmx else "intake/wizard.html"
    return render(request, template, context, status=status)


def _not_editable(request: HttpRequest, submission: Submission) -> HttpResponse:
    messages.info(request, f"Case {submission.reference} is {submission.get_state_display().lower()} "
                           "and can no longer be edited.")
    return _redirect(request, reverse("case_detail", args=[submission.pk]))


def _editable_case(request: HttpRequest, pk) -> tuple[Submission, HttpResponse | None]:  # noqa: ANN001
    submission = _owned_case(request, pk)
    if not submission.is_editable:
        if request.method == "POST" and not request.htmx:
            response = render(request, "intake/error.html", {
                "title": "Case no longer editable",
                "message": f"Case {submission.reference} is {submission.get_state_display().lower()} "
                           "and can no longer be edited."}, status=409)
            return submission, response
        return submission, _not_editable(request, submission)
    return submission, None


# --- dashboard and queue ----------------------------------------------------

@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role == Role.INSTITUTION:
        return redirect("aggregates")  # institutions see aggregates only, never case data
    cases = submissions_visible_to(user).only("id", "reference", "title", "state", "updated_at")
    context: dict = {"cases": cases[:200], "is_builder": user.role == Role.BUILDER}
    if user.role == Role.BUILDER:
        level = assurance_level(user)
        quota = settings.ASSAY_OPEN_CASE_QUOTA.get(level, 0)
        open_count = open_case_count(user)
        context.update(level=level, quota=quota, open_count=open_count, at_quota=open_count >= quota)
    return render(request, "intake/dashboard.html", context)


@login_required
@require_GET
def coordinator_queue(request: HttpRequest) -> HttpResponse:
    check_staff_session(request, role=Role.COORDINATOR, message="The queue is for coordinators.")
    form = QueueFilterForm(request.GET or None)
    cases = submissions_visible_to(request.user).select_related("owner").order_by("state_changed_at")
    counts = Counter(cases.values_list("state", flat=True))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            cases = cases.filter(state=data["state"])
        if data["claim_property"]:
            cases = cases.filter(claim_property=data["claim_property"])
        if data["q"]:
            cases = submissions_matching(cases, data["q"], limit=500)
    elif form.is_bound:
        cases = cases.none()
    by_state = [(value, label, counts.get(value, 0)) for value, label in State.choices]
    context = {"form": form, "cases": cases[:500], "by_state": by_state, "total": sum(counts.values())}
    template = "intake/_queue_table.html" if request.htmx else "intake/queue.html"
    return render(request, template, context)


# --- wizard -------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    if request.user.role != Role.BUILDER:
        raise PermissionDenied("Only builders submit cases.")
    if request.method == "GET":
        return _wizard(request, None, "claim", {"form": ClaimForm()})
    enforce(request, "submission-create")
    form = ClaimForm(request.POST)
    if not form.is_valid():
        return _wizard(request, None, "claim", {"form": form}, status=400)
    try:
        submission = submission_create(owner=request.user, title=form.cleaned_data["title"],
                                       **_claim_fields(form))
    except DomainError as error:
        add_domain_error(form, error)
        response = _wizard(request, None, "claim", {"form": form}, status=error.http_status)
        if error.retry_after:
            response["Retry-After"] = str(error.retry_after)
        return response
    return _redirect(request, _step_url(submission, "manifest"))


def _claim_fields(form: ClaimForm) -> dict:
    fields = form.service_fields()
    if not fields.get("claim_property"):
        fields.pop("claim_property", None)  # "not chosen yet" is not a property kind
    return fields


@login_required
@require_http_methods(["GET", "POST"])
def case_claim(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    if request.method == "GET":
        return _wizard(request, submission, "claim", {"form": ClaimForm(initial=ClaimForm.initial_for(submission))})
    form = ClaimForm(request.POST)
    if form.is_valid():
        try:
            submission_update(submission=submission, actor=request.user, title=form.cleaned_data["title"],
                              **_claim_fields(form))
        except DomainError as error:
            add_domain_error(form, error)
            return _wizard(request, submission, "claim", {"form": form}, status=error.http_status)
        return _redirect(request, _step_url(submission, "manifest"))
    return _wizard(request, submission, "claim", {"form": form}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def case_manifest(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    if request.method == "GET":
        form = ManifestForm(initial=ManifestForm.initial_for(submission))
        return _wizard(request, submission, "manifest", {"form": form})
    form = ManifestForm(request.POST)
    if form.is_valid():
        try:
            submission_update(submission=submission, actor=request.user, manifest=form.cleaned_data["manifest"])
        except DomainError as error:
            add_domain_error(form, error, field="manifest")
            return _wizard(request, submission, "manifest", {"form": form}, status=error.http_status)
        return _redirect(request, _step_url(submission, "terms"))
    return _wizard(request, submission, "manifest", {"form": form}, status=400)


@login_required
@require_POST
def case_manifest_check(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    """Inline validation while typing: lists every problem, saves nothing."""
    _owned_case(request, pk)
    form = ManifestForm(request.POST)
    return render(request, "intake/_manifest_check.html", {"form": form, "valid": form.is_valid()})


@login_required
@require_http_methods(["GET", "POST"])
def case_terms(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    terms = current_terms()
    version = terms.version if terms else None
    accepted = terms is not None and submission.terms_acceptances.filter(terms=terms).exists()
    context = {"terms": terms, "accepted": accepted}
    if request.method == "GET":
        form = TermsForm(initial={"terms_version": version}, current_version=version)
        return _wizard(request, submission, "terms", {**context, "form": form})
    form = TermsForm(request.POST, current_version=version)
    if form.is_valid():
        try:
            terms_accept(submission=submission, actor=request.user, terms=terms)
        except DomainError as error:
            add_domain_error(form, error)
            return _wizard(request, submission, "terms", {**context, "form": form}, status=error.http_status)
        return _redirect(request, _step_url(submission, "artifacts"))
    # The template always posts back the version it displays, so after a "terms changed" error the
    # builder reads the new text and the next acceptance is for that version.
    return _wizard(request, submission, "terms", {**context, "form": form}, status=400)


# Room for the multipart framing and the other fields around one file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


@csrf_exempt  # CSRF is checked below, after ownership and size: an oversized body is refused before it is read
@login_required
@require_http_methods(["GET", "POST"])
def case_artifacts(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    max_bytes = settings.ASSAY_MAX_ARTIFACT_BYTES
    if request.method == "GET":
        return _wizard(request, submission, "artifacts", {"form": ArtifactForm(), "max_bytes": max_bytes})
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes + MULTIPART_OVERHEAD_BYTES:
        # Django would otherwise spool the whole body to disk before any form could object.
        form = ArtifactForm()
        form.errors["file"] = form.error_class([
            f"This upload is {filesizeformat(declared)}; the limit is {filesizeformat(max_bytes)} per file."])
        return _wizard(request, submission, "artifacts", {"form": form, "max_bytes": max_bytes},
                       status=TooLarge.http_status)
    return _artifact_upload(request, submission, max_bytes)


@csrf_protect
def _artifact_upload(request: HttpRequest, submission: Submission, max_bytes: int) -> HttpResponse:
    enforce(request, "upload")
    form = ArtifactForm(request.POST, request.FILES)
    status = 200
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            artifact = artifact_add(submission=submission, actor=request.user, name=upload.name, stream=upload,
                                    kind=form.cleaned_data["kind"], content_type=upload.content_type or "")
        except DomainError as error:
            add_domain_error(form, error, field="file")
            status = error.http_status
        else:
            if not request.htmx:
                messages.success(request, f"Added {artifact.name}.")
                return redirect(_step_url(submission, "artifacts"))
            form = ArtifactForm()
            return _wizard(request, submission, "artifacts",
                           {"form": form, "max_bytes": max_bytes, "added": artifact.name})
    else:
        too_large = any(e.code == "too_large" for e in form.errors.as_data().get("file", []))
        status = TooLarge.http_status if too_large else 400
    return _wizard(request, submission, "artifacts", {"form": form, "max_bytes": max_bytes}, status=status)


@login_required
@require_POST
def case_artifact_remove(request: HttpRequest, pk, artifact_pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    artifact = get_object_or_404(submission.artifacts, pk=artifact_pk)
    try:
        artifact_remove(artifact=artifact, actor=request.user)
    except NotEditable:
        return _not_editable(request, submission)
    if request.htmx:
        return _wizard(request, submission, "artifacts",
                       {"form": ArtifactForm(), "max_bytes": settings.ASSAY_MAX_ARTIFACT_BYTES,
                        "removed": artifact.name})
    messages.success(request, f"Removed {artifact.name}.")
    return redirect(_step_url(submission, "artifacts"))


def _scope_context(submission: Submission, form: ScopeForm | None = None, problems: list | None = None,
                   error: str = "") -> dict:
    inventory = submission_inventory(submission)
    ids = [c["id"] for c in inventory or []]
    if form is None:
        form = ScopeForm(initial=ScopeForm.initial_for(submission, ids), component_ids=ids)
    chosen_in = set(form["scope_in"].value() or [])
    chosen_out = set(form["scope_out"].value() or [])
    return {"form": form, "inventory": inventory, "groups": grouped(inventory or []),
            "stale": inventory is None and submission.component_inventory is not None,
            "chosen_in": chosen_in, "chosen_out": chosen_out, "problems": problems or [], "error": error}


@login_required
@require_http_methods(["GET", "POST"])
def case_scope(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    """Pick the claim's scope from the detected components; entries naming no component are refused with
    suggestions (the same check the submit-time readiness makes)."""
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    if request.method == "GET":
        return _wizard(request, submission, "scope", _scope_context(submission))
    inventory = submission_inventory(submission)
    form = ScopeForm(request.POST, component_ids=[c["id"] for c in inventory or []])
    if inventory is None:
        return _wizard(request, submission, "scope", _scope_context(
            submission, form, error="Detect the system's components first."), status=400)
    if not form.is_valid():
        return _wizard(request, submission, "scope", _scope_context(submission, form), status=400)
    fields = form.service_fields()
    problems = scope_problems(fields["claim_scope_in"], fields["claim_scope_out"], inventory)
    if not fields["claim_scope_in"] or problems:
        error = "" if fields["claim_scope_in"] else "Pick at least one component in scope."
        return _wizard(request, submission, "scope", _scope_context(submission, form, problems, error), status=400)
    try:
        submission_update(submission=submission, actor=request.user, **fields)
    except DomainError as error:
        return _wizard(request, submission, "scope", _scope_context(submission, form, error=str(error)),
                       status=error.http_status)
    return _redirect(request, _step_url(submission, "review"))


def _review_context(submission: Submission) -> dict:
    findings = submission_redaction_findings(submission)
    return {
        "problems": submission_readiness(submission),
        "findings": [(f, FIELD_STEP.get(f.field, "claim")) for f in findings],
        "artifacts": list(submission.artifacts.all()),
    }


@login_required
@require_GET
def case_review(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    return _wizard(request, submission, "review", _review_context(submission))


@login_required
@require_POST
def case_confirm_placeholder(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    form = PlaceholderConfirmForm(request.POST)
    error = None
    if form.is_valid():
        try:
            submission = submission_confirm_placeholders(submission=submission, actor=request.user,
                                                         fingerprints=[form.cleaned_data["fingerprint"]])
        except DomainError as exc:
            error = exc
    else:
        error = DomainError("That finding is unknown.")
    if error is not None:
        return _wizard(request, submission, "review", {**_review_context(submission), "error": str(error)},
                       status=400)
    if not request.htmx:
        return redirect(_step_url(submission, "review"))
    return _wizard(request, submission, "review", _review_context(submission))


@login_required
@require_POST
def case_submit(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission, refused = _editable_case(request, pk)
    if refused:
        return refused
    try:
        submission = submission_submit(submission=submission, actor=request.user)
    except (IllegalTransition, StaleTransition):
        return _not_editable(request, submission)
    except DomainError as error:
        return _wizard(request, submission, "review", {**_review_context(submission), "error": str(error)},
                       status=error.http_status)
    messages.success(request, f"Case {submission.reference} is submitted; automated triage has been queued.")
    return _redirect(request, reverse("case_detail", args=[submission.pk]))


# --- case page ------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str
    detail: str
    who: str


_ACTION_LABELS = {
    "submission.create": "Draft created",
    "submission.update": "Draft edited",
    "terms.accept": "Terms accepted",
    "artifact.add": "Artifact added",
    "artifact.remove": "Artifact removed",
    "redaction.confirm_placeholder": "Placeholder confirmed",
    "scope.inventory": "Components detected",
    "triage.dynamic_run": "Submitted servers run in the sandbox",
    "consent.request": "Human review proposed; your consent is asked",
    "consent.give": "Consent to human review given",
    "case.coordinate": "Coordinator assigned",
    "conflict.declare.builder": "Conflict of interest declared",
    "conflict.override.request": "Conflict override requested",
    "conflict.override.approve": "Conflict override approved",
    "assignment.propose": "Reviewer proposed",
    "assignment.accepted": "Reviewer accepted the case",
    "assignment.declined": "Reviewer declined the case",
    "assignment.replan": "Reviewers re-planned",
    "grant.issue": "Reviewer access granted",
    "grant.revoke": "Reviewer access revoked",
    "reviewer.view": "Reviewer viewed the case",
    "reviewer.view_artifact": "Reviewer viewed an artifact",
    "reviewer.download_artifact": "Reviewer downloaded an artifact",
    "review.submit": "Review submitted",
    "message.post": "Message posted",
    "report.issue": "Report issued",
    "report.revoke": "Report revoked",
    "vault.decrypt": "Artifact decrypted",
    "vault.shred": "Keys destroyed (crypto-shredded)",
    "vault.ledger_replay_shred": "Keys destroyed again after a restore",
    "vault.reconcile_shred": "Keys destroyed by reconciliation",
    "vault.legal_hold.request": "Legal hold requested",
    "vault.legal_hold.approve": "Legal hold placed",
    "vault.legal_hold.release": "Legal hold released",
    "vault.dispute.open": "IP dispute opened",
    "vault.dispute.decide": "IP dispute decided",
    "vault.relocate": "Stored artifacts moved",
    "triage.retry": "Retrying automated triage",
    "review_request.create": "Human review requested",
    "review_request.accepted": "Request for human review accepted",
    "review_request.declined": "Request for human review declined",
    "submission.new_version": "New configuration version started",
    "submission.version_of": "Started as a new configuration version",
}


def _humanise_action(action: str) -> str:
    """An action without a label still reads as words, never as a dotted code."""
    words = action.replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:]
_TRANSITION_LABELS = {
    State.SUBMITTED: "Submitted",
    State.TRIAGING: "Automated triage started",
    State.TRIAGED: "Automated triage finished",
}


def _timeline_entry(event: AuditEvent, viewer) -> TimelineEntry:  # noqa: ANN001
    data = event.data or {}
    if event.action == "submission.transition":
        to = data.get("to", "")
        label = _TRANSITION_LABELS.get(to) or (State(to).label if to in State.values else to)
        detail = data.get("reason", "") if to not in _TRANSITION_LABELS else ""
    else:
        label = _ACTION_LABELS.get(event.action) or _humanise_action(event.action)
        detail = {
            "terms.accept": f"version {data.get('terms', '')}",
            "artifact.add": data.get("name", ""),
            "artifact.remove": data.get("name", ""),
            "submission.update": ", ".join(str(f).replace("_", " ") for f in data.get("fields", [])),
            "triage.retry": data.get("reason", ""),
            "vault.dispute.open": f"this case is the {data.get('role')}" if data.get("role") else "",
            "vault.dispute.decide": data.get("outcome", ""),
            "scope.inventory": f"{data.get('components', 0)} component(s)",
            "submission.new_version": f"version {data.get('version', '')}",
            "submission.version_of": f"version {data.get('version', '')}",
        }.get(event.action, "")
    if event.actor_id is None:
        who = "Assay"
    elif event.actor_id == viewer.pk:
        who = "You"
    elif viewer.role == Role.COORDINATOR:
        who = event.actor_label
    elif event.action == "vault.dispute.open" and data.get("source") == "builder":
        who = "Another builder"  # the respondent learns a builder raised it, never which one
    else:
        who = "Assay staff"  # builders never learn which coordinator or reviewer acted
    return TimelineEntry(at=event.created_at, label=label, detail=str(detail)[:300], who=who)


def case_timeline(submission: Submission, viewer, events: list | None = None) -> list[TimelineEntry]:  # noqa: ANN001
    events = submission_events(submission) if events is None else events
    return [_timeline_entry(event, viewer) for event in events]


def _status_context(submission: Submission, viewer, events: list | None = None) -> dict:  # noqa: ANN001
    live = submission.state not in TERMINAL_STATES
    poll_seconds = FAST_POLL_SECONDS if submission.state in FAST_POLL_STATES else SLOW_POLL_SECONDS
    return {"case": submission, "timeline": case_timeline(submission, viewer, events), "poll": live,
            "poll_seconds": poll_seconds}


@login_required
@require_GET
def case_detail(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    # Rendered fresh on every request (the htmx status poll included): nothing per case or per user is cached.
    if request.htmx:
        submission = submission_get_for(request.user, pk)
        return render(request, "intake/_case_status.html", _status_context(submission, request.user))
    submission = hook_call(CASE_PAGE_SUBMISSION, user=request.user, pk=pk)
    events = submission_events(submission)
    context = {
        **_status_context(submission, request.user, events),
        **hook_call(CASE_PAGE_RECORDS, user=request.user, submission=submission, events=events),
        "is_owner": submission.owner_id == request.user.pk,
        "can_withdraw": submission.owner_id == request.user.pk and can_transition(submission.state, State.WITHDRAWN),
        "next_steps": case_next_steps(request.user, submission, events=events),
        "review_request_form": ReviewRequestForm(),
    }
    return render(request, "intake/case_detail.html", context)


@login_required
@require_POST
def case_review_request(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    """The builder asks for human review of a guidance or reject outcome (rate-limited; counts in the quota)."""
    submission = _owned_case(request, pk)
    enforce(request, "review-request")
    form = ReviewRequestForm(request.POST)
    if form.is_valid():
        try:
            review_request_create(submission=submission, actor=request.user,
                                  justification=form.cleaned_data["justification"])
        except DomainError as error:
            add_domain_error(form, error)
            response = render(request, "intake/case_review_request.html", {"case": submission, "form": form},
                              status=error.http_status)
            if error.retry_after:
                response["Retry-After"] = str(error.retry_after)
            return response
        messages.success(request, f"Human review of case {submission.reference} is requested; a coordinator "
                                  "will accept or decline it with a reason.")
        return _redirect(request, reverse("case_detail", args=[submission.pk]))
    return render(request, "intake/case_review_request.html", {"case": submission, "form": form}, status=400)


@login_required
@require_POST
def case_new_version(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    """Open the next configuration version of the case as a pre-filled draft, and continue in the wizard."""
    submission = _owned_case(request, pk)
    enforce(request, "submission-create")
    try:
        draft = submission_new_version(previous=submission, actor=request.user)
    except DomainError as error:
        response = render(request, "intake/error.html", {"title": "No new version started",
                                                         "message": str(error)}, status=error.http_status)
        if error.retry_after:
            response["Retry-After"] = str(error.retry_after)
        return response
    messages.success(request, f"Version {draft.version} of the case is a draft ({draft.reference}), pre-filled from "
                              f"{submission.reference}: check the claim, upload the new configuration, accept the "
                              "terms and submit.")
    return _redirect(request, _step_url(draft, "claim"))


@login_required
@require_http_methods(["GET", "POST"])
def case_withdraw(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = _owned_case(request, pk)
    if not can_transition(submission.state, State.WITHDRAWN):
        messages.info(request, f"Case {submission.reference} is {submission.get_state_display().lower()} "
                               "and can no longer be withdrawn.")
        return _redirect(request, reverse("case_detail", args=[submission.pk]))
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            submission_withdraw(submission=submission, actor=request.user, reason=form.cleaned_data["reason"])
        except (IllegalTransition, StaleTransition):
            submission.refresh_from_db()
            return render(request, "intake/error.html", {
                "title": "Case not withdrawn",
                "message": f"Case {submission.reference} moved to {submission.get_state_display().lower()} "
                           "meanwhile and can no longer be withdrawn."}, status=409)
        messages.success(request, f"Case {submission.reference} is withdrawn.")
        return _redirect(request, reverse("case_detail", args=[submission.pk]))
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/case_withdraw.html", {"case": submission, "form": form}, status=status)
