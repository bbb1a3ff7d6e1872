"""Every check maps to public taxonomies with ids we know the names of."""

from __future__ import annotations

import pytest

from triage.checks import all_checks
from triage.taxonomy import MAPPINGS, taxonomy_for


def test_every_check_has_a_taxonomy_entry_and_nothing_else_does():
    assert sorted(MAPPINGS) == [check.id for check in all_checks()]


@pytest.mark.parametrize("check", [c for c in all_checks() if c.severity != "info"], ids=lambda c: c.id)
def test_each_risk_check_names_an_owasp_llm_risk_and_a_weakness(check):
    entry = taxonomy_for(check.id)
    assert entry["owasp_llm"] and entry["owasp_agentic"] and entry["cwe"]


def test_taxonomy_entries_carry_names():
    entry = taxonomy_for("code.shell-dynamic")
    assert entry["cwe"] == [{"id": "CWE-78", "name": "OS Command Injection"}]
    assert {"id": "ASI05", "name": "Unexpected Code Execution"} in entry["owasp_agentic"]
    assert taxonomy_for("no.such-check") == {"owasp_llm": [], "owasp_agentic": [], "atlas": [], "cwe": []}
