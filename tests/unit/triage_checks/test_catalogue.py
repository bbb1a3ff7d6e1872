"""Every check in the catalogue fires on a realistic unsafe agent system and stays quiet on its hardened twin.

Adding a check without an entry in FIXTURES fails ``test_every_check_has_a_positive_and_a_negative_fixture``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from triage.analysis import analyse
from triage.checks import all_checks
from triage.findings import CATEGORIES, SEVERITIES
from triage.parsers import parse_root

SYSTEMS = Path(__file__).resolve().parents[2] / "fixtures" / "agent_systems"

# check id -> (system where it must fire, hardened system where it must not)
FIXTURES: dict[str, tuple[str, str]] = {
    "trifecta.lethal-trifecta": ("sentry_fixer_claude", "hardened_claude"),
    "trifecta.mcp-untrusted-to-shell": ("sentry_fixer_claude", "hardened_claude"),
    "trifecta.cross-agent-flow": ("python_ops_agents", "hardened_python"),
    "trifecta.untrusted-memory": ("manifest_risky", "manifest_hardened"),
    "trifecta.server-toxic-flow": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "agentjacking.error-report-to-action": ("sentry_fixer_claude", "hardened_claude"),
    "agentjacking.ticket-to-action": ("ci_issue_agent", "hardened_ci"),
    "agentjacking.email-to-action": ("python_ops_agents", "hardened_python"),
    "agentjacking.web-to-action": ("sentry_fixer_claude", "hardened_claude"),
    "agentjacking.ci-untrusted-trigger": ("ci_issue_agent", "hardened_ci"),
    "approval.bypass-permissions": ("sentry_fixer_claude", "hardened_claude"),
    "approval.skip-permissions-flag": ("codex_ops_agent", "hardened_codex"),
    "approval.codex-approval-never": ("codex_ops_agent", "hardened_codex"),
    "approval.codex-full-access": ("codex_ops_agent", "hardened_codex"),
    "approval.blanket-shell-allow": ("sentry_fixer_claude", "hardened_claude"),
    "approval.broad-command-allow": ("deploy_commands_claude", "deploy_commands_hardened"),
    "approval.auto-enable-project-mcp": ("sentry_fixer_claude", "hardened_claude"),
    "approval.mcp-auto-approve": ("containerised_agent", "hardened_container"),
    "approval.vscode-auto-approve": ("containerised_agent", "hardened_container"),
    "approval.hook-auto-approves": ("sentry_fixer_claude", "hardened_claude"),
    "approval.manifest-no-approval": ("manifest_risky", "manifest_hardened"),
    "irreversible.recursive-delete": ("sentry_fixer_claude", "hardened_claude"),
    "irreversible.force-push": ("sentry_fixer_claude", "hardened_claude"),
    "irreversible.terraform-auto-approve": ("python_ops_agents", "hardened_python"),
    "irreversible.sql-drop": ("python_ops_agents", "hardened_python"),
    "irreversible.kubectl-delete": ("python_ops_agents", "hardened_python"),
    "irreversible.payments-unapproved": ("codex_ops_agent", "hardened_python"),
    "irreversible.prod-deploy-unapproved": ("codex_ops_agent", "hardened_codex"),
    "irreversible.payments-no-limit": ("python_ops_agents", "hardened_python"),
    "irreversible.no-run-budget": ("python_ops_agents", "hardened_python"),
    "privilege.docker-socket": ("containerised_agent", "hardened_container"),
    "privilege.privileged-container": ("containerised_agent", "hardened_container"),
    "privilege.host-namespaces": ("containerised_agent", "hardened_container"),
    "privilege.workflow-write-all": ("ci_issue_agent", "hardened_ci"),
    "privilege.pr-target-checkout": ("ci_issue_agent", "hardened_ci"),
    "privilege.broad-write-scope": ("sentry_fixer_claude", "hardened_claude"),
    "privilege.no-secret-deny-rules": ("sentry_fixer_claude", "hardened_claude"),
    "privilege.container-root": ("containerised_agent", "hardened_container"),
    "provenance.unpinned-mcp-package": ("sentry_fixer_claude", "hardened_claude"),
    "provenance.unpinned-image": ("containerised_agent", "hardened_container"),
    "provenance.curl-pipe-shell": ("containerised_agent", "hardened_container"),
    "provenance.trust-remote-code": ("python_ops_agents", "hardened_python"),
    "provenance.plain-http-remote-mcp": ("sentry_fixer_claude", "hardened_claude"),
    "provenance.unverified-model": ("python_ops_agents", "hardened_python"),
    "provenance.unsafe-model-load": ("python_ops_agents", "hardened_python"),
    "provenance.unpinned-action": ("ci_issue_agent", "hardened_ci"),
    "provenance.unpinned-dependencies": ("containerised_agent", "hardened_container"),
    "provenance.unpinned-plugin-source": ("plugin_marketplace_risky", "plugin_marketplace_hardened"),
    "secrets.hardcoded-credential": ("containerised_agent", "hardened_container"),
    "secrets.inline-mcp-credential": ("sentry_fixer_claude", "hardened_claude"),
    "secrets.env-file": ("containerised_agent", "hardened_container"),
    "secrets.private-key": ("containerised_agent", "hardened_container"),
    "hooks.network-call": ("sentry_fixer_claude", "hardened_claude"),
    "hooks.exports-session-data": ("sentry_fixer_claude", "hardened_claude"),
    "hooks.silences-checks": ("sentry_fixer_claude", "hardened_claude"),
    "egress.unrestricted-policy": ("manifest_risky", "manifest_hardened"),
    "egress.webfetch-any-domain": ("sentry_fixer_claude", "hardened_claude"),
    "egress.sandbox-network-enabled": ("codex_ops_agent", "hardened_codex"),
    "code.eval-dynamic": ("python_ops_agents", "hardened_python"),
    "code.shell-dynamic": ("python_ops_agents", "hardened_python"),
    "code.sql-built": ("python_ops_agents", "hardened_python"),
    "code.workflow-expression": ("ci_issue_agent", "hardened_ci"),
    "instructions.skip-confirmation": ("sentry_fixer_claude", "hardened_claude"),
    "instructions.hidden-content": ("sentry_fixer_claude", "hardened_claude"),
    "instructions.remote-import": ("sentry_fixer_claude", "hardened_claude"),
    "meta.unparsed-file": ("containerised_agent", "hardened_container"),
    # Checks that read the MCP tool model (servers and tools extracted from Python and TypeScript code).
    "tools.description-injection": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "tools.hidden-characters": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "tools.shadowing": ("mcp_server_ts_vulnerable", "mcp_server_ts_hardened"),
    "tools.secret-in-description": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "tools.exfiltration": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "tools.irreversible-action": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "tools.sensitive-output": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "tools.env-to-child": ("mcp_server_ts_vulnerable", "mcp_server_ts_hardened"),
    "tools.arbitrary-execution": ("python_ops_agents", "hardened_python"),
    "tools.runtime-install": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "injection.command": ("mcp_server_ts_vulnerable", "mcp_server_ts_hardened"),
    "injection.code-exec": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "injection.sql": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "injection.path-traversal": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "injection.deserialise": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "injection.ssrf": ("mcp_server_ts_vulnerable", "mcp_server_ts_hardened"),
    "injection.template": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "trifecta.server-toxic-flow": ("mcp_server_py_vulnerable", "mcp_server_py_hardened"),
    "provenance.runtime-code-download": ("mcp_server_ts_vulnerable", "mcp_server_ts_hardened"),
}
# Checks whose positive fixture needs the tool model extracted from code: until an extractor reads the fixture's
# language, the positive test is skipped (not passed); once it does, it runs for real.
TOOL_MODEL_FAMILIES = ("tools.", "injection.")
CHECK_IDS = [check.id for check in all_checks()]


@lru_cache(maxsize=None)
def fired(system: str) -> frozenset[str]:
    return frozenset(f.check for f in analyse(SYSTEMS / system))


@lru_cache(maxsize=None)
def has_tool_model(system: str) -> bool:
    parsed = parse_root(SYSTEMS / system)
    return bool(parsed.code_servers or parsed.code_tools)


def test_every_check_has_a_positive_and_a_negative_fixture():
    assert sorted(FIXTURES) == CHECK_IDS


def test_the_catalogue_has_at_least_forty_checks_across_the_required_families():
    assert len(CHECK_IDS) >= 40
    families = {check_id.split(".")[0] for check_id in CHECK_IDS}
    assert {"trifecta", "agentjacking", "approval", "irreversible", "privilege", "provenance", "secrets", "hooks",
            "egress"} <= families


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check_fires_on_its_positive_fixture(check_id):
    positive, _negative = FIXTURES[check_id]
    if check_id.startswith(TOOL_MODEL_FAMILIES) and not has_tool_model(positive):
        pytest.skip(f"no extractor reads the code of {positive} yet: the tool model is empty")
    assert check_id in fired(positive)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check_stays_quiet_on_its_negative_fixture(check_id):
    _positive, negative = FIXTURES[check_id]
    assert check_id not in fired(negative)


@pytest.mark.parametrize("check", all_checks(), ids=lambda c: c.id)
def test_check_metadata_is_complete(check):
    assert check.severity in SEVERITIES
    assert check.categories and set(check.categories) <= set(CATEGORIES)
    assert check.title and len(check.title) <= 100 and "\n" not in check.title
    assert len(check.remediation) > 20 and len(check.rationale) > 20


@pytest.mark.parametrize("system", sorted({n for _p, n in FIXTURES.values()}))
def test_hardened_systems_have_no_findings_at_all(system):
    assert fired(system) == frozenset()
