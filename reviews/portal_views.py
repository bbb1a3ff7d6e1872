"""Portal pages of human review: reviewer registry and inbox, the secure viewer, reviews,
the coordinator's case page, builder consent, and the builder ↔ coordinator thread.

Views parse, call one service or selector, render. Who may see what:
- reviewer pages: role reviewer (else 403); a case only through
  ``access_case_as_reviewer`` (404 without an active grant at the tier, or
  when conflicted now);
- coordinator pages: role coordinator (else 403);
- consent: the case's builder (404 for strangers, 403 for coordinators);
- thread: the case's builder or a coordinator (404 for everyone else).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake.accounts.assurance import check_staff_session
from intake.errors import DomainError
from intake.models import Role, Submission, User
from intake.ratelimits import enforce
from intake.selectors import submission_get_for, submission_get_owned
from intake.states import IllegalTransition, StaleTransition, State
from reviews import selectors, services
from reviews.coordinator_visibility import coordinator_case_for
from reviews.forms import (
    AssignForm, CalibrationForm, ConsentForm, DecisionForm, DeclarationForm, FindingFormSet, GrantForm, MessageForm,
    OverrideRequestForm, ReviewerProfileForm, ReviewForm, ReviewRequestDecisionForm, RevokeForm, VendorTieForm,
)
from intake.review_requests import review_requests_pending_for
from reviews.review_requests import review_request_decide
from reviews.messaging import message_post
from reviews.models import (
    TIER_RANK, AccessGrant, Assignment, CaseCoordination, ConflictOverride, Consent, Decision,
)
from reviews.viewer import (
    artifact_download, artifact_view, case_artifacts_for_reviewer, watermark_data_uri, watermark_label,
)

VIEWER_RATE_GROUP = "reviewer-view"


def _require_role(request: HttpRequest, role: str) -> User:
    check_staff_session(request, role=role)
    return request.user


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    response["Pragma"] = "no-cache"
    return response


# --- reviewer registry ------------------------------------------------------------------------

def _profile_page(request: HttpRequest, *, status: int = 200, **forms) -> HttpResponse:  # noqa: ANN003
    profile = selectors.reviewer_profile_of(request.user)
    context = {
        "profile": profile,
        "ties": profile.vendor_ties.order_by("name"),
        "declarations": profile.declarations.order_by("-created_at"),
        "profile_form": forms.get("profile_form") or ReviewerProfileForm(initial={
            "verified_domains": "\n".join(profile.verified_domains), "expertise": "\n".join(profile.expertise),
            "capacity": profile.capacity, "available": profile.available}),
        "tie_form": forms.get("tie_form") or VendorTieForm(),
        "declaration_form": forms.get("declaration_form") or DeclarationForm(),
    }
    return render(request, "reviews/portal/profile.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def reviewer_profile(request: HttpRequest) -> HttpResponse:
    _require_role(request, Role.REVIEWER)
    if request.method == "GET":
        return _profile_page(request)
    form = ReviewerProfileForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, profile_form=form, status=400)
    try:
        services.reviewer_profile_update(actor=request.user, **form.service_fields())
    except DomainError as error:
        form.add_error(None, str(error))
        return _profile_page(request, profile_form=form, status=error.http_status)
    messages.success(request, "Your declarations are saved.")
    return redirect("reviewer_profile")


@login_required
@require_POST
def reviewer_tie_add(request: HttpRequest) -> HttpResponse:
    _require_role(request, Role.REVIEWER)
    form = VendorTieForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, tie_form=form, status=400)
    try:
        services.vendor_tie_add(actor=request.user, **form.cleaned_data)
    except DomainError as error:
        form.add_error(None, str(error))
        return _profile_page(request, tie_form=form, status=error.http_status)
    messages.success(request, f"Declared your tie to {form.cleaned_data['name']}.")
    return redirect("reviewer_profile")


@login_required
@require_POST
def reviewer_tie_remove(request: HttpRequest, tie_pk: int) -> HttpResponse:
    _require_role(request, Role.REVIEWER)
    services.vendor_tie_remove(actor=request.user, tie_pk=tie_pk)
    messages.success(request, "Removed the tie (the change is in the audit log).")
    return redirect("reviewer_profile")


@login_required
@require_POST
def reviewer_declaration_add(request: HttpRequest) -> HttpResponse:
    _require_role(request, Role.REVIEWER)
    selectors.reviewer_profile_of(request.user)
    form = DeclarationForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, declaration_form=form, status=400)
    try:
        services.declaration_add(actor=request.user, party=form.cleaned_data["party"],
                                 note=form.cleaned_data["note"])
    except DomainError as error:
        form.add_error(None, str(error))
        return _profile_page(request, declaration_form=form, status=error.http_status)
    messages.success(request, f"Declared a conflict with {form.cleaned_data['party']}.")
    return redirect("reviewer_profile")


# --- reviewer inbox, case, viewer, review -------------------------------------------------------

@login_required
@require_GET
def reviewer_inbox(request: HttpRequest) -> HttpResponse:
    reviewer = _require_role(request, Role.REVIEWER)
    context = {"proposed": selectors.reviewer_proposed_assignments(reviewer),
               "granted": selectors.reviewer_granted_cases(reviewer)}
    return _no_store(render(request, "reviews/portal/inbox.html", context))


@login_required
@require_POST
def reviewer_assignment_respond(request: HttpRequest, assignment_pk: int) -> HttpResponse:
    reviewer = _require_role(request, Role.REVIEWER)
    assignment = get_object_or_404(Assignment.objects.select_related("submission", "assigned_by"),
                                   pk=assignment_pk, reviewer=reviewer)
    # A conflicted reviewer must not even learn the assignment exists.
    if services.case_conflicts(assignment.submission, reviewer):
        raise Http404("No such assignment.")
    accept = request.POST.get("answer") == "accept"
    try:
        services.assignment_answer(assignment=assignment, actor=reviewer, accept=accept)
    except DomainError as error:
        messages.error(request, str(error))
        return redirect("reviewer_inbox")
    messages.success(request, f"{'Accepted' if accept else 'Declined'} case {assignment.submission.reference}.")
    return redirect("reviewer_inbox")


def _watermark(request: HttpRequest) -> dict:
    label = watermark_label(request.user, timezone.now())
    return {"watermark_label": label, "watermark_uri": watermark_data_uri(label)}


@login_required
@require_GET
def reviewer_case(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    reviewer = _require_role(request, Role.REVIEWER)
    submission, grant = services.access_case_as_reviewer(reviewer=reviewer, submission_pk=pk, purpose="view")
    context = {
        "case": submission, "grant": grant, "manifest": selectors.manifest_summary(submission.manifest),
        "triage": selectors.case_triage_results(submission),
        "identity": selectors.builder_identity_for_reviewer(submission),
        "can_view_artifacts": TIER_RANK[grant.tier] >= TIER_RANK["grey"],
        "artifacts": list(submission.artifacts.order_by("name")) if TIER_RANK[grant.tier] >= 1 else [],
        "own_review": selectors.reviewer_own_review(submission, reviewer),
        "reviews": services.reviews_visible_to(submission=submission, user=reviewer),
        **_watermark(request),
    }
    return _no_store(render(request, "reviews/portal/reviewer_case.html", context))


@login_required
@require_GET
def reviewer_artifacts(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    reviewer = _require_role(request, Role.REVIEWER)
    submission, grant, artifacts = case_artifacts_for_reviewer(reviewer=reviewer, submission_pk=pk)
    return _no_store(render(request, "reviews/portal/artifacts.html",
                            {"case": submission, "grant": grant, "artifacts": artifacts, **_watermark(request)}))


@login_required
@require_GET
def reviewer_artifact_view(request: HttpRequest, pk, artifact_pk) -> HttpResponse:  # noqa: ANN001
    reviewer = _require_role(request, Role.REVIEWER)
    enforce(request, VIEWER_RATE_GROUP)
    entry = request.GET.get("entry") or None
    view = artifact_view(reviewer=reviewer, submission_pk=pk, artifact_pk=artifact_pk, entry=entry)
    return _no_store(render(request, "reviews/portal/viewer.html", {"view": view, "case": view.submission,
                                                                    **_watermark(request)}))


@login_required
@require_GET
def reviewer_artifact_download(request: HttpRequest, pk, artifact_pk) -> HttpResponse:  # noqa: ANN001
    reviewer = _require_role(request, Role.REVIEWER)
    enforce(request, VIEWER_RATE_GROUP)
    artifact, chunks = artifact_download(reviewer=reviewer, submission_pk=pk, artifact_pk=artifact_pk)
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{artifact.sha256[:16]}.bin"'
    response["X-Content-Type-Options"] = "nosniff"
    return _no_store(response)


def _review_page(request: HttpRequest, submission: Submission, grant: AccessGrant, form: ReviewForm,
                 findings, *, status: int = 200) -> HttpResponse:  # noqa: ANN001
    return _no_store(render(request, "reviews/portal/review_form.html",
                            {"case": submission, "grant": grant, "form": form, "findings": findings,
                             **_watermark(request)}, status=status))


@login_required
@require_http_methods(["GET", "POST"])
def reviewer_review(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    reviewer = _require_role(request, Role.REVIEWER)
    submission, grant = services.access_case_as_reviewer(reviewer=reviewer, submission_pk=pk,
                                                         purpose="review_form")
    if selectors.reviewer_own_review(submission, reviewer) is not None:
        messages.info(request, "You have already submitted your review of this case.")
        return redirect("reviewer_case", pk=submission.pk)
    if request.method == "GET":
        return _review_page(request, submission, grant, ReviewForm(), FindingFormSet(prefix="findings"))
    form = ReviewForm(request.POST)
    findings = FindingFormSet(request.POST, prefix="findings")
    if not (form.is_valid() and findings.is_valid()):
        return _review_page(request, submission, grant, form, findings, status=400)
    data = form.cleaned_data
    try:
        services.review_submit(submission=submission, reviewer=reviewer, verdict=data["verdict"],
                               confidence=data["confidence"], limitations=data["limitations"],
                               summary=data["summary"],
                               findings=[f for f in (ff.as_finding() for ff in findings.forms) if f])
    except DomainError as error:
        form.add_error(None, str(error))
        return _review_page(request, submission, grant, form, findings, status=error.http_status)
    messages.success(request, f"Your review of {submission.reference} is submitted.")
    return redirect("reviewer_case", pk=submission.pk)


# --- coordinator --------------------------------------------------------------------------------

@login_required
@require_GET
def coordinator_reviews(request: HttpRequest) -> HttpResponse:
    _require_role(request, Role.COORDINATOR)
    queue = selectors.coordinator_review_queue(request.user)
    return render(request, "reviews/portal/coordinator_queue.html",
                  {"cases": queue.cases[:500], "conflicted": queue.conflicted,
                   "pending_review_requests": review_requests_pending_for(request.user).count()})


def _review_requests_page(request: HttpRequest, *, forms: dict | None = None, error: str | None = None,
                          status: int = 200) -> HttpResponse:
    pending = list(review_requests_pending_for(request.user)[:200])
    forms = forms or {}
    rows = [(r, forms.get(r.pk) or ReviewRequestDecisionForm(prefix=f"r{r.pk}")) for r in pending]
    return _no_store(render(request, "reviews/portal/review_requests.html", {"rows": rows, "error": error},
                            status=status))


@login_required
@require_GET
def coordinator_review_requests(request: HttpRequest) -> HttpResponse:
    """Builders' pending requests for human review, on the cases this coordinator may see (no conflicts)."""
    _require_role(request, Role.COORDINATOR)
    return _review_requests_page(request)


