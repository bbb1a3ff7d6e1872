"""Every check, static and dynamic, maps to public taxonomies with ids we know the names of."""

from __future__ import annotations

import pytest

from triage.checks import all_checks
from triage.dynamic.checks import DYNAMIC_CHECKS
from triage.taxonomy import ATLAS, CWE, MAPPINGS, OWASP_AGENTIC, OWASP_LLM, taxonomy_for

EVERY_CHECK = [*all_checks(), *(DYNAMIC_CHECKS[key] for key in sorted(DYNAMIC_CHECKS))]


def test_every_registered_check_static_and_dynamic_has_a_taxonomy_entry_and_nothing_else_does():
    assert sorted(MAPPINGS) == sorted(check.id for check in EVERY_CHECK)
    assert len({check.id for check in EVERY_CHECK}) == len(EVERY_CHECK)  # no id in both catalogues
    assert DYNAMIC_CHECKS and all(check_id.startswith("dynamic.") for check_id in DYNAMIC_CHECKS)


@pytest.mark.parametrize("check", [c for c in EVERY_CHECK if c.severity != "info"], ids=lambda c: c.id)
def test_each_risk_check_names_an_owasp_llm_risk_and_a_weakness(check):
    entry = taxonomy_for(check.id)
    assert entry["owasp_llm"] and entry["owasp_agentic"] and entry["cwe"]


def test_every_mapped_id_is_a_known_entry_of_its_scheme():
    tables = {"owasp_llm": OWASP_LLM, "owasp_agentic": OWASP_AGENTIC, "atlas": ATLAS, "cwe": CWE}
    unknown = [(check, ref) for check, mapping in MAPPINGS.items() for scheme, refs in mapping.items()
               for ref in refs if ref not in tables[scheme]]
    assert unknown == []


def test_taxonomy_entries_carry_names():
    entry = taxonomy_for("code.shell-dynamic")
    assert entry["cwe"] == [{"id": "CWE-78", "name": "OS Command Injection"}]
    assert {"id": "ASI05", "name": "Unexpected Code Execution"} in entry["owasp_agentic"]
    assert taxonomy_for("no.such-check") == {"owasp_llm": [], "owasp_agentic": [], "atlas": [], "cwe": []}


def test_dynamic_checks_map_to_what_they_observe():
    assert {"id": "CWE-1427", "name": "Improper Neutralization of Input Used for LLM Prompting"} in \
        taxonomy_for("dynamic.tool-poisoning")["cwe"]
    assert [ref["id"] for ref in taxonomy_for("dynamic.canary-exfiltration")["cwe"]] == ["CWE-200", "CWE-201"]
    assert [ref["id"] for ref in taxonomy_for("dynamic.arbitrary-url-schema")["cwe"]] == ["CWE-918"]
    assert [ref["id"] for ref in taxonomy_for("dynamic.server-stopped")["owasp_llm"]] == ["LLM10:2025"]
    # The pin is a record, not a risk: it must not count towards any risk in aggregates.
    assert taxonomy_for("dynamic.tool-set-pinned") == {"owasp_llm": [], "owasp_agentic": [], "atlas": [], "cwe": []}
