"""Abuse limits: per account and per address, on sign-up, login, token use, case creation and upload,
plus the open-case quota by assurance level. JSON 429 + Retry-After on the API, a friendly page in the portal."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from intake.models import ApiToken, Submission, User
from tests.factories import PASSWORD, enable_totp, make_draft, make_token, make_user

pytestmark = pytest.mark.django_db


LIST = "/api/v1/submissions/"


def api_for(user, address: str = "10.0.0.1") -> APIClient:  # noqa: ANN001
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")
    return client


def assert_api_429(response, *, period: int) -> None:  # noqa: ANN001
    assert response.status_code == 429
    assert response.json() == {"error": {"code": "rate_limited", "message": "Too many requests; try again later."}}
    assert 1 <= int(response["Retry-After"]) <= period


def assert_portal_429(response, *, period: int) -> None:  # noqa: ANN001
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= period
    assert "Too many requests" in response.content.decode()
    assert 'class="brand"' in response.content.decode()  # the friendly page in our layout, not a bare error


@pytest.fixture
def rates(settings):  # noqa: ANN001, ANN201
    def set_rates(**overrides: str) -> None:
        settings.ASSAY_RATE_LIMITS = {key.replace("_", "-"): value for key, value in overrides.items()}
    return set_rates


# --- API ------------------------------------------------------------------------------------------------------

def test_case_creation_is_limited_per_account(builder, rates):  # noqa: ANN001
    rates(submission_create="2/h")
    statuses = [api_for(builder, f"10.0.0.{i}").post(LIST, {"title": f"case {i}"}, format="json")
                for i in range(3)]
    assert [r.status_code for r in statuses[:2]] == [201, 201]
    assert_api_429(statuses[2], period=3600)
    assert Submission.objects.filter(owner=builder).count() == 2


def test_case_creation_is_limited_per_address(builder, other_builder, rates):  # noqa: ANN001
    rates(submission_create="2/h")
    assert api_for(builder, "10.9.9.9").post(LIST, {"title": "a"}, format="json").status_code == 201
    assert api_for(other_builder, "10.9.9.9").post(LIST, {"title": "b"}, format="json").status_code == 201
    third = api_for(other_builder, "10.9.9.9").post(LIST, {"title": "c"}, format="json")
    assert_api_429(third, period=3600)
    assert api_for(other_builder, "10.1.1.1").post(LIST, {"title": "d"}, format="json").status_code == 201


def test_token_use_is_limited_and_unknown_tokens_count_too(builder, rates):  # noqa: ANN001
    rates(token="3/m")
    guesser = APIClient(REMOTE_ADDR="10.6.6.6")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer asy_000000000000_guess")
    assert [guesser.get(LIST).status_code for _ in range(3)] == [401, 401, 401]
    assert_api_429(guesser.get(LIST), period=60)
    client = api_for(builder, "10.0.0.2")
    assert [client.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    assert_api_429(client.get(LIST), period=60)


def test_token_use_is_limited_per_account_across_addresses(builder, rates):  # noqa: ANN001
    rates(token="2/m")
    raw = make_token(builder)
    responses = []
    for i in range(3):
        client = APIClient(REMOTE_ADDR=f"10.3.0.{i}")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        responses.append(client.get(LIST))
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert_api_429(responses[2], period=60)


def test_uploads_are_limited(builder, rates):  # noqa: ANN001
    rates(upload="1/h")
    submission = make_draft(builder, complete=False)
    client = api_for(builder)
    first = client.post(f"{LIST}{submission.pk}/artifacts/", {"file": io.BytesIO(b"one"), "kind": "config"}, format="multipart")
    assert first.status_code == 201
    second = client.post(f"{LIST}{submission.pk}/artifacts/",
                         {"file": io.BytesIO(b"two"), "kind": "config"}, format="multipart")
    assert_api_429(second, period=3600)
    assert submission.artifacts.count() == 1


def test_open_case_quota_follows_assurance_level(builder, settings):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {0: 1, 1: 2, 2: 3, 3: 5}
    client = api_for(builder)
    assert [client.post(LIST, {"title": f"c{i}"}, format="json").status_code for i in range(2)] == [201, 201]
    refused = client.post(LIST, {"title": "one too many"}, format="json")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert refused.json()["error"]["message"].startswith(
        "you have reached the limit of 2 open case(s) for assurance level 1")
    enable_totp(builder)  # level 2
    assert client.post(LIST, {"title": "now allowed"}, format="json").status_code == 201


def test_withdrawn_cases_free_the_quota(builder, settings, terms):  # noqa: ANN001
    settings.ASSAY_OPEN_CASE_QUOTA = {0: 1, 1: 1, 2: 1, 3: 1}
    draft = make_draft(builder, complete=False)
    client = api_for(builder)
    assert client.post(LIST, {"title": "second"}, format="json").status_code == 429
    client.post(f"{LIST}{draft.pk}/withdraw/", {}, format="json")
    assert client.post(LIST, {"title": "second"}, format="json").status_code == 201


# --- portal ---------------------------------------------------------------------------------------------------

def test_token_creation_in_the_portal_is_limited_with_a_friendly_page(builder, rates):  # noqa: ANN001
    rates(token_create="1/h")
    client = Client()
    client.force_login(builder)
    form = {"name": "ci", "scopes": ["submissions:read"], "ttl_days": "30"}
    assert client.post("/account/tokens/", form).status_code == 302
    assert_portal_429(client.post("/account/tokens/", form), period=3600)
    assert ApiToken.objects.filter(user=builder).count() == 1


def test_logins_are_limited_per_account(builder, rates):  # noqa: ANN001
    rates(login="2/h")
    statuses = [Client(REMOTE_ADDR=f"10.4.0.{i}").post("/accounts/login/",
                                                        {"login": builder.email, "password": PASSWORD})
                for i in range(3)]
    assert [r.status_code for r in statuses[:2]] == [302, 302]
    assert_portal_429(statuses[2], period=3600)


def test_logins_are_limited_per_address(builder, other_builder, rates):  # noqa: ANN001
    rates(login="1/h")
    same_address = "10.5.5.5"
    first = Client(REMOTE_ADDR=same_address).post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    assert first.status_code == 302
    second = Client(REMOTE_ADDR=same_address).post("/accounts/login/",
                                                   {"login": other_builder.email, "password": PASSWORD})
    assert_portal_429(second, period=3600)


def test_repeated_failed_logins_refuse_that_address_with_a_429(builder):  # noqa: ANN001
    client = Client(REMOTE_ADDR="10.7.7.7")
    for _ in range(5):
        client.post("/accounts/login/", {"login": builder.email, "password": "wrong password!"})
    response = client.post("/accounts/login/", {"login": builder.email, "password": PASSWORD})
    assert_portal_429(response, period=300)
    assert "_auth_user_id" not in client.session


def test_allauth_own_429_carries_retry_after(settings):  # noqa: ANN001
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "1/m/ip"}
    client = Client(REMOTE_ADDR="10.8.8.8")
    client.post("/accounts/login/", {"login": "nobody@acme-agents.example", "password": "x"})
    response = client.post("/accounts/login/", {"login": "nobody@acme-agents.example", "password": "x"})
    assert_portal_429(response, period=300)


def test_signups_are_limited_per_address(rates):  # noqa: ANN001
    rates(signup="1/h")
    form = {"password1": "a long enough passphrase 9", "password2": "a long enough passphrase 9"}
    first = Client(REMOTE_ADDR="10.2.2.2").post("/accounts/signup/", {"email": "one@acme-agents.example", **form})
    assert first.status_code == 302
    second = Client(REMOTE_ADDR="10.2.2.2").post("/accounts/signup/", {"email": "two@acme-agents.example", **form})
    assert_portal_429(second, period=3600)
    assert not User.objects.filter(email="two@acme-agents.example").exists()


def test_domain_verification_requests_are_limited(builder, rates, settings):  # noqa: ANN001
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rates(domain_verify="1/h")
    client = Client()
    client.force_login(builder)
    assert client.post("/account/domain/", {"address": "a@acme-agents.example"}).status_code == 302
    assert_portal_429(client.post("/account/domain/", {"address": "b@acme-agents.example"}), period=3600)


def test_a_second_builder_is_unaffected_by_the_firsts_account_limit(builder, rates):  # noqa: ANN001
    rates(submission_create="1/h")
    assert api_for(builder, "10.0.1.1").post(LIST, {"title": "a"}, format="json").status_code == 201
    other = make_user("third@lab-three.example")
    assert api_for(other, "10.0.1.2").post(LIST, {"title": "b"}, format="json").status_code == 201


def test_case_creation_in_the_portal_is_limited_with_a_friendly_page(builder, rates):  # noqa: ANN001
    rates(submission_create="1/h")
    client = Client()
    client.force_login(builder)
    form = {"title": "portal case", "claim_property": "no-exfiltration", "claim_access_tier": "black"}
    first = client.post("/cases/new/", form)
    assert first.status_code in (200, 302), first.content[:500]
    assert Submission.objects.filter(owner=builder).count() == 1
    assert_portal_429(client.post("/cases/new/", {**form, "title": "second"}), period=3600)
    assert Submission.objects.filter(owner=builder).count() == 1


def test_uploads_in_the_portal_are_limited_with_a_friendly_page(builder, rates):  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    rates(upload="1/h")
    submission = make_draft(builder, complete=False)
    client = Client()
    client.force_login(builder)
    page = f"/cases/{submission.pk}/edit/artifacts/"
    client.post(page, {"file": SimpleUploadedFile("a.json", b"{}"), "kind": "config"})
    assert submission.artifacts.count() == 1
    assert_portal_429(client.post(page, {"file": SimpleUploadedFile("b.json", b"{}"), "kind": "config"}),
                      period=3600)
    assert submission.artifacts.count() == 1


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(builder, other_builder, rates, settings):  # noqa: ANN001
    """Without this, every user behind the proxy would share one bucket (and one could lock out all)."""
    rates(submission_create="1/h")
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    first = api_for(builder, "10.0.0.254")
    second = api_for(other_builder, "10.0.0.254")
    assert first.post(LIST, {"title": "a"}, format="json", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 201
    assert second.post(LIST, {"title": "b"}, format="json", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201
    again = second.post(LIST, {"title": "c"}, format="json", HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert_api_429(again, period=3600)


def test_a_forged_forwarded_header_is_ignored_without_a_trusted_proxy(builder, other_builder, rates):  # noqa: ANN001
    rates(submission_create="1/h")
    assert api_for(builder, "10.0.0.9").post(LIST, {"title": "a"}, format="json",
                                             HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 201
    spoofed = api_for(other_builder, "10.0.0.9").post(LIST, {"title": "b"}, format="json",
                                                      HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert_api_429(spoofed, period=3600)


def test_ipv6_clients_are_counted_per_64(builder, other_builder, rates):  # noqa: ANN001
    rates(submission_create="1/h")
    assert api_for(builder, "2001:db8:1:2::1").post(LIST, {"title": "a"}, format="json").status_code == 201
    rotated = api_for(other_builder, "2001:db8:1:2::ffff").post(LIST, {"title": "b"}, format="json")
    assert_api_429(rotated, period=3600)
