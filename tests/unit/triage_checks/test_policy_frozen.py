"""Policy versions are frozen: each one's decisions on the fixtures are pinned, its tables cannot be edited in
place, and the check catalogue cannot grow without a new catalogue version that says which policy reads the check.

When a new policy version is registered, record its decisions with
``python -m tests.unit.triage_checks.golden.record --only-new VERSION`` (the others stay as they are).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.unit.triage_checks.golden.record import GOLDEN, decisions_for
from triage import policy
from triage.findings import Finding
from triage.policy import POLICY_VERSION, PolicyTables, available_policies, checks_read_by, risk_score
from triage.policy_checks import (CATALOGUE_SHA256, CATALOGUE_VERSION, UNREAD_BY_CURRENT_POLICY, catalogue_digest,
                                  catalogue_ids)

GOLDEN_DATA = json.loads(GOLDEN.read_text())


def replay_mismatches(versions) -> list[str]:  # noqa: ANN001
    """Every (case, version, claim) whose decision today differs from the recorded one."""
    mismatches = []
    for name, case in sorted(GOLDEN_DATA["cases"].items()):
        now = decisions_for(case["findings"], case["components"], case["contexts"], versions)
        for version in versions:
            for context, recorded in case["decisions"][version].items():
                if now[version][context] != recorded:
                    mismatches.append(f"{name} {version} {context}: recorded {recorded}, now {now[version][context]}")
    return mismatches


def test_every_version_decides_the_fixtures_as_recorded():
    mismatches = replay_mismatches(GOLDEN_DATA["versions"])
    assert not mismatches, f"{len(mismatches)} decision(s) changed; first: " + "\n".join(mismatches[:5])


def test_the_golden_file_covers_every_registered_version_and_real_cases():
    assert GOLDEN_DATA["versions"] == available_policies(), (
        "record a new version: python -m tests.unit.triage_checks.golden.record --only-new VERSION")
    cases = GOLDEN_DATA["cases"].values()
    assert len(GOLDEN_DATA["cases"]) >= 100
    outcomes = {d[0] for case in cases for by_claim in case["decisions"].values() for d in by_claim.values()}
    assert outcomes == {"reject", "guidance", "escalate"}  # the pins exercise every outcome


def test_editing_an_old_versions_table_is_caught(monkeypatch):
    """The replay can fail: an old version given other weights or spam threshold no longer matches its record."""
    old = policy._POLICIES["2026.11.1"]
    edited = replace(old.tables, spam_rejections=5,
                     severity_weight={**old.tables.severity_weight, "medium": 9})
    monkeypatch.setitem(policy._POLICIES, "2026.11.1", replace(old, tables=edited))
    assert replay_mismatches(["2026.11.1"])
    assert not replay_mismatches(["2026.10.1"])  # the other versions keep their own tables


def test_tables_are_read_only_and_each_version_has_its_own_reference():
    for version in available_policies():
        tables = policy._POLICIES[version].tables
        assert isinstance(tables, PolicyTables)
        with pytest.raises(TypeError):
            tables.severity_weight["critical"] = 1  # type: ignore[index]
        with pytest.raises(TypeError):
            tables.claim_categories["other"] = frozenset()  # type: ignore[index]
        with pytest.raises(AttributeError):
            tables.spam_rejections = 1  # type: ignore[misc]


def test_risk_score_reads_the_weights_it_is_given():
    finding = Finding("secrets.private-key", "t", "high", ("secrets",), "key.pem", 1, "", "")
    current = policy._POLICIES[POLICY_VERSION].tables
    assert risk_score([finding]) == risk_score([finding], current) == 22
    heavier = replace(current, severity_weight={**current.severity_weight, "high": 40})
    assert risk_score([finding], heavier) == 40


def test_the_catalogue_cannot_change_without_a_new_catalogue_version():
    assert catalogue_digest() == CATALOGUE_SHA256, (
        f"the check catalogue changed since catalogue {CATALOGUE_VERSION}: bump CATALOGUE_VERSION and "
        f"CATALOGUE_SHA256 in triage/policy_checks.py ({catalogue_digest()}), and have a new policy version read the "
        "new checks or list them in UNREAD_BY_CURRENT_POLICY")
    assert catalogue_digest(catalogue_ids() | {"meta.new-check"}) != CATALOGUE_SHA256


def test_every_catalogue_check_is_read_by_the_current_policy_or_listed_as_unread():
    read = checks_read_by(POLICY_VERSION)
    catalogue = catalogue_ids()
    unaccounted = catalogue - read - UNREAD_BY_CURRENT_POLICY
    assert not unaccounted, f"checks no policy decision reads, and not listed as unread: {sorted(unaccounted)}"
    assert not read - catalogue, f"the current policy reads checks that no longer exist: {sorted(read - catalogue)}"
    assert not read & UNREAD_BY_CURRENT_POLICY
