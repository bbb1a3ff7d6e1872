from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from intake.selectors import submission_get_for
from triage.sarif import sarif_document
from triage.selectors import contract_document, latest_triage_result, no_triage_result_message


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