@login_required
@require_POST
def coordinator_review_request_decide(request: HttpRequest, request_pk: int) -> HttpResponse:
    _require_role(request, Role.COORDINATOR)
    review_request = get_object_or_404(review_requests_pending_for(request.user), pk=request_pk)
    form = ReviewRequestDecisionForm(request.POST, prefix=f"r{review_request.pk}")
    if not form.is_valid():
        return _review_requests_page(request, forms={review_request.pk: form},
                                     error="Choose an answer and give the builder a reason.", status=400)
    accept = form.cleaned_data["answer"] == "accept"
    try:
        review_request_decide(review_request=review_request, actor=request.user, accept=accept,
                              reason=form.cleaned_data["reason"])
    except DomainError as error:
        return _review_requests_page(request, forms={review_request.pk: form}, error=str(error),
                                     status=error.http_status)
    case = review_request.submission
    if accept:
        messages.success(request, f"Accepted: case {case.reference} now awaits the builder's consent to human "
                                  "review.")
        return redirect("coordinator_case", pk=case.pk)
    messages.success(request, f"Declined the request on case {case.reference}; the builder sees your reason.")
    return redirect("coordinator_review_requests")


def coordinator_case_or_403(request: HttpRequest, pk) -> Submission:  # noqa: ANN001
    """The case for a coordinator who may coordinate it (every coordinator page's first step, here and in
    reviews.portal_holds): a conflicted coordinator gets 403 with the reason, and none of the case's content."""
    _require_role(request, Role.COORDINATOR)
    try:
        return coordinator_case_for(request.user, pk)
    except services.Conflicted as refused:
        raise PermissionDenied(str(refused)) from None


