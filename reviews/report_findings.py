"""How a report shows its findings: one row per flaw, evidence safe to print, the headline few.

Triage reports a flaw once per place it is declared, so a server listed both in the submitted manifest and in
``.mcp.json`` arrives as two findings. The report merges them into one row that names both places; it never
merges two flaws, and never hides one: a row keeps every location, the most severe severity among its
findings, and is outside the claim's scope only if every one of its findings is.
"""

from __future__ import annotations

import re

from triage.checks.registry import mask_evidence
from triage.findings import SEVERITY_RANK
from triage.parsers.manifest import SUBMITTED_MANIFEST_PATH

REPORT_EVIDENCE_CHARS = 160
HEADLINE_COUNT = 5
# "mcp_servers[jira]: npx …" (manifest) and "jira: npx …" (.mcp.json) name the same server.
_LABELLED = re.compile(r"^(?P<label>[^\s:][^:]{0,80}?):\s+(?P<body>.+)$", re.S)
_INDEXED_LABEL = re.compile(r"^[A-Za-z_][\w.-]*\[(?P<name>[^\]]+)\]$")


def report_evidence(text: str | None) -> str:
    """One line, credentials masked (again, with the shapes of today: a signed report travels further than the case
    page, and the evidence may have been stored before a shape was added), short."""
    text = mask_evidence(text or "")
    if len(text) > REPORT_EVIDENCE_CHARS:
        text = text[: REPORT_EVIDENCE_CHARS - 1] + "…"
    return text


def merge_key(finding: dict) -> tuple:
    """Findings with equal keys are one flaw: the same check about the same subject (evidence with its locator
    label normalised, so the manifest's ``mcp_servers[jira]`` and the file's ``jira`` agree). Without evidence
    there is nothing to say two places share a flaw, so such a finding keys on its own place."""
    evidence = " ".join((finding.get("evidence") or "").split())
    if not evidence:
        return (finding.get("check"), "@", finding.get("path") or "", finding.get("line"))
    match = _LABELLED.match(evidence)
    if match is None:
        return (finding.get("check"), "", evidence)
    label = match.group("label").strip()
    indexed = _INDEXED_LABEL.match(label)
    return (finding.get("check"), (indexed.group("name") if indexed else label).lower(), match.group("body"))


def findings_merged(findings: list[dict]) -> list[dict]:
    """One row per flaw, most severe first, each with every place it was found (in a stable order)."""
    groups: dict[tuple, list[dict]] = {}
    for finding in findings:
        groups.setdefault(merge_key(finding), []).append(finding)
    rows = []
    for members in groups.values():
        # The most severe report leads; among equals the one in a file (it has a line to point at).
        members = sorted(members, key=lambda f: (SEVERITY_RANK.get(f.get("severity"), 99),
                                                 f.get("path") == SUBMITTED_MANIFEST_PATH, f.get("path") or "",
                                                 f.get("line") or 0))
        lead = members[0]
        locations = []
        for f in members:
            place = {"path": f.get("path") or "", "line": f.get("line"),
                     "outside_scope": bool(f.get("outside_scope"))}
            if place not in locations:
                locations.append(place)
        rows.append({
            **{k: lead.get(k) for k in ("check", "title", "severity", "categories", "remediation", "taxonomy")},
            "evidence": report_evidence(lead.get("evidence")),
            "locations": locations,
            "merged": len(members),
            "outside_scope": all(f.get("outside_scope") for f in members),
        })
    return sorted(rows, key=lambda r: (SEVERITY_RANK.get(r["severity"], 99), r["check"] or "",
                                       r["locations"][0]["path"], r["locations"][0]["line"] or 0))


def headline_findings(rows: list[dict], *, reviewer_findings: list[dict] = (), count: int = HEADLINE_COUNT,
                      ) -> list[dict]:
    """The top few by severity (info never headlines): reviewers' findings lead among equals, then triage's rows;
    the rest are in the report's tables."""
    reviewed = [{"severity": f.get("severity"), "title": f.get("title") or "(untitled)", "locations": [],
                 "by_reviewer": True, "outside_scope": False}
                for f in reviewer_findings if isinstance(f, dict) and f.get("severity") in SEVERITY_RANK]
    candidates = sorted(reviewed, key=lambda f: SEVERITY_RANK[f["severity"]]) + rows
    ranked = sorted(candidates, key=lambda f: SEVERITY_RANK.get(f["severity"], 99))  # stable: reviewers first
    return [f for f in ranked if f["severity"] != "info"][:count]
