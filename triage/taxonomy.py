"""Where each check sits in public taxonomies: OWASP Top 10 for LLM Applications (2025), OWASP Top 10 for Agentic
Applications (2026), MITRE ATLAS and CWE. Read by reports and aggregates (issue 7); never by the policy.
"""

from __future__ import annotations

OWASP_LLM = {
    "LLM01:2025": "Prompt Injection", "LLM02:2025": "Sensitive Information Disclosure", "LLM03:2025": "Supply Chain",
    "LLM04:2025": "Data and Model Poisoning", "LLM05:2025": "Improper Output Handling",
    "LLM06:2025": "Excessive Agency", "LLM07:2025": "System Prompt Leakage",
    "LLM08:2025": "Vector and Embedding Weaknesses", "LLM09:2025": "Misinformation",
    "LLM10:2025": "Unbounded Consumption",
}
OWASP_AGENTIC = {
    "ASI01": "Agent Goal Hijack", "ASI02": "Tool Misuse and Exploitation", "ASI03": "Identity and Privilege Abuse",
    "ASI04": "Agentic Supply Chain Vulnerabilities", "ASI05": "Unexpected Code Execution",
    "ASI06": "Memory and Context Poisoning", "ASI07": "Insecure Inter-Agent Communication",
    "ASI08": "Cascading Failures", "ASI09": "Human-Agent Trust Exploitation", "ASI10": "Rogue Agents",
}
ATLAS = {
    "AML.T0051.001": "LLM Prompt Injection: Indirect", "AML.T0053": "AI Agent Tool Invocation",
    "AML.T0057": "LLM Data Leakage", "AML.T0010": "AI Supply Chain Compromise",
    "AML.T0010.005": "AI Supply Chain Compromise: AI Agent Tool", "AML.T0011.000": "User Execution: Unsafe AI Artifacts",
    "AML.T0055": "Unsecured Credentials",
}
CWE = {
    "CWE-22": "Path Traversal", "CWE-77": "Command Injection", "CWE-78": "OS Command Injection", "CWE-89": "SQL Injection",
    "CWE-94": "Code Injection", "CWE-95": "Eval Injection", "CWE-200": "Exposure of Sensitive Information",
    "CWE-201": "Insertion of Sensitive Information Into Sent Data", "CWE-250": "Execution with "
    "Unnecessary Privileges", "CWE-269": "Improper Privilege Management", "CWE-284": "Improper Access Control",
    "CWE-306": "Missing Authentication for Critical Function", "CWE-319": "Cleartext Transmission of Sensitive "
    "Information", "CWE-321": "Use of Hard-coded Cryptographic Key", "CWE-441": "Unintended Proxy or Intermediary "
    "(Confused Deputy)", "CWE-451": "User Interface Misrepresentation of Critical Information",
    "CWE-494": "Download of Code Without Integrity Check", "CWE-502": "Deserialization of Untrusted Data",
    "CWE-400": "Uncontrolled Resource Consumption",
    "CWE-732": "Incorrect Permission Assignment for Critical Resource", "CWE-770": "Allocation of Resources Without "
    "Limits or Throttling", "CWE-798": "Use of Hard-coded Credentials", "CWE-829": "Inclusion of Functionality from "
    "Untrusted Control Sphere", "CWE-862": "Missing Authorization", "CWE-912": "Hidden Functionality",
    "CWE-918": "Server-Side Request Forgery (SSRF)", "CWE-1357": "Reliance on Insufficiently "
    "Trustworthy Component", "CWE-1390": "Weak Authentication",
    "CWE-1427": "Improper Neutralization of Input Used for LLM Prompting",
    "CWE-359": "Exposure of Private Personal Information to an Unauthorized Actor",
    "CWE-526": "Cleartext Storage of Sensitive Information in an Environment Variable",
    "CWE-668": "Exposure of Resource to Wrong Sphere", "CWE-749": "Exposed Dangerous Method or Function",
    "CWE-1336": "Improper Neutralization of Special Elements Used in a Template Engine",
}

_INJECTION = {"owasp_llm": ["LLM01:2025", "LLM06:2025"], "owasp_agentic": ["ASI01", "ASI02"],
              "atlas": ["AML.T0051.001", "AML.T0053"], "cwe": ["CWE-441"]}
