"""Record every policy version's decisions on the fixtures into decisions.json (the golden file).

    .venv/bin/python -m tests.unit.triage_checks.golden.record [--only-new VERSION]

Analyses each fixture tree in-process once and stores what the policy reads of its findings (check, severity,
categories, place) and its component inventory, then every version's decision for a set of claims. The golden test
replays the stored findings, so it pins the policy alone: a change to an existing version's rules, tables or check
set fails it, while a better check only changes what the next recording stores.

Re-record only on purpose. ``--only-new VERSION`` keeps every existing decision and adds that version's (the
normal step when a new policy version is registered); a full re-recording rewrites the stored findings as well and
must be reviewed as a diff.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("decisions.json")
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
TREES = ("agent_systems", "corpus")
# The claims every case is decided for: each kind unscoped, none at all, and one scope by component.
CLAIMS = ("no-exfiltration", "bounded-actions", "prompt-injection-resistance", "least-privilege", "data-handling",
          "other", None)


def case_trees() -> list[tuple[str, Path]]:
    found = []
    for group in TREES:
        for path in sorted((FIXTURES / group).iterdir()):
            if path.is_dir():
                found.append((f"{group}/{path.name}", path))
    return found


def finding_record(finding) -> dict:  # noqa: ANN001
    """What any policy version reads of a finding (its evidence and remediation never bear on a decision)."""
    extra = {key: finding.extra[key] for key in ("agent", "agents", "server", "tool", "component", "components")
             if key in finding.extra}
    return {"check": finding.check, "title": finding.title, "severity": finding.severity,
            "categories": list(finding.categories), "path": finding.path, "line": finding.line, "extra": extra}


def contexts_for(components: list[dict]) -> dict[str, dict]:
    """Named policy contexts (as PolicyContext keyword arguments) for one case."""
    contexts = {f"claim={claim or 'none'}": {"claim_property": claim} for claim in CLAIMS}
    # A claim about one component, the rest of the system outside it; and the same system with that one excluded.
    ids = sorted(c["id"] for c in components if c.get("id") and c.get("kind") != "file")
    if ids:
        contexts["claim=no-exfiltration,scope=one-component"] = {
            "claim_property": "no-exfiltration", "claim_scope_in": [ids[0]]}
        contexts["claim=other,scope=all-but-one-component"] = {
            "claim_property": "other", "claim_scope_in": sorted({f"{c['kind']}:**" for c in components}),
            "claim_scope_out": [ids[0]]}
    contexts["claim=bounded-actions,repeat-rejections"] = {
        "claim_property": "bounded-actions", "builder_history": {"rejected_recently": 3}}
    return contexts


def decisions_for(findings: list[dict], components: list[dict], contexts: dict[str, dict], versions) -> dict:  # noqa: ANN001
    from triage.findings import Finding
    from triage.policy import PolicyContext, decide

    objects = [Finding(f["check"], f["title"], f["severity"], tuple(f["categories"]), f["path"], f["line"], "", "",
                       dict(f["extra"])) for f in findings]
    out: dict[str, dict] = {}
    for version in versions:
        out[version] = {}
        for name, kwargs in contexts.items():
            decision = decide(objects, context=PolicyContext(components=components, **kwargs), version=version)
            out[version][name] = [decision.decision, decision.score, list(decision.reasons)]
    return out


def record_case(path: Path) -> dict:
    from triage.analysis import analyse_tree_with_inventory
    from triage.parsers.base import load_tree

    tree = load_tree(path)
    findings, components = analyse_tree_with_inventory(tree, files=sorted(tree.files))
    records = sorted((finding_record(f) for f in findings),
                     key=lambda r: (r["check"], r["path"], r["line"] or 0, r["severity"]))
    # What the scope rule reads of a component (its label is for people only).
    components = [{key: c[key] for key in ("id", "kind", "paths", "lines") if key in c} for c in components]
    return {"findings": records, "components": components}


def golden_text(golden: dict) -> str:
    """One line per case, so a re-recording reviews as a diff of the cases it changed."""
    head = {key: value for key, value in golden.items() if key != "cases"}
    lines = [json.dumps(head, sort_keys=True)[:-1] + ', "cases": {']
    cases = sorted(golden["cases"].items())
    for index, (name, case) in enumerate(cases):
        comma = "," if index < len(cases) - 1 else ""
        lines.append(f"{json.dumps(name)}: {json.dumps(case, sort_keys=True, ensure_ascii=False)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only-new", metavar="VERSION", help="add this policy version's decisions, keep the rest")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    import django

    django.setup()
    from triage.policy import available_policies
    from triage.policy_checks import CATALOGUE_VERSION

    if args.only_new:
        golden = json.loads(GOLDEN.read_text())
        if args.only_new not in available_policies():
            print(f"unknown policy version {args.only_new}", file=sys.stderr)
            return 2
        for case in golden["cases"].values():
            case["decisions"].update(decisions_for(case["findings"], case["components"], case["contexts"],
                                                   [args.only_new]))
        golden["versions"] = sorted(set(golden["versions"]) | {args.only_new})
    else:
        cases = {}
        for name, path in case_trees():
            case = record_case(path)
            case["contexts"] = contexts_for(case["components"])
            case["decisions"] = decisions_for(case["findings"], case["components"], case["contexts"],
                                              available_policies())
            cases[name] = case
        golden = {"catalogue_version": CATALOGUE_VERSION, "versions": available_policies(), "cases": cases}
    GOLDEN.write_text(golden_text(golden))
    print(f"recorded {len(golden['cases'])} case(s) x {len(golden['versions'])} version(s) into {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
