"""The coordinator's batched conflict view must say exactly what the per-reviewer service says, and its
page must cost a constant number of queries however many reviewers there are."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews.models import ConflictDeclaration, ConflictOverride, ReviewerProfile, VendorTie
from reviews.selectors import case_reviewer_standings, reviewers_all, rule_profiles_for_case
from reviews.services import case_conflicts, reviewer_profile_for, review_submit
from tests.factories import make_user
from tests.unit.review_portal_support import case_in_review, client_for, granted, make_coordinator, make_reviewer


def _varied_reviewers(builder, coordinator):  # noqa: ANN001, ANN202
    """Reviewers that exercise every input of the rules: ties, domains, declarations, prior work, no profile."""
    tied = make_reviewer("tied@eastwind.example", organisation="Eastwind")
    VendorTie.objects.create(reviewer=tied.reviewer_profile, name="ExampleAI", kind="provider",
                             start=date(2020, 1, 1), end=date.today() - timedelta(days=30))
    domains = make_reviewer("dom@westwind.example", organisation="Westwind")
    ReviewerProfile.objects.filter(user=domains).update(verified_domains=["labs.acme-agents.example"],
                                                        available=False)
    declares = make_reviewer("decl@northpole.example", organisation="North Pole")
    ConflictDeclaration.objects.create(reviewer=declares.reviewer_profile, party="acme-agents.example")
    make_user("bare@southpole.example", role="reviewer", organisation="South Pole")  # no profile at all
    earlier = make_reviewer("prior@midwind.example", organisation="Midwind")
    setup = granted(builder, coordinator, earlier)
    review_submit(submission=setup.case, reviewer=earlier, verdict="supported", confidence=50, findings=[],
                  limitations="x")
    return setup


@pytest.mark.django_db
def test_batched_profiles_equal_the_services_profiles_and_conflicts(builder):  # noqa: ANN001
    coordinator = make_coordinator()
    _varied_reviewers(builder, coordinator)
    case = case_in_review(builder)
    override_target = reviewers_all().get(email="tied@eastwind.example")
    ConflictOverride.objects.create(submission=case, reviewer=override_target, rule="vendor_interest",
                                    reason="x" * 30, requested_by=coordinator,
                                    approved_by=make_coordinator("second@assay.example"),
                                    approved_at=timezone.now())
    reviewers = list(reviewers_all())
    batched = rule_profiles_for_case(case, reviewers)
    for reviewer in reviewers:
        expected = reviewer_profile_for(reviewer, for_submission=case)
        got = batched[reviewer.pk]
        assert sorted(got.prior_builders) == sorted(expected.prior_builders)
        assert got == type(got)(**{**expected.__dict__, "prior_builders": got.prior_builders})
    standings = {s.reviewer.pk: s for s in case_reviewer_standings(case)}
    for reviewer in reviewers:
        assert {c.rule for c in standings[reviewer.pk].conflicts} == {c.rule for c in case_conflicts(case, reviewer)}
    fired = {s.reviewer.email: {c.rule for c in s.conflicts} for s in standings.values()}
    assert fired["dom@westwind.example"] == {"same_email_domain"}
    assert fired["decl@northpole.example"] == {"declared_by_reviewer"}
    assert fired["prior@midwind.example"] == {"prior_work"}
    assert fired["tied@eastwind.example"] == set()  # vendor_interest dismissed by two coordinators


@pytest.mark.django_db
def test_coordinator_case_page_query_count_does_not_grow_with_reviewers(builder):  # noqa: ANN001
    coordinator = make_coordinator()
    case = case_in_review(builder)
    client = client_for(coordinator)
    client.get(f"/coordinate/cases/{case.pk}/")  # warm sessions and caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/coordinate/cases/{case.pk}/").status_code == 200
        return len(captured)

    for n in range(3):
        make_reviewer(f"r{n}@wind{n}.example", organisation=f"Wind {n}")
    few = queries()
    for n in range(3, 12):
        reviewer = make_reviewer(f"r{n}@wind{n}.example", organisation=f"Wind {n}")
        VendorTie.objects.create(reviewer=reviewer.reviewer_profile, name=f"Vendor {n}", kind="customer")
    assert queries() == few
