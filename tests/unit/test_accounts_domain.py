"""Organisation-domain verification: a single-use, expiring, hashed link mailed to the organisation's address."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from intake.accounts.assurance import assurance_level
from intake.models import AuditEvent, OrganisationDomainVerification
from tests.factories import enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(builder, settings):  # noqa: ANN001, ANN201
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    client.force_login(builder)
    return client


def request_link(portal, address: str = "jane@acme-agents.example"):  # noqa: ANN001, ANN201
    return portal.post("/account/domain/", {"address": address})


def sent_link_path(outbox) -> str:  # noqa: ANN001
    [message] = outbox
    from django.conf import settings

    # The link is rooted at the configured public URL, never the request's Host header.
    return re.search(re.escape(settings.ASSAY_PUBLIC_URL) + r"(/account/domain/confirm/[^/\s]+/)",
                     message.body).group(1)


def test_it_mails_a_single_use_link_to_the_organisation_address(portal, builder, django_capture_on_commit_callbacks):  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(portal)
    assert response.status_code == 302
    assert mail.outbox[0].to == ["jane@acme-agents.example"]
    path = sent_link_path(mail.outbox)
    raw = path.rstrip("/").rsplit("/", 1)[1]
    verification = OrganisationDomainVerification.objects.get(user=builder)
    assert verification.domain == "acme-agents.example"
    assert verification.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(list(OrganisationDomainVerification.objects.values()))
    assert AuditEvent.objects.filter(action="domain.verification_sent").count() == 1


def test_confirming_the_link_verifies_the_domain_and_raises_assurance(portal, builder,  # noqa: ANN001
                                                                       django_capture_on_commit_callbacks):
    enable_totp(builder)
    assert assurance_level(builder) == 2
    with django_capture_on_commit_callbacks(execute=True):
        request_link(portal)
    path = sent_link_path(mail.outbox)
    assert portal.get(path).status_code == 200  # a prefetching mail scanner consumes nothing
    assert assurance_level(builder) == 2
    response = portal.post(path)
    assert response.status_code == 302
    assert assurance_level(builder) == 3
    event = AuditEvent.objects.get(action="domain.verified")
    assert event.data == {"domain": "acme-agents.example"}


def test_a_replayed_link_is_refused_with_a_clear_error(portal, django_capture_on_commit_callbacks):  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=True):
        request_link(portal)
    path = sent_link_path(mail.outbox)
    assert portal.post(path).status_code == 302
    replay = portal.post(path)
    assert replay.status_code == 400
    assert "This verification link has already been used." in replay.content.decode()
    assert AuditEvent.objects.filter(action="domain.verified").count() == 1


def test_an_expired_link_is_refused(portal, builder, django_capture_on_commit_callbacks):  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=True):
        request_link(portal)
    OrganisationDomainVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = portal.post(sent_link_path(mail.outbox))
    assert response.status_code == 400
    assert "This verification link has expired; request a new one." in response.content.decode()
    assert assurance_level(builder) < 3
    assert not OrganisationDomainVerification.objects.filter(verified_at__isnull=False).exists()


def test_another_account_cannot_use_my_link(portal, other_builder, django_capture_on_commit_callbacks):  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=True):
        request_link(portal)
    stranger = Client()
    stranger.force_login(other_builder)
    response = stranger.post(sent_link_path(mail.outbox))
    assert response.status_code == 400
    assert "This verification link is not valid for your account." in response.content.decode()
    assert not OrganisationDomainVerification.objects.filter(verified_at__isnull=False).exists()


def test_a_made_up_link_is_refused(portal):  # noqa: ANN001
    response = portal.post("/account/domain/confirm/not-a-real-token/")
    assert response.status_code == 400
    assert "not valid for your account" in response.content.decode()


@pytest.mark.parametrize("address", ["someone@gmail.com", "me@mail.yahoo.com", "x@PROTON.ME"])
def test_free_mail_addresses_are_refused(portal, address):  # noqa: ANN001
    response = request_link(portal, address)
    assert response.status_code == 400
    assert "is a free-mail provider; use an address at your organisation" in response.content.decode()
    assert not OrganisationDomainVerification.objects.exists()
    assert not mail.outbox


def test_a_csrf_less_post_to_the_domain_form_is_refused(builder):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    client.force_login(builder)
    assert client.post("/account/domain/", {"address": "jane@acme-agents.example"}).status_code == 403
    assert not OrganisationDomainVerification.objects.exists()


def test_the_link_is_rooted_at_the_public_url_whatever_host_the_request_named(builder, settings,
                                                                               django_capture_on_commit_callbacks):  # noqa: ANN001
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ASSAY_PUBLIC_URL = "https://assay.example.org"
    settings.ASSAY_SITE_NAME = "Assay Example Portal"
    client = Client(HTTP_HOST="localhost")
    client.force_login(builder)
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client)
    [message] = mail.outbox
    assert "https://assay.example.org/account/domain/confirm/" in message.body and "localhost" not in message.body
    assert message.subject.endswith("on Assay Example Portal")
