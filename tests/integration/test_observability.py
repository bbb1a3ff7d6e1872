"""Structured logs with request ids and no secrets; request, 429 and triage metrics."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from assay.observability import REDACTED, logging_config, redact_secrets, request_id_accept_or_new
from tests.factories import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():  # noqa: ANN201
    """The production logging configuration (JSON, redaction, request ids), writing into a buffer."""
    buffer = io.StringIO()
    config = logging_config(level="INFO", json_lines=True)
    console = config["handlers"]["console"]
    config["handlers"]["console"] = {"()": lambda: logging.StreamHandler(buffer),
                                     "formatter": console["formatter"], "filters": console["filters"]}
    logging.config.dictConfig(config)
    yield buffer
    logging.config.dictConfig(django_settings.LOGGING)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_production_logging_wires_redaction_and_request_ids_into_every_handler() -> None:
    config = logging_config(level="INFO", json_lines=True)
    for handler in config["handlers"].values():
        assert {"redact", "request_id"} <= set(handler["filters"])
        assert handler["formatter"] == "json"


def test_a_callers_request_id_is_kept_and_returned() -> None:
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21-0001")
    assert response["X-Request-ID"] == "lb-7f3a9c21-0001"


@pytest.mark.parametrize("hostile", ["short", "x" * 200, "abc\r\nSet-Cookie: a=b", "<script>alert(1)</script>"])
def test_a_malformed_request_id_is_replaced_by_a_fresh_one(hostile: str) -> None:
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=hostile)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert request_id_accept_or_new(hostile) != hostile


def test_each_request_gets_one_json_access_line_with_its_request_id(json_log, builder) -> None:  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    response = client.get("/dashboard/?q=secret-search-term", HTTP_X_REQUEST_ID="req-abcdef-123456")
    assert response.status_code == 200
    access = [line for line in lines(json_log) if line["logger"] == "assay.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-abcdef-123456"
    assert line["method"] == "GET" and line["status"] == 200 and line["view"] == "dashboard"
    assert line["path"] == "/dashboard/" and line["user_id"] == builder.pk
    assert isinstance(line["duration_ms"], float)
    assert "secret-search-term" not in json_log.getvalue()  # query strings are never logged


def test_a_request_carrying_a_token_and_cookies_leaves_neither_in_the_log(json_log, builder) -> None:  # noqa: ANN001
    token = make_token(builder)
    client = APIClient()
    client.cookies["sessionid"] = "sessioncookievalue0123456789"
    response = client.get(f"/api/v1/submissions/?token={token}", HTTP_AUTHORIZATION=f"Bearer {token}",
                          HTTP_X_REQUEST_ID="req-token-000001")
    assert response.status_code == 200
    # Code that does log a header or an exception message by mistake is masked too.
    logging.getLogger("intake.example").warning("auth header was %s", f"Bearer {token}")
    try:
        raise ValueError(f"could not parse {token} from Cookie: sessionid=sessioncookievalue0123456789")
    except ValueError:
        logging.getLogger("intake.example").exception("parse failed")
    output = json_log.getvalue()
    assert token not in output
    assert token.split("_")[2] not in output  # not even the secret part
    assert "sessioncookievalue0123456789" not in output
    assert output.count(REDACTED) >= 2
    assert [line["request_id"] for line in lines(json_log) if line["logger"] == "assay.access"] == ["req-token-000001"]
    assert any("ValueError" in line.get("exc", "") for line in lines(json_log))


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("{'HTTP_AUTHORIZATION': 'Token zyxwvutsrqpo'}", "zyxwvutsrqpo"),
    ("Cookie: sessionid=s3ss10n; csrftoken=csrfcsrf", "s3ss10n"),
    ("csrfmiddlewaretoken=aaaabbbbcccc&title=x", "aaaabbbbcccc"),
    ("DATABASE_URL=postgres://assay:hunter2hunter2@db:5432/assay", "hunter2hunter2"),
    ("password=correct-horse-battery", "correct-horse-battery"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG", "wJalrXUtnFEMIK7MDENG"),
    ("token asy_0a1b2c3d4e5f_Zm9vYmFyYmF6cXV4 used", "Zm9vYmFyYmF6cXV4"),
])
def test_credentials_of_every_shape_are_redacted(text: str, secret: str) -> None:
    redacted = redact_secrets(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_ordinary_text_is_left_alone() -> None:
    text = "case ASY-2026-0042 moved from triaging to triaged in 812 ms (policy 2026.1)"
    assert redact_secrets(text) == text


def test_a_429_is_counted_by_view_and_djangos_own_warning_carries_the_request_id(builder, settings,  # noqa: ANN001
                                                                                  json_log) -> None:  # noqa: ANN001
    settings.ASSAY_RATE_LIMITS = {"submission-create": "1/h"}
    client = APIClient(REMOTE_ADDR="10.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}")
    before = REGISTRY.get_sample_value("assay_http_rate_limited_total", {"view": "api:api-submission-list"}) or 0
    statuses = [client.post("/api/v1/submissions/", {"title": f"case {i}"}, format="json",
                            HTTP_X_REQUEST_ID=f"req-flood-00000{i}").status_code for i in range(2)]
    assert statuses == [201, 429]
    warnings = [line for line in lines(json_log) if line["logger"] == "django.request"]
    assert [line["request_id"] for line in warnings] == ["req-flood-000001"]
    assert REGISTRY.get_sample_value("assay_http_rate_limited_total", {"view": "api:api-submission-list"}) == before + 1


def test_a_triage_run_is_timed_by_stage_and_its_decision_counted(builder, settings) -> None:  # noqa: ANN001
    from intake.services import submission_submit
    from tests.factories import make_draft
    from triage.pipeline import triage_submission_run
    from triage.sandbox import backend_works

    settings.ASSAY_SANDBOX = "bubblewrap" if backend_works("bubblewrap") else "auto"
    stages = ("stage_artifacts", "analyse", "store", "apply_decision")

    def counts() -> dict[str, float]:
        return {stage: REGISTRY.get_sample_value("assay_triage_stage_duration_seconds_count", {"stage": stage}) or 0
                for stage in stages}

    before = counts()
    submission = submission_submit(submission=make_draft(builder), actor=builder)
    assert triage_submission_run(str(submission.pk)) == "closed"
    assert counts() == {stage: before[stage] + 1 for stage in stages}
    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert 'assay_decisions{kind="triage",outcome="guidance"} 1.0' in text
    assert 'assay_cases{state="closed"} 1.0' in text