_EXFIL = {"owasp_llm": ["LLM01:2025", "LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI01", "ASI02"],
          "atlas": ["AML.T0051.001", "AML.T0057"], "cwe": ["CWE-200", "CWE-441"]}
_AUTONOMY = {"owasp_llm": ["LLM06:2025"], "owasp_agentic": ["ASI02", "ASI09"], "atlas": ["AML.T0053"],
             "cwe": ["CWE-862"]}
_IRREVERSIBLE = {"owasp_llm": ["LLM06:2025"], "owasp_agentic": ["ASI02", "ASI08"], "atlas": ["AML.T0053"],
                 "cwe": ["CWE-862"]}
_PRIVILEGE = {"owasp_llm": ["LLM06:2025"], "owasp_agentic": ["ASI03"], "atlas": [], "cwe": ["CWE-250", "CWE-269"]}
_SUPPLY = {"owasp_llm": ["LLM03:2025"], "owasp_agentic": ["ASI04"], "atlas": ["AML.T0010", "AML.T0010.005"],
           "cwe": ["CWE-494", "CWE-1357"]}
_SECRETS = {"owasp_llm": ["LLM02:2025"], "owasp_agentic": ["ASI03"], "atlas": ["AML.T0055"], "cwe": ["CWE-798"]}
_CODE = {"owasp_llm": ["LLM05:2025"], "owasp_agentic": ["ASI05"], "atlas": ["AML.T0053"], "cwe": []}

