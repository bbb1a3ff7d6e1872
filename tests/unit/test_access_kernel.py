"""The access kernel (intake/access/): one decision per user and case, the one queryset of visible cases, and the
vault that decrypts only for an allowed decision of that case or a named system purpose.

The matrix runs every role and tier against the case in each state a grant can outlive: one row per
role x tier x state, fail-closed (anything not listed as allowed must be refused).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from intake.access import access_decide, cases_visible_to
from intake.models import AuditEvent, Role, Submission
from intake.selectors import submissions_visible_to
from intake.states import State
from intake.storage import artifact_store
from intake.vault.services import AccessRefused, ReadPurpose
from reviews.models import AccessGrant, Assignment, ConflictDeclaration
from reviews.services import assignment_propose
from tests.factories import make_user
from tests.unit.review_portal_support import granted, make_coordinator, make_reviewer

pytestmark = pytest.mark.django_db

# person -> (tier, redacted, download, builder visible) while the case is not shredded; None = no access
EXPECTED = {
    "owner": ("owner", False, True, True),
    "other_builder": None,
    "inactive_owner_twin": None,
    "coordinator": ("black", True, False, True),
    "reviewer_black": ("black", True, False, False),
    "reviewer_grey": ("grey", True, False, False),
    "reviewer_white": ("white", False, True, False),
    "reviewer_expired": None,
    "reviewer_revoked": None,
    "reviewer_conflicted": None,
    "reviewer_no_grant": None,
    "institution": None,
    "anonymous": None,
}
STATES = (State.IN_REVIEW, State.DECIDED, State.REPORTED, State.CLOSED, State.SHREDDED)
PURPOSE = {Role.BUILDER: ReadPurpose.BUILDER_DOWNLOAD, Role.REVIEWER: ReadPurpose.REVIEWER_GRANT}


def _grant(case, coordinator, person, tier, **changes):  # noqa: ANN001, ANN202
    assignment = assignment_propose(submission=case, reviewer=person, actor=coordinator)
    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.ACCEPTED)
    grant = AccessGrant.objects.create(submission=case, reviewer=person, tier=tier, granted_by=coordinator,
                                       expires_at=timezone.now() + timedelta(days=3))
    if changes:
        AccessGrant.objects.filter(pk=grant.pk).update(**changes)


@pytest.fixture
def people(builder, other_builder):  # noqa: ANN001, ANN201
    coordinator = make_coordinator()
    grey = make_reviewer("grey@southwind.example", organisation="Southwind")
    case = granted(builder, coordinator, grey, tier="grey").case
    who = {"owner": builder, "other_builder": other_builder, "coordinator": coordinator, "reviewer_grey": grey}
    for name, tier, organisation, changes in (
            ("reviewer_black", "black", "Black Ltd", {}), ("reviewer_white", "white", "White Ltd", {}),
            ("reviewer_expired", "grey", "Late Ltd", {"expires_at": timezone.now() - timedelta(minutes=1)}),
            ("reviewer_revoked", "grey", "Gone Ltd", {"revoked_at": timezone.now()}),
            ("reviewer_conflicted", "white", "South Pole", {})):
        who[name] = make_reviewer(f"{name}@{organisation.split()[0].lower()}.example", organisation=organisation)
        _grant(case, coordinator, who[name], tier, **changes)
    ConflictDeclaration.objects.create(submission=case, party="South Pole")  # declared after that grant
    who["reviewer_no_grant"] = make_reviewer("nogrant@eastwind.example", organisation="Eastwind")
    who["institution"] = make_user("data@institute.example", role=Role.INSTITUTION)
    twin = make_user("twin@acme-agents.example")
    # Made the owner, then deactivated, inside the matrix.
    who["inactive_owner_twin"] = twin
    who["anonymous"] = AnonymousUser()
    return case, who


@pytest.mark.parametrize("state", STATES)
def test_the_permission_matrix_fails_closed(people, state):  # noqa: ANN001
    case, who = people
    Submission.objects.filter(pk=case.pk).update(state=state)
    case.refresh_from_db()
    artifact = case.artifacts.order_by("name").first()
    wrong = []
    for name, expected in EXPECTED.items():
        person = who[name]
        if name == "inactive_owner_twin":  # an owner whose account was deactivated sees nothing
            Submission.objects.filter(pk=case.pk).update(owner=person)
            person.is_active = False
            person.save(update_fields=["is_active"])
        decision = access_decide(person, case)
        if state == State.SHREDDED and name.startswith("reviewer"):
            expected = None  # a shredded case has nothing left to review, whatever the grant says
        got = None if not decision.allowed else (decision.tier, decision.redacted, decision.download,
                                                 decision.builder_visible)
        if got != expected:
            wrong.append(f"{name}: expected {expected}, got {got} ({decision.basis})")
        visible = cases_visible_to(person).filter(pk=case.pk).exists()
        if visible != decision.allowed:
            wrong.append(f"{name}: cases_visible_to says {visible}, the decision {decision.allowed}")
        # The builder's and coordinator's pages never list a case to a reviewer, granted or not.
        if getattr(person, "role", None) == Role.REVIEWER and submissions_visible_to(person).exists():
            wrong.append(f"{name}: a reviewer reached the builder/coordinator case list")
        if state != State.SHREDDED:
            purpose = PURPOSE.get(getattr(person, "role", None), ReadPurpose.BUILDER_DOWNLOAD)
            try:
                artifact_store().open(artifact.storage_key, access=decision, purpose=purpose).close()
                read = True
            except AccessRefused:
                read = False
            if read != decision.reads_content:
                wrong.append(f"{name}: vault read {read}, decision reads content {decision.reads_content}")
        if name == "inactive_owner_twin":
            Submission.objects.filter(pk=case.pk).update(owner=who["owner"])
            case.refresh_from_db()
    assert not wrong, "\n".join(wrong)


def test_every_vault_read_records_the_decision_it_was_made_under(people):  # noqa: ANN001
    case, who = people
    artifact = case.artifacts.order_by("name").first()
    artifact_store().open(artifact.storage_key, access=access_decide(who["reviewer_grey"], case),
                          purpose=ReadPurpose.REVIEWER_GRANT).close()
    event = AuditEvent.objects.filter(action="vault.decrypt").latest("seq")
    grant = AccessGrant.objects.get(submission=case, reviewer=who["reviewer_grey"])
    assert event.actor_id == who["reviewer_grey"].pk
    assert event.data["access"] == {"role": "reviewer", "tier": "grey", "redacted": True,
                                    "basis": f"grant {grant.pk}", "grant": grant.pk}


def test_a_decision_is_for_now_a_revoked_grant_no_longer_reads(people):  # noqa: ANN001
    case, who = people
    before = access_decide(who["reviewer_grey"], case)
    assert before.reads_content
    AccessGrant.objects.filter(reviewer=who["reviewer_grey"]).update(revoked_at=timezone.now())
    assert not access_decide(who["reviewer_grey"], case).allowed
    assert not cases_visible_to(who["reviewer_grey"]).exists()
