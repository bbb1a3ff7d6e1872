"""Egress: where the agent's traffic may go."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.parsers.base import as_dict, as_list


@check("egress.unrestricted-policy", title="Network egress is unrestricted",
       severity="medium", categories=("exfiltration",),
       remediation='Declare an allow-list of the hosts the agent needs (egress.policy "allowlist") and enforce it '
                   "with a proxy or sandbox.",
       rationale="With open egress, any leaked instruction can send data anywhere.")
def unrestricted_policy(context: AnalysisContext) -> Iterator[Hit]:
    egress = as_dict((context.system.manifest or {}).get("egress"))
    if egress.get("policy") == "unrestricted":
        yield Hit(context.system.manifest_path, context.system.manifest_line("unrestricted"), "egress.policy: unrestricted")
    elif any(str(a).strip() in ("*", "*.*", "0.0.0.0/0", "::/0") for a in as_list(egress.get("allow"))):
        yield Hit(context.system.manifest_path, context.system.manifest_line('"egress"'), f"egress.allow: {as_list(egress.get('allow'))}")
    for policy in context.system.sandbox_policies:
        for grant in policy.grants:
            if grant.kind == "network-any":
                yield Hit(grant.path, grant.line, f"sandbox policy: {grant.evidence}")


@check("egress.webfetch-any-domain", title="Web fetches to any domain are pre-approved",
       severity="medium", categories=("exfiltration", "untrusted_input"),
       remediation='Pre-approve only specific domains, e.g. "WebFetch(domain:docs.python.org)".',
       rationale="A fetch to an attacker's URL is both an injection source and an exfiltration channel (data in the "
                 "query string).")
def webfetch_any_domain(context: AnalysisContext) -> Iterator[Hit]:
    for allow in context.system.claude_allow:
        if re.match(r"^WebFetch(\((\*|domain:\*)\))?$", allow.rule.strip()):
            yield Hit(allow.path, allow.line, f'allow: "{allow.rule}"')


@check("egress.sandbox-network-enabled", title="The agent sandbox allows network access",
       severity="medium", categories=("exfiltration",),
       remediation="Turn network off in the sandbox (network_access = false) and allow-list hosts through a proxy.",
       rationale="A sandbox with open network still lets an injected command ship the workspace out.")
def sandbox_network_enabled(context: AnalysisContext) -> Iterator[Hit]:
    for config in context.system.codex_configs:
        if as_dict(config.data.get("sandbox_workspace_write")).get("network_access") is True:
            yield Hit(config.file.path, config.file.line_of("network_access"), "sandbox_workspace_write.network_access = true")
    for settings in context.system.claude_settings:
        network = as_dict(as_dict(settings.data.get("sandbox")).get("network"))
        domains = [str(d) for d in as_list(network.get("allowedDomains"))]
        if "*" in domains:
            yield Hit(settings.file.path, settings.file.line_of("allowedDomains"), 'sandbox.network.allowedDomains: ["*"]')
