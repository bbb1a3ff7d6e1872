"""Each conflict rule, including the tricky edges issue 6 names."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from reviews.conflicts import CaseProfile, ReviewerProfile, VendorTie, conflicts_for

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)


def rules(reviewer: ReviewerProfile, case: CaseProfile) -> set[str]:
    return {c.rule for c in conflicts_for(reviewer, case, now=NOW)}


def test_same_organisation_ignores_case_punctuation_and_legal_suffix():
    reviewer = ReviewerProfile(id="r", organisation="ACME Agents, Inc.")
    assert "same_organisation" in rules(reviewer, CaseProfile(id="c", builder_organisation="Acme Agents Ltd"))
    assert "same_organisation" not in rules(reviewer, CaseProfile(id="c", builder_organisation="Acme Robotics"))


@pytest.mark.parametrize(("reviewer_email", "builder_email", "conflicted"), [
    ("alice@acme.com", "bob@acme.com", True),
    ("alice@eng.acme.com", "bob@acme.com", True),  # subdomain of the same organisation
    ("Alice@ACME.com", "bob@acme.com", True),  # case-insensitive
    ("alice@acme.co.uk", "bob@labs.acme.co.uk", True),  # two-label public suffix
    ("alice@acme.co.uk", "bob@other.co.uk", False),  # co.uk itself is not an organisation
    ("alice@gmail.com", "bob@gmail.com", False),  # personal mail is not an organisation
    ("alice@acme.com", "bob@acme.org", False),
])
def test_email_domain_rule(reviewer_email: str, builder_email: str, conflicted: bool):
    reviewer = ReviewerProfile(id="r", email=reviewer_email)
    assert ("same_email_domain" in rules(reviewer, CaseProfile(id="c", builder_email=builder_email))) is conflicted


def test_verified_extra_domains_count_too():
    reviewer = ReviewerProfile(id="r", email="alice@gmail.com", verified_domains=("acme.com",))
    assert "same_email_domain" in rules(reviewer, CaseProfile(id="c", builder_email="bob@acme.com"))


@pytest.mark.parametrize(("tie", "component", "conflicted"), [
    ("OpenAI", "gpt-4o", True),  # model family → vendor
    ("OpenAI", "openai/o3-mini", True),
    ("Anthropic PBC", "claude-sonnet-4", True),
    ("Google DeepMind", "gemini-2.5-pro", True),
    ("Acme AI Labs", "acme-search-mcp", True),  # tool vendor's distinctive name
    ("OpenAI", "claude-sonnet-4", False),
    ("Labs AI", "ai-labs-mcp", False),  # generic words alone identify nobody
])
def test_vendor_interest(tie: str, component: str, conflicted: bool):
    reviewer = ReviewerProfile(id="r", vendor_ties=(VendorTie(name=tie, kind="employer"),))
    case = CaseProfile(id="c", models=(component,))
    assert ("vendor_interest" in rules(reviewer, case)) is conflicted


def test_vendor_tie_that_ended_before_the_window_is_not_a_conflict():
    old = VendorTie(name="OpenAI", kind="employer", start=date(2020, 1, 1), end=date(2024, 6, 30))
    recent = VendorTie(name="OpenAI", kind="investor", start=date(2020, 1, 1), end=date(2026, 3, 1))
    case = CaseProfile(id="c", models=("gpt-4o",))
    assert "vendor_interest" not in rules(ReviewerProfile(id="r", vendor_ties=(old,)), case)
    assert "vendor_interest" in rules(ReviewerProfile(id="r", vendor_ties=(recent,)), case)


def test_vendor_interest_covers_tools_and_mcp_servers():
    reviewer = ReviewerProfile(id="r", vendor_ties=(VendorTie(name="Stripe", kind="customer"),))
    assert "vendor_interest" in rules(reviewer, CaseProfile(id="c", tools=("stripe-mcp",)))


def test_named_competitor_by_organisation_or_domain():
    reviewer = ReviewerProfile(id="r", organisation="Northwind Security", email="r@northwind.example")
    assert "named_competitor" in rules(reviewer, CaseProfile(id="c", competitors=("Northwind Security Ltd",)))
    assert "named_competitor" in rules(reviewer, CaseProfile(id="c", competitors=("northwind.example",)))
    assert "named_competitor" not in rules(reviewer, CaseProfile(id="c", competitors=("Southwind",)))


def test_declarations_on_either_side():
    reviewer = ReviewerProfile(id="r7", organisation="Indie", email="r@indie.example",
                               declared_conflicts=("acme.com",))
    assert "declared_by_reviewer" in rules(reviewer, CaseProfile(id="c", builder_email="x@acme.com"))
    by_builder = CaseProfile(id="c", builder_email="x@other.example", builder_declared_conflicts=("r7",))
    assert "declared_by_builder" in rules(reviewer, by_builder)
    assert rules(reviewer, CaseProfile(id="c", builder_email="x@other.example")) == set()


def test_reviewer_can_declare_a_conflict_with_one_case():
    reviewer = ReviewerProfile(id="r", declared_conflicts=("AS-1234",))
    assert "declared_by_reviewer" in rules(reviewer, CaseProfile(id="as-1234"))


def test_prior_work_within_window_only():
    recent = ReviewerProfile(id="r", prior_builders=(("x@acme.com", date(2026, 5, 1)),))
    old = ReviewerProfile(id="r", prior_builders=(("x@acme.com", date(2024, 5, 1)),))
    case = CaseProfile(id="c", builder_email="X@Acme.com")
    assert "prior_work" in rules(recent, case)
    assert "prior_work" not in rules(old, case)


def test_coordinator_of_record_cannot_review():
    assert "coordinator_of_record" in rules(ReviewerProfile(id="u1"), CaseProfile(id="c", coordinator_id="u1"))


def test_dismissed_rule_is_skipped_but_others_still_apply():
    reviewer = ReviewerProfile(id="r", organisation="Acme", email="r@acme.com")
    case = CaseProfile(id="c", builder_organisation="Acme", builder_email="b@acme.com")
    found = {c.rule for c in conflicts_for(reviewer, case, now=NOW, dismissed=frozenset({"same_organisation"}))}
    assert found == {"same_email_domain"}