MAPPINGS: dict[str, dict[str, list[str]]] = {
    "trifecta.lethal-trifecta": _EXFIL,
    "trifecta.mcp-untrusted-to-shell": {**_INJECTION, "owasp_agentic": ["ASI01", "ASI02", "ASI05"]},
    "trifecta.server-toxic-flow": {**_EXFIL, "owasp_agentic": ["ASI01", "ASI02", "ASI04"]},
    "trifecta.cross-agent-flow": {**_EXFIL, "owasp_agentic": ["ASI01", "ASI07"]},
    "trifecta.server-toxic-flow": {**_EXFIL, "cwe": ["CWE-200", "CWE-441", "CWE-1427"]},
    "trifecta.untrusted-memory": {**_EXFIL, "owasp_llm": ["LLM01:2025", "LLM04:2025"], "owasp_agentic": ["ASI06"]},
    "agentjacking.error-report-to-action": _INJECTION,
    "agentjacking.ticket-to-action": _INJECTION,
    "agentjacking.email-to-action": _INJECTION,
    "agentjacking.web-to-action": _INJECTION,
    "agentjacking.ci-untrusted-trigger": {**_INJECTION, "owasp_agentic": ["ASI01", "ASI03"]},
    "approval.bypass-permissions": _AUTONOMY,
    "approval.skip-permissions-flag": _AUTONOMY,
    "approval.codex-approval-never": _AUTONOMY,
    "approval.codex-full-access": {**_AUTONOMY, "owasp_agentic": ["ASI02", "ASI05"], "cwe": ["CWE-250"]},
    "approval.blanket-shell-allow": {**_AUTONOMY, "owasp_agentic": ["ASI02", "ASI05"]},
    "approval.broad-command-allow": {**_AUTONOMY, "owasp_agentic": ["ASI02", "ASI05"], "cwe": ["CWE-250", "CWE-862"]},
    "approval.auto-enable-project-mcp": {**_AUTONOMY, "owasp_llm": ["LLM03:2025", "LLM06:2025"],
                                         "owasp_agentic": ["ASI04"], "cwe": ["CWE-829"]},
    "approval.mcp-auto-approve": _AUTONOMY,
    "approval.vscode-auto-approve": _AUTONOMY,
    "approval.hook-auto-approves": _AUTONOMY,
    "approval.manifest-no-approval": _AUTONOMY,
    "irreversible.recursive-delete": _IRREVERSIBLE,
    "irreversible.force-push": _IRREVERSIBLE,
    "irreversible.terraform-auto-approve": _IRREVERSIBLE,
    "irreversible.sql-drop": _IRREVERSIBLE,
    "irreversible.kubectl-delete": _IRREVERSIBLE,
    "irreversible.payments-unapproved": _IRREVERSIBLE,
    "irreversible.prod-deploy-unapproved": _IRREVERSIBLE,
    "irreversible.payments-no-limit": {**_IRREVERSIBLE, "owasp_llm": ["LLM06:2025", "LLM10:2025"], "cwe": ["CWE-770"]},
    "irreversible.no-run-budget": {"owasp_llm": ["LLM10:2025"], "owasp_agentic": ["ASI08", "ASI10"], "atlas": [],
                                   "cwe": ["CWE-770"]},
    "privilege.docker-socket": _PRIVILEGE,
    "privilege.privileged-container": _PRIVILEGE,
    "privilege.host-namespaces": {**_PRIVILEGE, "cwe": ["CWE-250", "CWE-284"]},
    "privilege.workflow-write-all": {**_PRIVILEGE, "cwe": ["CWE-732"]},
    "privilege.pr-target-checkout": {**_PRIVILEGE, "owasp_llm": ["LLM01:2025", "LLM06:2025"],
                                     "cwe": ["CWE-829", "CWE-269"]},
    "privilege.broad-write-scope": {**_PRIVILEGE, "cwe": ["CWE-732"]},
    "privilege.no-secret-deny-rules": {**_PRIVILEGE, "owasp_llm": ["LLM02:2025", "LLM06:2025"], "cwe": ["CWE-284"]},
    "privilege.container-root": {**_PRIVILEGE, "cwe": ["CWE-250"]},
    "provenance.unpinned-mcp-package": _SUPPLY,
    "provenance.unpinned-image": _SUPPLY,
    "provenance.curl-pipe-shell": {**_SUPPLY, "cwe": ["CWE-494"]},
    "provenance.trust-remote-code": {**_SUPPLY, "atlas": ["AML.T0010", "AML.T0011.000"], "cwe": ["CWE-829"]},
    "provenance.plain-http-remote-mcp": {**_SUPPLY, "cwe": ["CWE-319", "CWE-306"]},
    "provenance.unverified-model": {**_SUPPLY, "owasp_llm": ["LLM03:2025", "LLM04:2025"], "atlas": ["AML.T0010"]},
    "provenance.unsafe-model-load": {**_SUPPLY, "atlas": ["AML.T0011.000"], "cwe": ["CWE-502"]},
    "provenance.unpinned-action": _SUPPLY,
    "provenance.runtime-code-download": {**_SUPPLY, "owasp_llm": ["LLM03:2025", "LLM05:2025"],
                                         "cwe": ["CWE-494", "CWE-829"]},
    "provenance.unpinned-dependencies": {**_SUPPLY, "cwe": ["CWE-1357"]},
    "provenance.unpinned-plugin-source": {**_SUPPLY, "atlas": ["AML.T0010", "AML.T0010.005"],
                                          "cwe": ["CWE-494", "CWE-829"]},
    "secrets.hardcoded-credential": _SECRETS,
    "secrets.inline-mcp-credential": _SECRETS,
    "secrets.env-file": {**_SECRETS, "cwe": ["CWE-798", "CWE-200"]},
    "secrets.private-key": {**_SECRETS, "cwe": ["CWE-321"]},
    "hooks.network-call": {"owasp_llm": ["LLM02:2025"], "owasp_agentic": ["ASI02"], "atlas": ["AML.T0057"],
                           "cwe": ["CWE-200"]},
    "hooks.exports-session-data": {"owasp_llm": ["LLM02:2025", "LLM07:2025"], "owasp_agentic": ["ASI02", "ASI10"],
                                   "atlas": ["AML.T0057"], "cwe": ["CWE-200"]},
    "hooks.silences-checks": {**_AUTONOMY, "cwe": ["CWE-862"]},
    "egress.unrestricted-policy": {**_EXFIL, "cwe": ["CWE-200"]},
    "egress.webfetch-any-domain": _EXFIL,
    "egress.sandbox-network-enabled": {**_EXFIL, "owasp_agentic": ["ASI02", "ASI05"]},
    "code.eval-dynamic": {**_CODE, "cwe": ["CWE-95"]},
    "code.shell-dynamic": {**_CODE, "cwe": ["CWE-78"]},
    "code.sql-built": {**_CODE, "cwe": ["CWE-89"]},
    "code.workflow-expression": {"owasp_llm": ["LLM06:2025"], "owasp_agentic": ["ASI05"], "atlas": [],
                                 "cwe": ["CWE-78", "CWE-94"]},
    "instructions.skip-confirmation": {**_AUTONOMY, "owasp_agentic": ["ASI09"]},
    "instructions.hidden-content": {"owasp_llm": ["LLM01:2025"], "owasp_agentic": ["ASI01", "ASI04"],
                                    "atlas": ["AML.T0051.001"], "cwe": ["CWE-451"]},
    "instructions.remote-import": {"owasp_llm": ["LLM01:2025", "LLM03:2025"], "owasp_agentic": ["ASI04"],
                                   "atlas": ["AML.T0010"], "cwe": ["CWE-829"]},
    "meta.unparsed-file": {"owasp_llm": [], "owasp_agentic": [], "atlas": [], "cwe": []},
    # MCP tools read from code (triage/checks/tools.py): descriptions, and what tool code does.
    "tools.description-injection": {"owasp_llm": ["LLM01:2025", "LLM03:2025"], "owasp_agentic": ["ASI01", "ASI04"],
                                    "atlas": ["AML.T0051.001", "AML.T0010.005"], "cwe": ["CWE-1427", "CWE-912"]},
    "tools.hidden-characters": {"owasp_llm": ["LLM01:2025"], "owasp_agentic": ["ASI01", "ASI04"],
                                "atlas": ["AML.T0051.001"], "cwe": ["CWE-451", "CWE-1427"]},
    "tools.shadowing": {"owasp_llm": ["LLM01:2025", "LLM06:2025"], "owasp_agentic": ["ASI01", "ASI02"],
                        "atlas": ["AML.T0051.001", "AML.T0053"], "cwe": ["CWE-1427", "CWE-441"]},
    "tools.secret-in-description": {**_SECRETS, "cwe": ["CWE-798", "CWE-200"]},
    "tools.exfiltration": {"owasp_llm": ["LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI02"],
                           "atlas": ["AML.T0053", "AML.T0057"], "cwe": ["CWE-200", "CWE-201"]},
    "tools.irreversible-action": {**_IRREVERSIBLE, "cwe": ["CWE-862", "CWE-749"]},
    "tools.sensitive-output": {"owasp_llm": ["LLM02:2025"], "owasp_agentic": ["ASI02", "ASI03"],
                               "atlas": ["AML.T0057"], "cwe": ["CWE-200", "CWE-359"]},
    "tools.arbitrary-execution": {**_AUTONOMY, "owasp_agentic": ["ASI02", "ASI03", "ASI05"],
                                  "cwe": ["CWE-250", "CWE-749"]},
    "tools.runtime-install": {**_SUPPLY, "owasp_agentic": ["ASI04", "ASI05"], "cwe": ["CWE-494", "CWE-829"]},
    "tools.env-to-child": {"owasp_llm": ["LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI03"],
                           "atlas": ["AML.T0055"], "cwe": ["CWE-526", "CWE-668"]},
    # Flows from tool inputs to sinks (triage/checks/injection.py).
    "injection.command": {**_CODE, "owasp_llm": ["LLM05:2025", "LLM06:2025"], "owasp_agentic": ["ASI02", "ASI05"],
                          "cwe": ["CWE-78", "CWE-77"]},
    "injection.code-exec": {**_CODE, "owasp_llm": ["LLM05:2025", "LLM06:2025"], "owasp_agentic": ["ASI02", "ASI05"],
                            "cwe": ["CWE-94", "CWE-95"]},
    "injection.sql": {**_CODE, "owasp_llm": ["LLM05:2025", "LLM06:2025"], "owasp_agentic": ["ASI02"],
                      "cwe": ["CWE-89"]},
    "injection.path-traversal": {**_CODE, "owasp_llm": ["LLM05:2025", "LLM06:2025"],
                                 "owasp_agentic": ["ASI02", "ASI03"], "cwe": ["CWE-22"]},
    "injection.deserialise": {**_CODE, "cwe": ["CWE-502"]},
    "injection.ssrf": {**_CODE, "owasp_llm": ["LLM05:2025", "LLM06:2025"], "owasp_agentic": ["ASI02"],
                       "atlas": ["AML.T0053", "AML.T0057"], "cwe": ["CWE-918"]},
    "injection.template": {**_CODE, "cwe": ["CWE-1336", "CWE-94"]},
    # The dynamic stage (triage/dynamic/checks.py): what running servers exposed and did in the sandbox.
    "dynamic.tool-poisoning": {"owasp_llm": ["LLM01:2025", "LLM03:2025"], "owasp_agentic": ["ASI01", "ASI04"],
                               "atlas": ["AML.T0051.001", "AML.T0010.005"], "cwe": ["CWE-1427", "CWE-829"]},
    "dynamic.hidden-text": {"owasp_llm": ["LLM01:2025"], "owasp_agentic": ["ASI01", "ASI04"],
                            "atlas": ["AML.T0051.001"], "cwe": ["CWE-451", "CWE-1427"]},
    "dynamic.tool-shadowing": {"owasp_llm": ["LLM01:2025", "LLM06:2025"], "owasp_agentic": ["ASI01", "ASI02"],
                               "atlas": ["AML.T0051.001", "AML.T0053"], "cwe": ["CWE-441", "CWE-1427"]},
    "dynamic.undeclared-tool": {"owasp_llm": ["LLM03:2025", "LLM06:2025"], "owasp_agentic": ["ASI04"],
                                "atlas": ["AML.T0010.005"], "cwe": ["CWE-912"]},
    "dynamic.arbitrary-command-schema": {"owasp_llm": ["LLM05:2025", "LLM06:2025"],
                                         "owasp_agentic": ["ASI02", "ASI05"], "atlas": ["AML.T0053"],
                                         "cwe": ["CWE-78"]},
    "dynamic.arbitrary-url-schema": {"owasp_llm": ["LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI02"],
                                     "atlas": ["AML.T0053", "AML.T0057"], "cwe": ["CWE-918"]},
    # A pin is a record kept for later comparison, not a weakness: no risk taxonomy (as meta.unparsed-file).
    "dynamic.tool-set-pinned": {"owasp_llm": [], "owasp_agentic": [], "atlas": [], "cwe": []},
    "dynamic.tool-set-changed-in-session": {"owasp_llm": ["LLM03:2025", "LLM01:2025"],
                                            "owasp_agentic": ["ASI04", "ASI01"], "atlas": ["AML.T0010.005"],
                                            "cwe": ["CWE-912", "CWE-829"]},
    "dynamic.tool-set-drift": _SUPPLY,
    "dynamic.canary-exfiltration": {"owasp_llm": ["LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI02"],
                                    "atlas": ["AML.T0053", "AML.T0057"], "cwe": ["CWE-200", "CWE-201"]},
    "dynamic.network-egress-attempt": {"owasp_llm": ["LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI02"],
                                       "atlas": ["AML.T0053"], "cwe": ["CWE-200"]},
    "dynamic.files-deleted": _IRREVERSIBLE,
    "dynamic.files-written": {**_PRIVILEGE, "owasp_agentic": ["ASI02", "ASI03"], "atlas": ["AML.T0053"]},
    "dynamic.subprocess-spawned": {"owasp_llm": ["LLM06:2025"], "owasp_agentic": ["ASI02", "ASI05"],
                                   "atlas": ["AML.T0053"], "cwe": ["CWE-250"]},
    "dynamic.private-data-read": {"owasp_llm": ["LLM02:2025", "LLM06:2025"], "owasp_agentic": ["ASI03"],
                                  "atlas": ["AML.T0055"], "cwe": ["CWE-284"]},
    "dynamic.server-stopped": {"owasp_llm": ["LLM10:2025"], "owasp_agentic": ["ASI08"], "atlas": [],
                               "cwe": ["CWE-400", "CWE-770"]},
}


def taxonomy_for(check_id: str) -> dict[str, list[dict[str, str]]]:
    """{"owasp_llm": [{"id", "name"}], "owasp_agentic": [...], "atlas": [...], "cwe": [...]}; empty lists if unknown."""
    mapping = MAPPINGS.get(check_id, {})
    names = {"owasp_llm": OWASP_LLM, "owasp_agentic": OWASP_AGENTIC, "atlas": ATLAS, "cwe": CWE}
    return {scheme: [{"id": ref, "name": names[scheme][ref]} for ref in mapping.get(scheme, [])] for scheme in names}
