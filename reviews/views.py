"""Public verification, published keys and the transparency log; report downloads for those who may see the case."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from intake.ratelimits import enforce
from intake.selectors import submission_get_for
from reviews.models import Report, SignedTreeHead
from reviews.report_pdf import MAX_REPORT_BYTES
from reviews.reports import report_html, report_pdf_response, report_verify
from reviews.transparency import consistency_for, inclusion_for, keyring, sth_as_dict, sth_sign

STATUS_TEXT = {
    "valid": "Valid and current",
    "expired": "Expired",
    "revoked": "Revoked",
    "tampered": "Tampered or damaged",
    "bad_signature": "Signature does not match",
    "unknown_key": "Not signed by this platform's published keys",
}


def published_keys(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keyring().published_json())
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    result = None
    error = None
    if request.method == "POST":
        enforce(request, "verify")
        upload = request.FILES.get("report")
        if upload is None:
            error = "Choose a report PDF to verify."
        elif upload.size > MAX_REPORT_BYTES:
            error = "That file is larger than any Assay report."
        else:
            result = report_verify(upload.read())
    elif request.GET.get("id"):
        enforce(request, "verify")
        report_id = _as_uuid(request.GET["id"].strip())
        report = Report.objects.filter(pk=report_id).first() if report_id else None
        if report is None:
            error = "No report with that id was issued here."
        else:
            result = report_verify(bytes(report.pdf))
    status = 200 if error is None else 400
    return render(request, "reviews/verify.html",
                  {"result": result, "error": error, "status_text": STATUS_TEXT.get(result.status) if result else None},
                  status=status)


def _as_uuid(value: str):  # noqa: ANN202
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def transparency_head(request: HttpRequest) -> JsonResponse:
    return JsonResponse(sth_as_dict(sth_sign()))


def transparency_proof(request: HttpRequest) -> JsonResponse:
    """Inclusion proof (?index=&size=) or consistency proof (?old=&size=) against a signed head."""
    try:
        size = int(request.GET["size"])
        if not SignedTreeHead.objects.filter(tree_size=size).exists():
            return JsonResponse({"error": {"code": "not_found", "message": "no signed head of that size"}}, status=404)
        if "index" in request.GET:
            index = int(request.GET["index"])
            return JsonResponse({"index": index, "tree_size": size, "proof": inclusion_for(index, size)})
        old = int(request.GET["old"])
        return JsonResponse({"old_size": old, "tree_size": size, "proof": consistency_for(old, size)})
    except (KeyError, ValueError):
        return JsonResponse({"error": {"code": "invalid", "message": "give size and either index or old"}},
                            status=400)


def _report_for(request: HttpRequest, case_pk, report_pk) -> Report:  # noqa: ANN001
    submission = submission_get_for(request.user, case_pk)
    report = Report.objects.filter(pk=report_pk, submission=submission).first()
    if report is None:
        raise Http404("No such report.")
    return report


@login_required
def report_pdf(request: HttpRequest, case_pk, report_pk) -> FileResponse:  # noqa: ANN001
    return report_pdf_response(_report_for(request, case_pk, report_pk))


@login_required
def report_page(request: HttpRequest, case_pk, report_pk) -> HttpResponse:  # noqa: ANN001
    report = _report_for(request, case_pk, report_pk)
    return HttpResponse(report_html(report.statement["predicate"], for_pdf=False))


# --- aggregates (public) -----------------------------------------------------------------------

def aggregates_index(request: HttpRequest) -> HttpResponse:
    from reviews.aggregates import release_chart
    from reviews.models import AggregateRelease

    releases = list(AggregateRelease.objects.order_by("-created_at")[:50])
    latest = releases[0] if releases else None
    charts = []
    if latest is not None:
        dimensions = list(dict.fromkeys(c["dimension"] for c in latest.cells))
        charts = [release_chart(latest, d) for d in dimensions]
    return render(request, "reviews/aggregates.html", {"releases": releases, "latest": latest, "charts": charts})


def aggregate_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    from reviews.aggregates import release_csv
    from reviews.models import AggregateRelease

    release = AggregateRelease.objects.filter(pk=pk).first()
    if release is None:
        raise Http404("No such release.")
    if fmt == "csv":
        response = HttpResponse(release_csv(release), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="assay-{release.dataset}-v{release.version}.csv"'
        return response
    return JsonResponse({"statement": release.statement, "key_id": release.key_id, "signature": release.signature,
                         "log_index": release.log_index})


@login_required
@require_http_methods(["POST"])
def report_revoke_view(request: HttpRequest, case_pk, report_pk) -> HttpResponse:  # noqa: ANN001
    from django.contrib import messages
    from django.shortcuts import redirect

    from intake.accounts.assurance import check_staff_session
    from intake.errors import ValidationFailed
    from intake.models import Role
    from reviews.reports import report_revoke

    check_staff_session(request, role=Role.COORDINATOR, message="Only coordinators revoke reports.")
    report = _report_for(request, case_pk, report_pk)
    try:
        report_revoke(report=report, actor=request.user, reason=request.POST.get("reason", ""))
    except ValidationFailed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Report revoked; the revocation is in the transparency log.")
    return redirect("case_detail", pk=report.submission_id)
