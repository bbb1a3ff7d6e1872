"""The "needs your action" list on every role's landing page, mark-as-read and the e-mail preferences.

Bug class pinned here: notifications addressed by a sequential id, so one person could read or clear
another's by guessing numbers. Every view reaches only the signed-in person's own; someone else's is a 404.
"""

from __future__ import annotations

import pytest
from django.test import Client

from intake.models import Notification, NotificationKind, NotificationPreference, Role
from intake.notifications import notify
from tests.factories import make_draft, make_user
from tests.unit.review_portal_support import client_for, make_coordinator, make_reviewer

pytestmark = pytest.mark.django_db


def _entry(user, case, kind=NotificationKind.REPORT_ISSUED) -> Notification:  # noqa: ANN001
    return notify(recipient=user, kind=kind, submission=case, path=f"/cases/{case.pk}/")


def _listed(page: str) -> str:
    """The "needs your action" section of a page."""
    return page.split('id="needs-action"')[1].split("</section>")[0]


@pytest.fixture
def case(builder, terms):  # noqa: ANN001, ANN201
    return make_draft(builder, title="Sealed title")


def test_it_lists_a_builders_unread_hand_offs_on_the_dashboard(builder, case):  # noqa: ANN001
    _entry(builder, case)
    page = client_for(builder).get("/dashboard/").content.decode()
    assert "Needs your action" in page
    assert f"A decision was recorded on case {case.reference}" in page
    assert f'href="/cases/{case.pk}/"' in page
    assert "Sealed title" not in _listed(page)


@pytest.mark.parametrize(("role", "url"), [(Role.REVIEWER, "/review/"), (Role.COORDINATOR, "/coordinate/"),
                                           (Role.COORDINATOR, "/queue/"), (Role.COORDINATOR, "/dashboard/"),
                                           (Role.INSTITUTION, "/aggregates/")])
def test_every_roles_landing_page_shows_its_own_list(role, url, builder, case):  # noqa: ANN001
    person = make_user(f"{role}@example.org", role=role)
    if role in (Role.REVIEWER, Role.COORDINATOR):
        from tests.factories import enable_totp

        enable_totp(person)
    # An institution has no case hand-offs today; the list still shows (empty) where it lands.
    page = client_for(person).get(url, follow=True).content.decode()
    assert 'id="needs-action"' in page and "Nothing needs your action" in page
    _entry(builder, case)  # someone else's hand-off never shows here
    page = client_for(person).get(url, follow=True).content.decode()
    assert case.reference not in _listed(page)


def test_marking_read_removes_it_from_the_list_and_returns_to_the_page(builder, case):  # noqa: ANN001
    entry = _entry(builder, case)
    client = client_for(builder)
    response = client.post(f"/account/notifications/{entry.pk}/read/", {"next": "/dashboard/"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    entry.refresh_from_db()
    assert entry.read_at is not None
    assert case.reference not in _listed(client.get("/dashboard/").content.decode())
    # still on the full notifications page, as read
    assert case.reference in client.get("/account/notifications/").content.decode()


def test_marking_read_never_redirects_off_site(builder, case):  # noqa: ANN001
    entry = _entry(builder, case)
    response = client_for(builder).post(f"/account/notifications/{entry.pk}/read/",
                                        {"next": "https://evil.example/phish"})
    assert response.status_code == 302 and response["Location"] == "/account/notifications/"


def test_htmx_mark_read_returns_the_refreshed_list(builder, case):  # noqa: ANN001
    first = _entry(builder, case)
    response = client_for(builder).post(f"/account/notifications/{first.pk}/read/", {"next": "/dashboard/"},
                                        HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="needs-action" id="needs-action"')
    assert "Nothing needs your action" in body


def test_mark_all_read(builder, case):  # noqa: ANN001
    for _ in range(3):
        _entry(builder, case)
    client_for(builder).post("/account/notifications/read-all/", {"next": "/dashboard/"})
    assert not Notification.objects.filter(recipient=builder, read_at__isnull=True).exists()


def test_someone_elses_notification_is_not_found_and_stays_unread(builder, other_builder, case):  # noqa: ANN001
    entry = _entry(builder, case)
    stranger = client_for(other_builder)
    assert stranger.post(f"/account/notifications/{entry.pk}/read/").status_code == 404
    stranger.post("/account/notifications/read-all/")
    entry.refresh_from_db()
    assert entry.read_at is None
    assert case.reference not in stranger.get("/account/notifications/").content.decode()
    assert case.reference not in _listed(stranger.get("/dashboard/").content.decode())


def test_anonymous_visitors_are_sent_to_sign_in(builder, case):  # noqa: ANN001
    entry = _entry(builder, case)
    for response in (Client().get("/account/notifications/"),
                     Client().post(f"/account/notifications/{entry.pk}/read/")):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    entry.refresh_from_db()
    assert entry.read_at is None


def test_mark_read_refuses_get_and_requires_csrf(builder, case):  # noqa: ANN001
    entry = _entry(builder, case)
    client = client_for(builder)
    assert client.get(f"/account/notifications/{entry.pk}/read/").status_code == 405
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(builder)
    assert checked.post(f"/account/notifications/{entry.pk}/read/").status_code == 403
    assert checked.post("/account/notifications/", {"email_kinds": []}).status_code == 403
    entry.refresh_from_db()
    assert entry.read_at is None and not NotificationPreference.objects.exists()


def test_preferences_turn_email_off_per_kind(builder):  # noqa: ANN001
    client = client_for(builder)
    page = client.get("/account/notifications/").content.decode()
    assert page.count('type="checkbox"') == len(NotificationKind.values) and page.count("checked") == \
        len(NotificationKind.values)  # every kind e-mailed until the person says otherwise
    keep = [NotificationKind.CONSENT_NEEDED, NotificationKind.REPORT_ISSUED]
    response = client.post("/account/notifications/", {"email_kinds": keep})
    assert response.status_code == 302
    chosen = dict(NotificationPreference.objects.filter(user=builder).values_list("kind", "email"))
    assert chosen == {kind: kind in keep for kind in NotificationKind.values}
    assert client.get("/account/notifications/").content.decode().count("checked") == len(keep)


def test_an_unknown_kind_is_refused_with_a_message_and_changes_nothing(builder):  # noqa: ANN001
    response = client_for(builder).post("/account/notifications/", {"email_kinds": ["everything"]})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_a_reviewer_cut_off_after_the_hand_off_no_longer_sees_the_case_listed(builder, case):  # noqa: ANN001
    """A grant revoked or a conflict declared after the e-mail: the entry leaves every list at once."""
    from tests.unit.review_portal_support import granted

    coordinator = make_coordinator()
    reviewer = make_reviewer("r1@southwind.example", organisation="Southwind")
    setup = granted(builder, coordinator, reviewer)
    client = client_for(reviewer)
    assert setup.case.reference in client.get("/review/").content.decode()
    assert Notification.objects.filter(recipient=reviewer, kind=NotificationKind.ACCESS_GRANTED).exists()
    from reviews.models import ConflictDeclaration

    ConflictDeclaration.objects.create(submission=setup.case, party="Southwind")
    for url in ("/review/", "/dashboard/", "/account/notifications/"):
        assert setup.case.reference not in client.get(url).content.decode(), url
