"""Hostile input against the whole API, generated from our own OpenAPI schema (schemathesis + hypothesis).

Every operation gets a bounded number of generated requests, as a signed-in builder with a personal token,
with path ids that are sometimes the builder's real case and sometimes made up. Every answer must be a
non-5xx JSON answer; operations whose schema documents their error answers (the submissions API, the
public verify endpoint) must also conform to it: status code, content type and body schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, \
    status_code_conformance

from tests.factories import make_draft, make_token

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12
# Operations whose every answer is documented: the schema is a contract there, not just a sketch.
FULLY_DOCUMENTED = ("/api/v1/submissions/", "/api/v1/terms/", "/api/v1/reports/verify/")


@pytest.fixture
def api_schema(settings):  # noqa: ANN001, ANN201
    # Rate limits and the open-case quota would turn most generated requests into 429s and 403s.
    settings.ASSAY_RATE_LIMITS = {group: "1000000/m" for group in (
        "verify", "token", "submission-create", "upload", "reviewer-view")}
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 100000 for level in range(4)}
    # The raw WSGI handler closes the database connection after each request, which would end the test's
    # transaction; Django's own test client unhooks the same signal handlers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_schema(api_schema, builder) -> None:  # noqa: ANN001
    token = make_token(builder, scopes=("submissions:read", "submissions:write", "reports:read"))
    real_case = str(make_draft(builder).pk)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    calls, real_case_calls = [0], [0]

    for operation in operations:
        documented = operation.path.startswith(FULLY_DOCUMENTED)
        checks = [not_a_server_error]
        if documented:
            checks += [status_code_conformance, content_type_conformance, response_schema_conformance]

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), use_real_case=st.booleans())
        def exercise(case, use_real_case: bool) -> None:  # noqa: ANN001
            if use_real_case and case.path_parameters and "id" in case.path_parameters:
                case.path_parameters["id"] = real_case
            response = case.call(headers=headers)
            calls[0] += 1
            real_case_calls[0] += case.path_parameters is not None and case.path_parameters.get("id") == real_case
            case.validate_response(response, checks=checks, headers=headers)
            if response.status_code != 204:  # every answer of the API is JSON (or the report PDF), never HTML
                content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
                assert str(content_type[0] if isinstance(content_type, list) else content_type).startswith(
                    ("application/json", "application/pdf")), f"{response.status_code} {content_type}"

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's first failure, then report them all together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:600]}")
    assert calls[0] >= len(operations) * EXAMPLES_PER_OPERATION // 2
    assert real_case_calls[0] >= 20  # the generated requests reached a real case, not only 404s
    assert not failures, "\n".join(failures)
