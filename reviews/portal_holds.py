"""Portal pages for IP disputes and legal holds.

- opening a dispute: the case's builder only (404 for strangers, 403 for anyone else who sees the case);
- deciding a dispute, reading its evidence, requesting, approving and releasing legal holds: coordinators with a
  staff session that passed MFA (403 otherwise), on cases they may see (404 otherwise; a conflicted coordinator
  gets 403 with the reason, as on their other pages).
Each write goes back to the case page, where disputes and holds are listed; a refused write shows why, with the
status the service gave (400 bad input, 403 not allowed, 409 state moved on).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake.accounts.assurance import check_staff_session
from intake.errors import DomainError
from intake.models import Role, Submission
from intake.ratelimits import enforce
from intake.selectors import submission_get_owned
from intake.vault.dispute_hold_selectors import dispute_get_for_coordinator, legal_hold_get_for_coordinator
from intake.vault.disputes import dispute_decide, dispute_evidence_open
from intake.vault.models import DisputeTarget
from intake.vault.retention import legal_hold_approve, legal_hold_release, legal_hold_request
from reviews.dispute_targets import dispute_raise
from reviews.forms import (DisputeDecideForm, DisputeOpenForm, LegalHoldReleaseForm, LegalHoldRequestForm,
                           SimilarityDisputeForm)
from reviews.portal_views import coordinator_case_or_403


def _refused(request: HttpRequest, submission: Submission, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "reviews/portal/ip_refused.html", {"case": submission, "title": title, "message": message},
                  status=status)


def _first_error(form) -> str:  # noqa: ANN001
    field, errors = next(iter(form.errors.items()))
    return f"{form.fields[field].label or field}: {errors[0]}" if field in form.fields else str(errors[0])


def _back(request: HttpRequest, submission: Submission, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("case_detail", pk=submission.pk)


# --- builders ---------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def dispute_open_view(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = submission_get_owned(request.user, pk)
    if request.method == "GET":
        return render(request, "reviews/portal/dispute_open.html", {"case": submission, "form": DisputeOpenForm()})
    enforce(request, "dispute-open")
    form = DisputeOpenForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "reviews/portal/dispute_open.html", {"case": submission, "form": form}, status=400)
    upload = form.cleaned_data.get("evidence")
    try:
        dispute_raise(claimant_case=submission, actor=request.user, target_kind=DisputeTarget.REPORT,
                      target_ref=str(form.cleaned_data["report_id"]), statement=form.cleaned_data["statement"],
                      evidence_file=upload, evidence_name=upload.name if upload else "")
    except DomainError as error:
        form.add_error(None, str(error))
        return render(request, "reviews/portal/dispute_open.html", {"case": submission, "form": form},
                      status=error.http_status)
    finally:
        if upload:
            upload.close()
    return _back(request, submission, "Your IP dispute is open. A coordinator will decide it; until then neither "
                                      "case can be deleted.")


# --- coordinators: disputes -------------------------------------------------------------------------------

@login_required
@require_POST
def dispute_from_link_view(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    form = SimilarityDisputeForm(request.POST)
    if not form.is_valid():
        return _refused(request, submission, "Dispute not opened", _first_error(form), 400)
    try:
        dispute_raise(claimant_case=submission, actor=request.user, target_kind=DisputeTarget.SIMILARITY_LINK,
                      target_ref=str(form.cleaned_data["link"]), statement=form.cleaned_data["statement"])
    except DomainError as error:
        return _refused(request, submission, "Dispute not opened", str(error), error.http_status)
    return _back(request, submission, "IP dispute opened from the similarity link; neither case can be deleted "
                                      "until it is decided.")


@login_required
@require_POST
def dispute_decide_view(request: HttpRequest, dispute_pk) -> HttpResponse:  # noqa: ANN001
    check_staff_session(request, role=Role.COORDINATOR)
    dispute = dispute_get_for_coordinator(request.user, dispute_pk)
    case = dispute.claimant_case if str(request.POST.get("case")) != str(dispute.respondent_case_id) \
        else dispute.respondent_case
    form = DisputeDecideForm(request.POST)
    if not form.is_valid():
        return _refused(request, case, "Dispute not decided", _first_error(form), 400)
    try:
        dispute_decide(dispute=dispute, actor=request.user, outcome=form.cleaned_data["outcome"],
                       decision=form.cleaned_data["decision"])
    except DomainError as error:
        return _refused(request, case, "Dispute not decided", str(error), error.http_status)
    return _back(request, case, f"The dispute is {form.cleaned_data['outcome']}; both builders see the decision.")


@login_required
@require_GET
def dispute_evidence_view(request: HttpRequest, dispute_pk) -> FileResponse:  # noqa: ANN001
    check_staff_session(request, role=Role.COORDINATOR)
    dispute = dispute_get_for_coordinator(request.user, dispute_pk)
    stream = dispute_evidence_open(dispute=dispute, actor=request.user)
    # Always a download, never rendered: the file is the claimant's, and hostile until proven otherwise.
    response = FileResponse(stream, as_attachment=True, filename=f"dispute-evidence-{dispute.pk}.bin",
                            content_type="application/octet-stream")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- coordinators: legal holds ----------------------------------------------------------------------------

@login_required
@require_POST
def legal_hold_request_view(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = coordinator_case_or_403(request, pk)
    form = LegalHoldRequestForm(request.POST)
    if not form.is_valid():
        return _refused(request, submission, "Legal hold not requested", _first_error(form), 400)
    try:
        legal_hold_request(submission=submission, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as error:
        return _refused(request, submission, "Legal hold not requested", str(error), error.http_status)
    return _back(request, submission, "Legal hold requested; a second coordinator must approve it.")


@login_required
@require_POST
def legal_hold_approve_view(request: HttpRequest, hold_pk) -> HttpResponse:  # noqa: ANN001
    check_staff_session(request, role=Role.COORDINATOR)
    hold = legal_hold_get_for_coordinator(request.user, hold_pk)
    try:
        legal_hold_approve(hold=hold, actor=request.user)
    except DomainError as error:
        return _refused(request, hold.submission, "Legal hold not approved", str(error), error.http_status)
    return _back(request, hold.submission, "Legal hold approved: shredding is suspended until it is released.")


@login_required
@require_POST
def legal_hold_release_view(request: HttpRequest, hold_pk) -> HttpResponse:  # noqa: ANN001
    check_staff_session(request, role=Role.COORDINATOR)
    hold = legal_hold_get_for_coordinator(request.user, hold_pk)
    form = LegalHoldReleaseForm(request.POST)
    if not form.is_valid():
        return _refused(request, hold.submission, "Legal hold not released", _first_error(form), 400)
    try:
        legal_hold_release(hold=hold, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as error:
        return _refused(request, hold.submission, "Legal hold not released", str(error), error.http_status)
    return _back(request, hold.submission, "Legal hold released.")
