"""SARIF 2.1.0 rendering of a triage outcome: one result per finding, ruleId = check id."""

from __future__ import annotations

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def sarif_document(contract: dict) -> dict:
    """``contract`` is the triage_path JSON document; the SARIF is derived from it alone."""
    findings = contract["findings"]
    rules: dict[str, dict] = {}
    for finding in findings:
        rules.setdefault(finding["check"], {
            "id": finding["check"],
            "name": finding["check"],
            "shortDescription": {"text": finding["title"]},
            "help": {"text": finding["remediation"]},
            "properties": {"tags": list(finding["categories"]),
                           "security-severity": SECURITY_SEVERITY[finding["severity"]]},
        })
    ordered_rules = [rules[key] for key in sorted(rules)]
    index = {rule["id"]: position for position, rule in enumerate(ordered_rules)}
    results = []
    for finding in findings:
        result = {
            "ruleId": finding["check"],
            "ruleIndex": index[finding["check"]],
            "level": LEVELS[finding["severity"]],
            "message": {"text": f"{finding['title']}: {finding['evidence']}" if finding["evidence"]
                        else finding["title"]},
            "properties": {"severity": finding["severity"], "categories": list(finding["categories"]),
                           "remediation": finding["remediation"]},
        }
        if finding["path"]:
            location = {"artifactLocation": {"uri": finding["path"], "uriBaseId": "ROOT"}}
            if finding["line"]:
                location["region"] = {"startLine": finding["line"]}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "assay-triage", "informationUri": "https://assay.invalid/triage",
                                "semanticVersion": "1.0.0", "rules": ordered_rules}},
            "automationDetails": {"id": f"assay-triage/{contract['config_digest']}"},
            "results": results,
            "properties": {"config_digest": contract["config_digest"], "policy_version": contract["policy_version"],
                           "sandbox": contract["sandbox"], "score": contract["score"],
                           "decision": contract["decision"], "reasons": contract["reasons"]},
        }],
    }
