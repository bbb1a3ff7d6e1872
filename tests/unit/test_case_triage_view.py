"""Triage results on the case page and as SARIF: visible to the owner, never another builder's similarity."""

from __future__ import annotations

import json

import pytest

from intake.states import State, transition
from tests.factories import PASSWORD, make_draft
from triage.models import FingerprintLink, TriageResult

FINDING = {"check": "approval.bypass-permissions", "title": "Permissions bypassed for every tool",
           "severity": "critical", "categories": ["privilege_scope"], "path": ".claude/settings.json", "line": 2,
           "evidence": "\"defaultMode\": \"bypassPermissions\"", "remediation": "Use the default permission mode."}


@pytest.fixture
def triaged(builder):  # noqa: ANN001, ANN201
    submission = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED):
        submission = transition(submission, state, actor=None)
    TriageResult.objects.create(submission=submission, policy_version="2026.11.1", sandbox="gvisor",
                                config_digest="sha256:" + "b" * 64, score=45, decision="escalate",
                                reasons=["critical finding relevant to the claim"], findings=[FINDING])
    return submission


@pytest.mark.django_db
def test_owner_sees_findings_grouped_with_remediation(client, builder, triaged):  # noqa: ANN001
    client.login(email=builder.email, password=PASSWORD)
    page = client.get(f"/cases/{triaged.pk}/").content.decode()
    assert "Critical (1)" in page
    assert "Use the default permission mode." in page
    assert "critical finding relevant to the claim" in page


@pytest.mark.django_db
def test_sarif_download_has_one_result_per_finding(client, builder, other_builder, triaged):  # noqa: ANN001
    url = f"/cases/{triaged.pk}/triage.sarif"
    client.login(email=other_builder.email, password=PASSWORD)
    assert client.get(url).status_code == 404
    client.login(email=builder.email, password=PASSWORD)
    sarif = json.loads(client.get(url).content)
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["approval.bypass-permissions"]


@pytest.mark.django_db
def test_possible_extraction_link_is_shown_to_coordinators_only(client, builder, other_builder, coordinator,  # noqa: ANN001
                                                                 triaged):
    theirs = make_draft(other_builder, title="Someone else's agent")
    FingerprintLink.objects.create(submission=triaged, other=theirs, kind="possible_extraction", similarity=0.93)
    client.login(email=builder.email, password=PASSWORD)
    assert theirs.reference not in client.get(f"/cases/{triaged.pk}/").content.decode()
    from triage.selectors import similarity_links_for

    assert [link.other_id for link in similarity_links_for(coordinator, triaged)] == [theirs.pk]
    assert similarity_links_for(builder, triaged) == []


@pytest.mark.django_db
def test_dynamic_stage_results_show_on_the_case_page(client, builder, triaged):  # noqa: ANN001
    from triage.models import DynamicRun

    DynamicRun.objects.create(
        submission=triaged, sandbox="bubblewrap", config_digest="sha256:" + "b" * 64,
        servers=[{"name": "tickets", "started": True, "stopped": "", "tools": ["read_ticket"]}],
        not_run=[{"target": "search (npx)", "reason": "needs the network to fetch its package"}],
        findings=[{"check": "dynamic.canary-exfiltration", "title": "Canary reached a network sink",
                   "severity": "critical", "categories": ["exfiltration"], "path": "", "line": None,
                   "evidence": "POST 127.0.0.1:8080", "remediation": "Remove the outbound post."}])
    client.login(email=builder.email, password=PASSWORD)
    page = client.get(f"/cases/{triaged.pk}/").content.decode()
    assert "Not run: search (npx)" in page
    assert "dynamic.canary-exfiltration" in page
