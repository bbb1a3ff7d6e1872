"""The check ids each policy version reads: frozen data, never computed from the live catalogue.

A policy version decides on the findings of the checks it knows; a finding from a check added later is ignored by
it, so a stored result replays to the same decision whatever checks were added since. A new check reaches
decisions only through a new policy version that lists it.
"""

from __future__ import annotations

# The static catalogue and the dynamic stage's checks as they stood for 2026.10.1 and 2026.11.1.
CHECKS_2026_11 = frozenset({
    "agentjacking.ci-untrusted-trigger", "agentjacking.email-to-action", "agentjacking.error-report-to-action",
    "agentjacking.ticket-to-action", "agentjacking.web-to-action",
    "approval.auto-enable-project-mcp", "approval.blanket-shell-allow", "approval.bypass-permissions",
    "approval.codex-approval-never", "approval.codex-full-access", "approval.hook-auto-approves",
    "approval.manifest-no-approval", "approval.mcp-auto-approve", "approval.skip-permissions-flag",
    "approval.vscode-auto-approve",
    "code.eval-dynamic", "code.shell-dynamic", "code.sql-built",
    "egress.sandbox-network-enabled", "egress.unrestricted-policy", "egress.webfetch-any-domain",
    "hooks.exports-session-data", "hooks.network-call", "hooks.silences-checks",
    "instructions.hidden-content", "instructions.remote-import", "instructions.skip-confirmation",
    "irreversible.force-push", "irreversible.kubectl-delete", "irreversible.no-run-budget",
    "irreversible.payments-no-limit", "irreversible.payments-unapproved", "irreversible.prod-deploy-unapproved",
    "irreversible.recursive-delete", "irreversible.sql-drop", "irreversible.terraform-auto-approve",
    "meta.unparsed-file",
    "privilege.broad-write-scope", "privilege.container-root", "privilege.docker-socket", "privilege.host-namespaces",
    "privilege.no-secret-deny-rules", "privilege.pr-target-checkout", "privilege.privileged-container",
    "privilege.workflow-write-all",
    "provenance.curl-pipe-shell", "provenance.plain-http-remote-mcp", "provenance.trust-remote-code",
    "provenance.unpinned-action", "provenance.unpinned-dependencies", "provenance.unpinned-image",
    "provenance.unpinned-mcp-package", "provenance.unsafe-model-load", "provenance.unverified-model",
    "secrets.env-file", "secrets.hardcoded-credential", "secrets.inline-mcp-credential", "secrets.private-key",
    "trifecta.cross-agent-flow", "trifecta.lethal-trifecta", "trifecta.mcp-untrusted-to-shell",
    "trifecta.untrusted-memory",
    "dynamic.arbitrary-command-schema", "dynamic.arbitrary-url-schema", "dynamic.canary-exfiltration",
    "dynamic.files-deleted", "dynamic.files-written", "dynamic.hidden-text", "dynamic.network-egress-attempt",
    "dynamic.private-data-read", "dynamic.server-stopped", "dynamic.subprocess-spawned", "dynamic.tool-poisoning",
    "dynamic.tool-set-changed-in-session", "dynamic.tool-set-drift", "dynamic.tool-set-pinned",
    "dynamic.tool-shadowing", "dynamic.undeclared-tool",
})

# 2026.12.1: the checks that read the MCP tool model extracted from code (issue 13).
TOOL_MODEL_CHECKS = frozenset({
    "tools.description-injection", "tools.hidden-characters", "tools.shadowing", "tools.secret-in-description",
    "tools.exfiltration", "tools.irreversible-action", "tools.sensitive-output", "tools.env-to-child",
    "injection.command", "injection.code-exec", "injection.sql", "injection.path-traversal", "injection.deserialise",
    "injection.ssrf", "injection.template", "provenance.runtime-code-download",
})
# 2026.12.1: checks of the formats read for issue 13 (Claude Code plugin marketplaces).
FORMAT_CHECKS = frozenset({"provenance.unpinned-plugin-source"})
# 2026.12.1: config-side checks added for issue 13 (CI workflow expression injection, broad command rules).
CONFIG_CHECKS = frozenset({"code.workflow-expression", "approval.broad-command-allow"})
# 2026.12.1: checks of what agent-framework, plugin-host and multi-tool server code can do together (issue 13).
CODE_CAPABILITY_CHECKS = frozenset({"tools.arbitrary-execution", "tools.runtime-install", "trifecta.server-toxic-flow"})
CHECKS_2026_12 = CHECKS_2026_11 | TOOL_MODEL_CHECKS | FORMAT_CHECKS | CONFIG_CHECKS | CODE_CAPABILITY_CHECKS
# 2026.12.3: what running servers return and how their offer changes over time, and scratch databases destroyed
# (issue 17 item 4).
RUNTIME_CHECKS = frozenset({"dynamic.tool-output-injection", "dynamic.prompts-changed-in-session",
                            "dynamic.offer-changed-on-restart", "dynamic.database-destroyed"})
CHECKS_2026_12_3 = CHECKS_2026_12 | RUNTIME_CHECKS

# The check catalogue as it stands (triage.checks and triage.dynamic.checks): a version name and the SHA-256 of its
# sorted check ids, one per line. Adding, removing or renaming a check changes the digest and fails
# tests/unit/triage_checks/test_policy_frozen.py until the catalogue version is bumped here and the new check is
# either read by a new policy version or listed in UNREAD_BY_CURRENT_POLICY.
CATALOGUE_VERSION = "2026.12.3"
CATALOGUE_SHA256 = "478e65b37d0a1604905cf8caa9f76744a841d458955a9e1f0545159bd25f354f"
# Catalogue checks the current policy deliberately does not read: reported to the builder, never deciding.
UNREAD_BY_CURRENT_POLICY: frozenset[str] = frozenset()


def catalogue_ids() -> frozenset[str]:
    """Every check id the platform can report today (static and dynamic)."""
    from triage.checks import CHECKS
    from triage.dynamic.checks import DYNAMIC_CHECKS

    return frozenset(CHECKS) | frozenset(DYNAMIC_CHECKS)


def catalogue_digest(ids: frozenset[str] | None = None) -> str:
    import hashlib

    return hashlib.sha256("".join(f"{i}\n" for i in sorted(catalogue_ids() if ids is None else ids)).encode())\
        .hexdigest()
