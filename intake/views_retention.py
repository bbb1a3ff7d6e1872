"""Builder-facing retention: acknowledge a report (which closes the case and starts its retention clock), delete
a case now (crypto-shred + signed receipt), receipts, and a data export."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from intake.errors import DomainError
from intake.lifecycle import submission_acknowledge_report
from intake.models import Role
from intake.views import _owned_case
from intake.vault.errors import NotAllowed, ShredBlocked
from intake.vault.models import DeletionReceipt
from intake.vault.retention import retention_summary


@login_required
@require_POST
def case_acknowledge_report(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = _owned_case(request, pk)
    try:
        submission_acknowledge_report(submission=submission, actor=request.user)
    except DomainError as error:
        return render(request, "intake/error.html", {"title": "Report not acknowledged", "message": str(error)},
                      status=error.http_status)
    messages.success(request, f"Case {submission.reference} is closed. It is kept as the terms say, then "
                              "crypto-shredded automatically.")
    return redirect("case_detail", pk=submission.pk)


@login_required
@require_http_methods(["GET", "POST"])
def case_delete(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    from intake.vault.shredding import case_delete_by_builder

    submission = _owned_case(request, pk)
    summary = retention_summary(submission)
    if request.method == "POST":
        if request.POST.get("confirm") != submission.reference:
            messages.error(request, f"Type {submission.reference} to confirm deletion.")
            return render(request, "intake/case_delete.html", {"case": submission, "retention": summary},
                          status=400)
        try:
            receipt = case_delete_by_builder(submission=submission, actor=request.user,
                                             reason=request.POST.get("reason", "")[:500])
        except (ShredBlocked, NotAllowed) as exc:
            messages.error(request, str(exc))
            return render(request, "intake/case_delete.html", {"case": submission, "retention": summary},
                          status=409)
        messages.success(request, f"Case {submission.reference} was crypto-shredded. Keep your signed deletion "
                                  f"receipt {receipt.pk}.")
        return redirect("case_detail", pk=submission.pk)
    return render(request, "intake/case_delete.html", {"case": submission, "retention": summary})


@login_required
def receipt_download(request: HttpRequest, pk, receipt_pk) -> HttpResponse:  # noqa: ANN001
    submission = _owned_case(request, pk)
    receipt = DeletionReceipt.objects.filter(pk=receipt_pk, submission=submission).first()
    if receipt is None:
        raise Http404("No such receipt.")
    response = HttpResponse(json.dumps(receipt.document, indent=2, sort_keys=True), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="assay-deletion-receipt-{receipt.case_reference}.json"'
    return response


@login_required
def account_export(request: HttpRequest) -> StreamingHttpResponse:
    from intake.vault.export import builder_export_stream

    if request.user.role != Role.BUILDER:
        raise Http404("Exports are for builders.")
    response = StreamingHttpResponse(builder_export_stream(user=request.user), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="assay-export.zip"'
    response["Cache-Control"] = "no-store"
    return response
