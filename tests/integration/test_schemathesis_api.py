"""Hostile input against the whole API, generated from our own OpenAPI schema (schemathesis + hypothesis).

Every operation gets a bounded number of generated requests, each sent as the role that uses it (builders for
their cases, reviewers for /review/, coordinators for /coordinate/ and report revocation) and sometimes as a
role that may not (a builder), with path ids that are sometimes real objects that caller can reach (a draft, a
case awaiting consent, a granted case, a proposed assignment, a grant, an issued report) and sometimes made up.
Every answer must conform to the schema: no 5xx, a documented status code, content type and body, so every
4xx an endpoint returns must be documented in the contract's error shape.
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

from reviews.models import Report
from reviews.reports import report_issue
from reviews.services import assignment_propose
from tests.factories import make_draft, make_token
from tests.unit.review_portal_support import case_in_review, escalated_case, granted, make_coordinator, \
    make_reviewer
from tests.unit.reviews.test_reports import closed_case

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PUBLIC = ("/api/v1/aggregates/", "/api/v1/reports/verify/")


@pytest.fixture
def api_schema(settings, tmp_path):  # noqa: ANN001, ANN201
    # Rate limits and the open-case quota would turn most generated requests into 429s and 403s.
    settings.ASSAY_RATE_LIMITS = {group: "1000000/m" for group in (
        "verify", "token", "submission-create", "upload", "reviewer-view")}
    settings.ASSAY_OPEN_CASE_QUOTA = {level: 100000 for level in range(4)}
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    # The raw WSGI handler closes the database connection after each request, which would end the test's
    # transaction; Django's own test client unhooks the same signal handlers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_documents_its_errors_in_the_contract_shape(api_schema) -> None:  # noqa: ANN001
    raw = api_schema.raw_schema
    error_ref = "#/components/schemas/ErrorOut"
    for path, item in raw["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            responses = operation["responses"]
            errors = {code for code in responses if code.startswith("4")}
            if path not in PUBLIC:
                assert {"401", "403", "429"} <= errors, f"{method.upper()} {path} documents only {sorted(errors)}"
            if "{" in path:
                assert "404" in errors, f"{method.upper()} {path} names an object but documents no 404"
            if "requestBody" in operation and method != "delete":
                assert {"400", "413"} <= errors, f"{method.upper()} {path} reads a body: {sorted(errors)}"
            for code in errors:
                schema = responses[code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, f"{method.upper()} {path} {code}: {schema}"


def _role_of(path: str) -> str:
    if path.startswith("/api/v1/review/"):
        return "reviewer"
    if path.startswith("/api/v1/coordinate/") or path.endswith("/revoke/"):
        return "coordinator"
    return "builder"


def test_no_generated_request_gets_an_answer_outside_the_schema(api_schema, builder) -> None:  # noqa: ANN001
    reviewer = make_reviewer("schemathesis-reviewer@southwind.example", organisation="Southwind")
    coordinator = make_coordinator()
    tokens = {
        "builder": make_token(builder, scopes=("submissions:read", "submissions:write", "reports:read")),
        "reviewer": make_token(reviewer, scopes=("reviews",)),
        "coordinator": make_token(coordinator, scopes=("reviews",)),
    }
    granted_case = granted(builder, coordinator, reviewer)
    proposed = assignment_propose(submission=case_in_review(builder), reviewer=reviewer, actor=coordinator)
    report = report_issue(submission=closed_case(builder), kind=Report.Kind.GUIDANCE, actor=None)
    # The ids each caller can really reach, by path parameter name and type.
    real_ids = {
        "builder": {"id": [str(make_draft(builder).pk), str(escalated_case(builder).pk), str(report.submission_id)],
                    "report_pk": [str(report.pk)]},
        "reviewer": {"id": [str(granted_case.case.pk), proposed.pk]},
        "coordinator": {"id": [str(granted_case.case.pk), granted_case.grant.pk], "report_pk": [str(report.pk)]},
    }
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 35
    failures: list[str] = []
    calls: dict[str, int] = {}
    real_calls, statuses = [0], set()

    for operation in operations:
        role = _role_of(operation.path)
        # Mostly the role the endpoint is for; a builder's token now and then, which must get a documented 403.
        callers = [role, role, "builder"] if role != "builder" else ["builder"]

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), caller=st.sampled_from(callers), use_real=st.booleans(),
               pick=st.integers(min_value=0, max_value=5))
        def exercise(case, caller: str, use_real: bool, pick: int) -> None:  # noqa: ANN001
            reached_real = False
            if use_real and case.path_parameters:
                for name, value in list(case.path_parameters.items()):
                    candidates = [c for c in real_ids[caller].get(name, []) if type(c) is type(value)]
                    if candidates:
                        case.path_parameters[name] = candidates[pick % len(candidates)]
                        reached_real = True
            headers = {"Authorization": f"Bearer {tokens[caller]}"}
            response = case.call(headers=headers)
            calls[caller] = calls.get(caller, 0) + 1
            real_calls[0] += reached_real
            statuses.add((operation.path, response.status_code))
            case.validate_response(response, checks=CHECKS, headers=headers)
            if response.status_code != 204:  # every answer of the API is JSON (or the report PDF), never HTML
                content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
                assert str(content_type[0] if isinstance(content_type, list) else content_type).startswith(
                    ("application/json", "application/pdf")), f"{response.status_code} {content_type}"

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's first failure, then report them all together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:600]}")
    assert sum(calls.values()) >= len(operations) * EXAMPLES_PER_OPERATION // 2
    assert min(calls.get(role, 0) for role in tokens) >= 30, calls
    assert real_calls[0] >= 60  # the generated requests reached real objects, not only 404s
    # The review side answered with success bodies too, not only refusals, so their schemas were checked.
    assert {code for path, code in statuses if path.startswith("/api/v1/review/") and code < 300}, statuses
    assert {code for path, code in statuses if path.startswith("/api/v1/coordinate/") and code < 300}, statuses
    assert not failures, "\n".join(failures)
