"""htmx requests get fragments, not whole pages, when a rate limit trips or the session has expired."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_draft


@pytest.mark.django_db
def test_expired_session_on_a_status_poll_navigates_to_login(client, builder):  # noqa: ANN001
    submission = make_draft(builder)
    response = client.get(f"/cases/{submission.pk}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_rate_limit_under_htmx_is_a_one_line_fragment(client, builder, settings):  # noqa: ANN001
    from intake import ratelimits

    settings.RATELIMIT_ENABLE = True
    client.login(email=builder.email, password=PASSWORD)
    original = ratelimits.RATES["submission-create"]
    ratelimits.RATES["submission-create"] = "1/h"
    try:
        client.post("/cases/new/", {"title": "first"}, HTTP_HX_REQUEST="true")
        response = client.post("/cases/new/", {"title": "second"}, HTTP_HX_REQUEST="true")
    finally:
        ratelimits.RATES["submission-create"] = original
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    body = response.content.decode()
    assert "Too many requests" in body and "<html" not in body
