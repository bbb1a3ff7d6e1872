from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from intake.errors import NotEditable
from intake.ratelimits import enforce
from intake.selectors import submission_get_for
from triage.runner import TriageInputError, TriagePlatformError
from triage.scope_inventory import submission_detect_components
from triage.sarif import sarif_document
from triage.selectors import contract_document, latest_triage_result, no_triage_result_message

logger = logging.getLogger(__name__)


@login_required
def case_triage_sarif(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    submission = submission_get_for(request.user, pk)
    result = latest_triage_result(submission)
    if result is None:
        raise Http404(no_triage_result_message(submission))
    body = json.dumps(sarif_document(contract_document(result)), indent=2, sort_keys=True)
    response = HttpResponse(body, content_type="application/sarif+json")
    response["Content-Disposition"] = f'attachment; filename="assay-{submission.reference}.sarif"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def case_scope_detect(request: HttpRequest, pk) -> HttpResponse:  # noqa: ANN001
    """The scope step's "Detect components": one sandboxed analysis of the draft, then back to the step."""
    submission = submission_get_for(request.user, pk)
    if submission.owner_id != request.user.pk:
        raise PermissionDenied("Only the builder who owns this case can change it.")
    enforce(request, "detect-components")
    url = reverse("case_scope", args=[submission.pk])
    try:
        submission_detect_components(submission=submission, actor=request.user)
    except (TriageInputError, NotEditable) as exc:
        messages.error(request, f"Components were not detected: {exc}")
    except TriagePlatformError:
        logger.exception("component detection failed for case %s", submission.reference)
        messages.error(request, "Components could not be detected right now; please try again in a minute.")
    if request.htmx:
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
