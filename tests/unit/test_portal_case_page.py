"""The case page, its live status partial, withdrawal, the dashboard and the coordinator queue."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from intake.models import AuditEvent, Role
from intake.services import submission_submit
from intake.states import State, transition
from tests.factories import login_with_mfa, make_draft, make_user

pytestmark = pytest.mark.django_db


def _client_for(user) -> Client:  # noqa: ANN001
    if user.role in (Role.REVIEWER, Role.COORDINATOR):
        TOTP.activate(user, generate_totp_secret())
    client = Client()
    return login_with_mfa(client, user)


@pytest.fixture
def submitted(builder, terms):  # noqa: ANN001
    return submission_submit(submission=make_draft(builder), actor=builder)


def test_case_page_shows_claim_manifest_artifacts_digest_and_terms(builder, submitted, terms):  # noqa: ANN001
    body = _client_for(builder).get(reverse("case_detail", args=[submitted.pk])).content.decode()
    artifact = submitted.artifacts.get()
    for expected in ("The agent cannot send ticket contents to any host outside the allowlist.",
                     "No exfiltration", "agent:manifest; mcp-server:tickets", "ExampleAI example-large (2026-05)",
                     "claude-code 2.1, approval on-risk", "settings.json", artifact.sha256,
                     submitted.config_digest, f"Assay submission terms v{terms.version}", terms.text_sha256,
                     'id="case-triage"', 'id="case-status"'):
        assert expected in body


def test_status_partial_is_returned_for_htmx_and_polls_while_the_case_moves(builder, submitted):  # noqa: ANN001
    client = _client_for(builder)
    url = reverse("case_detail", args=[submitted.pk])
    response = client.get(url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<section id="case-status"') and "<html" not in body
    assert f'hx-get="{url}" hx-trigger="every 2s"' in body
    assert 'data-state="submitted"' in body
    assert [line for line in ("Draft created", "Terms accepted", "Artifact added", "Submitted") if line in body] == \
        ["Draft created", "Terms accepted", "Artifact added", "Submitted"]
    transition(submitted, State.TRIAGING, actor=None, reason="triage started")
    body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="triaging"' in body and "Automated triage started" in body and "Assay" in body


def test_status_stops_polling_once_the_case_is_final(builder, submitted):  # noqa: ANN001
    transition(submitted, State.WITHDRAWN, actor=builder, reason="changed my mind")
    body = _client_for(builder).get(reverse("case_detail", args=[submitted.pk]), HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in body.content.decode()
    assert "changed my mind" in body.content.decode()


def test_builder_never_learns_which_staff_member_acted(builder, coordinator, submitted):  # noqa: ANN001
    for state in (State.TRIAGING, State.TRIAGED):
        submitted = transition(submitted, state, actor=None)
    transition(submitted, State.REJECTED, actor=coordinator, reason="out of scope")
    builder_view = _client_for(builder).get(reverse("case_detail", args=[submitted.pk])).content.decode()
    assert coordinator.email not in builder_view
    assert "Assay staff" in builder_view and "out of scope" in builder_view
    coordinator_view = _client_for(coordinator).get(reverse("case_detail", args=[submitted.pk])).content.decode()
    assert coordinator.email in coordinator_view and builder.pseudonym in coordinator_view
    assert f'href="{reverse("coordinator_case", args=[submitted.pk])}"' in coordinator_view
    assert "coordinate/cases" not in builder_view


def test_withdraw_asks_for_confirmation_first(builder, submitted):  # noqa: ANN001
    client = _client_for(builder)
    url = reverse("case_withdraw", args=[submitted.pk])
    assert "Yes, withdraw this case. This cannot be undone." in client.get(url).content.decode()
    response = client.post(url, {"reason": "found a bug myself"})
    assert response.status_code == 400
    assert "Tick the box to confirm the withdrawal." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.state == State.SUBMITTED


def test_confirmed_withdrawal_withdraws_and_keeps_the_reason_sealed_out_of_the_audit_log(builder, submitted):  # noqa: ANN001
    client = _client_for(builder)
    response = client.post(reverse("case_withdraw", args=[submitted.pk]),
                           {"reason": "found a bug myself", "confirm": "on"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == State.WITHDRAWN
    event = AuditEvent.objects.filter(object_id=str(submitted.pk)).last()
    # The audit log is kept for ever and cannot be shredded: it records the reason's length, the case keeps it.
    assert (event.action, event.data["to"], event.data["reason"], event.data["reason_chars"]) == \
        ("submission.transition", "withdrawn", "withdrawn by builder", len("found a bug myself"))
    assert submitted.withdrawal_reason == "found a bug myself"
    page = client.get(reverse("case_detail", args=[submitted.pk])).content.decode()
    assert "Withdraw…" not in page and "Case {} is withdrawn.".format(submitted.reference) in page


def test_withdrawing_a_case_that_can_no_longer_be_withdrawn_is_explained(builder, submitted):  # noqa: ANN001
    transition(submitted, State.WITHDRAWN, actor=builder)
    response = _client_for(builder).post(reverse("case_withdraw", args=[submitted.pk]), {"confirm": "on"},
                                         follow=True)
    assert "is withdrawn and can no longer be withdrawn." in response.content.decode()


def test_a_decided_case_offers_no_withdrawal(builder, submitted):  # noqa: ANN001
    for state in (State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT, State.IN_REVIEW, State.DECIDED):
        submitted = transition(submitted, state, actor=None)
    client = _client_for(builder)
    assert "Withdraw…" not in client.get(reverse("case_detail", args=[submitted.pk])).content.decode()
    response = client.post(reverse("case_withdraw", args=[submitted.pk]), {"confirm": "on"}, follow=True)
    assert "is decided and can no longer be withdrawn." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.state == State.DECIDED


def test_dashboard_lists_own_cases_with_state_and_quota(builder, other_builder, submitted, terms):  # noqa: ANN001
    make_draft(other_builder, title="Someone else's agent")
    body = _client_for(builder).get(reverse("dashboard")).content.decode()
    assert submitted.reference in body and "Submitted" in body
    assert "Someone else" not in body
    assert "Open cases: <strong>1 of 3</strong> allowed at identity assurance level 1." in body
    assert f'href="{reverse("case_new")}"' in body


def test_queue_shows_every_case_with_counts_and_filters(builder, other_builder, coordinator, submitted, terms):  # noqa: ANN001
    draft = make_draft(other_builder, title="Other lab agent", complete=False)
    client = _client_for(coordinator)
    body = client.get(reverse("coordinator_queue")).content.decode()
    assert submitted.reference in body and draft.reference in body
    assert "All <strong>2</strong>" in body
    filtered = client.get(reverse("coordinator_queue"), {"state": "submitted"}).content.decode()
    assert submitted.reference in filtered and draft.reference not in filtered
    searched = client.get(reverse("coordinator_queue"), {"q": "other lab"}, HTTP_HX_REQUEST="true")
    assert searched.content.decode().startswith('<div id="queue-table">')
    assert draft.reference in searched.content.decode() and submitted.reference not in searched.content.decode()
    invalid = client.get(reverse("coordinator_queue"), {"state": "nonsense"}).content.decode()
    assert "Those filters are not valid." in invalid and submitted.reference.split("-")[1] not in \
        invalid.split('id="queue-table"', 1)[1]


def test_error_pages_are_friendly(builder):  # noqa: ANN001
    reviewer = make_user("rev@assay.example", role=Role.REVIEWER)
    response = _client_for(reviewer).get(reverse("coordinator_queue"))
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in response.content.decode()


def _queries_for(client, url) -> int:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_queue_and_dashboard_queries_do_not_grow_with_the_number_of_cases(builder, coordinator, terms):  # noqa: ANN001
    coordinator_client, builder_client = _client_for(coordinator), _client_for(builder)
    make_draft(builder, complete=False)
    few = (_queries_for(coordinator_client, "/queue/"), _queries_for(builder_client, "/dashboard/"))
    for n in range(2):  # quota at assurance level 1 is 3 open cases
        make_draft(builder, title=f"Agent {n}", complete=False)
    many = (_queries_for(coordinator_client, "/queue/"), _queries_for(builder_client, "/dashboard/"))
    assert few == many


def test_case_page_queries_do_not_grow_with_the_timeline(builder, submitted):  # noqa: ANN001
    client = _client_for(builder)
    url = reverse("case_detail", args=[submitted.pk])
    before = _queries_for(client, url)
    for state in (State.TRIAGING, State.TRIAGED, State.AWAITING_CONSENT, State.IN_REVIEW):
        submitted = transition(submitted, state, actor=None)
    assert _queries_for(client, url) == before


def test_timeline_labels_every_event_in_words_and_hides_who_acted_from_the_builder(builder, submitted):  # noqa: ANN001
    from intake.audit import audit_append

    staff = make_user("coord-timeline@assay.example", role=Role.COORDINATOR)
    audit_append(actor=staff, action="message.post", obj=submitted, data={})
    audit_append(actor=None, action="vault.dispute.open", obj=submitted, data={})
    audit_append(actor=staff, action="some_new.thing_done", obj=submitted, data={})
    body = _client_for(builder).get(reverse("case_detail", args=[submitted.pk]), HTTP_HX_REQUEST="true") \
        .content.decode()
    assert "Message posted" in body and "IP dispute opened" in body and "Some new thing done" in body
    for code in ("message.post", "vault.dispute.open", "some_new.thing_done", staff.email):
        assert code not in body
    assert "Assay staff" in body