def _case_page(request: HttpRequest, submission: Submission, *, error: str | None = None, status: int = 200,
               **forms) -> HttpResponse:  # noqa: ANN003
    standings = selectors.case_reviewer_standings(submission)
    plan = selectors.case_plan(submission) if submission.state in selectors.OPEN_REVIEW_STATES else None
    context = {
        "case": submission, "error": error, "standings": standings,
        "assignable": [s for s in standings if s.assignable],
        "conflicted": [s for s in standings if s.conflicts],
        "plan": plan, "plan_reviewers": selectors.plan_reviewers(plan, submission) if plan else [],
        "overrides": selectors.case_overrides(submission),
        "grants": selectors.case_grants(submission),
        "accepted": [a for a in submission.assignments.select_related("reviewer")
                     if a.status == Assignment.Status.ACCEPTED],
        "consent": Consent.objects.filter(submission=submission).first(),
        "reviews": services.reviews_visible_to(submission=submission, user=request.user),
        "agreement": selectors.case_agreement(submission),
        "decision": Decision.objects.filter(submission=submission).first(),
        "coordination": CaseCoordination.objects.filter(submission=submission).select_related("coordinator").first(),
        "override_form": forms.get("override_form") or OverrideRequestForm(),
        "grant_form": forms.get("grant_form") or GrantForm(initial={"tier": "black", "days": 14}),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "can_decide": submission.state == State.IN_REVIEW,
    }
    return _no_store(render(request, "reviews/portal/coordinator_case.html", context, status=status))


@login_required
@require_GET
def coordinator_case(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    return _case_page(request, coordinator_case_or_403(request, pk))


def _after(request: HttpRequest, submission: Submission, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("coordinator_case", pk=submission.pk)


def _reviewer_by_pk(pk: int) -> User:
    return get_object_or_404(User, pk=pk, role=Role.REVIEWER, is_active=True)


@login_required
@require_POST
def coordinator_take(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    services.coordination_take(submission=submission, actor=request.user)
    return _after(request, submission, "You are the coordinator of record for this case.")


@login_required
@require_POST
def coordinator_assign(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _case_page(request, submission, error="Choose a reviewer.", status=400)
    reviewer = _reviewer_by_pk(form.cleaned_data["reviewer"])
    try:
        services.assignment_propose(submission=submission, reviewer=reviewer, actor=request.user)
    except DomainError as error:
        return _case_page(request, submission, error=str(error), status=error.http_status)
    return _after(request, submission, f"Proposed the case to {reviewer.pseudonym}.")


@login_required
@require_POST
def coordinator_assign_plan(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    """One click: propose the case to every reviewer the solver picked for its open seats."""
    submission = coordinator_case_or_403(request, pk)
    try:
        proposed = services.assignment_replan(submission=submission, actor=request.user)
    except DomainError as error:
        return _case_page(request, submission, error=str(error), status=error.http_status)
    names = ", ".join(a.reviewer.pseudonym for a in proposed) or "nobody (no eligible reviewer with room)"
    return _after(request, submission, f"Proposed the case to {names}.")


@login_required
@require_POST
def coordinator_override_request(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    form = OverrideRequestForm(request.POST)
    if not form.is_valid():
        return _case_page(request, submission, override_form=form, error="Check the override request.", status=400)
    reviewer = _reviewer_by_pk(form.cleaned_data["reviewer"])
    try:
        services.override_request(submission=submission, reviewer=reviewer, rule=form.cleaned_data["rule"],
                                  reason=form.cleaned_data["reason"], actor=request.user)
    except DomainError as error:
        return _case_page(request, submission, override_form=form, error=str(error), status=error.http_status)
    return _after(request, submission, "Override requested; a second coordinator must approve it.")


@login_required
@require_POST
def coordinator_override_approve(request: HttpRequest, override_pk: int) -> HttpResponse:
    _require_role(request, Role.COORDINATOR)
    override = get_object_or_404(ConflictOverride.objects.select_related("submission"), pk=override_pk)
    try:
        services.override_approve(override=override, actor=request.user)
    except DomainError as error:
        return _case_page(request, override.submission, error=str(error), status=error.http_status)
    return _after(request, override.submission, "Override approved.")


@login_required
@require_POST
def coordinator_grant_issue(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _case_page(request, submission, grant_form=form, error="Check the grant.", status=400)
    reviewer = _reviewer_by_pk(form.cleaned_data["reviewer"])
    try:
        grant = services.grant_issue(submission=submission, reviewer=reviewer, tier=form.cleaned_data["tier"],
                                     days=form.cleaned_data["days"], actor=request.user)
    except DomainError as error:
        return _case_page(request, submission, grant_form=form, error=str(error), status=error.http_status)
    return _after(request, submission, f"Granted {grant.tier} box access to {reviewer.pseudonym} until "
                                       f"{grant.expires_at:%Y-%m-%d %H:%M} UTC.")


@login_required
@require_POST
def coordinator_grant_revoke(request: HttpRequest, grant_pk: int) -> HttpResponse:
    _require_role(request, Role.COORDINATOR)
    grant = get_object_or_404(AccessGrant.objects.select_related("submission", "reviewer"), pk=grant_pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _case_page(request, grant.submission, error="Give a reason for revoking.", status=400)
    services.grant_revoke(grant=grant, actor=request.user, reason=form.cleaned_data["reason"])
    return _after(request, grant.submission, f"Revoked {grant.reviewer.pseudonym}'s access.")


@login_required
@require_POST
def coordinator_decide(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _case_page(request, submission, decision_form=form, error="Check the decision.", status=400)
    try:
        decision = services.decision_record(submission=submission, actor=request.user,
                                            verdict=form.cleaned_data["verdict"],
                                            rationale=form.cleaned_data["rationale"],
                                            override_reason=form.cleaned_data["override_reason"])
    except (IllegalTransition, StaleTransition) as error:
        return _case_page(request, submission, decision_form=form, error=str(error), status=409)
    except DomainError as error:
        return _case_page(request, submission, decision_form=form, error=str(error), status=error.http_status)
    note = " Reviewers disagreed; the rationale is on record." if decision.disagreement else ""
    return _after(request, submission, f"Decided: {decision.get_verdict_display()}.{note}")


@login_required
@require_GET
def coordinator_calibration(request: HttpRequest) -> HttpResponse:
    _require_role(request, Role.COORDINATOR)
    form = CalibrationForm(request.GET or None)
    since = form.cleaned_data["since"] if form.is_bound and form.is_valid() else None
    calibration = services.reviewer_calibration(since=since)
    return render(request, "reviews/portal/calibration.html", {
        "form": form, "since": since,
        "kappas": sorted(calibration["kappa_by_panel_size"].items()),
        "agreement": sorted(calibration["reviewer_agreement"].items())})


# --- builder: consent and conflicts -------------------------------------------------------------

def _consent_page(request: HttpRequest, submission: Submission, form: ConsentForm, *, status: int = 200,
                  declaration_form: DeclarationForm | None = None) -> HttpResponse:
    consent = Consent.objects.filter(submission=submission).first()
    context = {"case": submission, "consent": consent, "form": form,
               "declaration_form": declaration_form or DeclarationForm(),
               "declarations": submission.builder_conflict_declarations.order_by("-created_at"),
               "waiting": consent is not None and consent.answered_at is None
               and submission.state == State.AWAITING_CONSENT}
    return render(request, "reviews/portal/consent.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def builder_consent(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = submission_get_owned(request.user, pk)
    if request.method == "GET":
        consent = Consent.objects.filter(submission=submission).first()
        initial = {"tier": consent.tier_required if consent else "black"}
        return _consent_page(request, submission, ConsentForm(initial=initial))
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _consent_page(request, submission, form, status=400)
    data = form.cleaned_data
    try:
        submission = services.consent_answer(
            submission=submission, actor=request.user, accept=data["answer"] == "accept",
            tier=data["tier"] or None, confirm_above_offer=data["confirm_above_offer"],
            reveal_identity=data["reveal_identity"])
    except (IllegalTransition, StaleTransition) as error:
        form.add_error(None, str(error))
        return _consent_page(request, submission, form, status=409)
    except DomainError as error:
        form.add_error(None, str(error))
        return _consent_page(request, submission, form, status=error.http_status)
    if submission.state == State.CLOSED:
        messages.info(request, f"Case {submission.reference} is closed with guidance: the triage report and its "
                               "remediation advice stay available to you. You can submit again after changes.")
    else:
        messages.success(request, f"Thank you. Case {submission.reference} is now in review.")
    return redirect("case_detail", pk=submission.pk)


@login_required
@require_POST
def builder_declaration_add(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = submission_get_owned(request.user, pk)
    form = DeclarationForm(request.POST)
    if not form.is_valid():
        return _consent_page(request, submission, ConsentForm(), declaration_form=form, status=400)
    try:
        services.declaration_add(actor=request.user, submission=submission, party=form.cleaned_data["party"],
                                 note=form.cleaned_data["note"])
    except DomainError as error:
        form.add_error(None, str(error))
        return _consent_page(request, submission, ConsentForm(), declaration_form=form, status=error.http_status)
    messages.success(request, f"Noted: nobody conflicted with {form.cleaned_data['party']} will review this case.")
    return redirect("builder_consent", pk=submission.pk)


# --- thread -------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def case_thread(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = selectors.thread_case_for(request.user, pk)
    form = MessageForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                message_post(submission=submission, actor=request.user, body=form.cleaned_data["body"],
                             path=reverse("case_thread", args=[submission.pk]))
            except DomainError as error:
                form.add_error(None, str(error))
                status = error.http_status
            else:
                messages.success(request, "Message sent.")
                return redirect("case_thread", pk=submission.pk)
        else:
            status = 400
    thread = [{"mine": m.author_id == request.user.pk,
               "who": ("You" if m.author_id == request.user.pk else
                       ("Assay coordinator" if m.author.role == Role.COORDINATOR else
                        ("Builder" if request.user.role == Role.COORDINATOR else m.author.pseudonym))),
               "at": m.created_at, "body": m.body} for m in selectors.thread_messages(submission)]
    return _no_store(render(request, "reviews/portal/thread.html",
                            {"case": submission, "thread": thread, "form": form}, status=status))
