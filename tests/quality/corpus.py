"""The labelled corpus (tests/fixtures/corpus) and how a scanner is scored on it.

Shared by the quality benchmark (tests/bench/bench_triage_quality.py) and the quick regression test
(tests/unit/triage_checks/test_corpus_quality.py), so both count the same way for us and for the peers.

A case "detects" category C when one of its findings at medium or higher maps to C. Per-category recall is
over the vulnerable cases labelled C; macro recall is the mean of the per-category recalls; case recall is
the share of vulnerable cases where at least one labelled category was detected; a benign case is a false
positive when it has any finding at medium or higher, whatever its category.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"

FORMATS = ("python-fastmcp", "python-mcp-lowlevel", "typescript-mcp", "javascript-mcp", "python-agent-framework",
           "claude-code-config", "mcp-client-config", "agent-skill", "claude-plugin", "github-actions",
           "codex-config", "instruction-file")
CATEGORIES = ("tool-poisoning", "command-injection", "sql-injection", "path-traversal", "ssrf", "deserialisation",
              "exfiltration", "irreversible-action", "sensitive-data", "secrets", "excessive-permissions",
              "supply-chain", "untrusted-content")
SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")
MEDIUM = SEVERITY_ORDER.index("medium")

# Our check ids -> corpus categories. A key ending in "." is a family prefix; an exact id wins over its family.
# The finding's own contract `categories` are deliberately not used: they are too coarse (e.g. every injection
# is "untrusted_input") to tell command injection from SQL injection.
CATEGORY_OF_CHECK: dict[str, tuple[str, ...]] = {
    # Families.
    "trifecta.": ("untrusted-content",),
    "agentjacking.": ("untrusted-content",),
    "approval.": ("excessive-permissions",),
    "privilege.": ("excessive-permissions",),
    "egress.": ("excessive-permissions",),
    "irreversible.": ("irreversible-action",),
    "provenance.": ("supply-chain",),
    "secrets.": ("secrets",),
    "instructions.": ("tool-poisoning",),
    "tools.": (),  # only the exact ids below count; a new tools.* id must be mapped on purpose
    "injection.": (),  # likewise
    "hooks.": (),  # hooks.silences-checks is not one of the corpus categories
    "code.": (),
    "meta.": (),  # an unparsed file is a problem report, not a flaw
    "dynamic.": (),  # dynamic probes are not part of the static corpus run
    # Exact ids.
    "hooks.network-call": ("exfiltration",),
    "hooks.exports-session-data": ("exfiltration",),
    "code.eval-dynamic": ("command-injection",),
    "code.shell-dynamic": ("command-injection",),
    "code.sql-built": ("sql-injection",),
    "code.workflow-expression": ("command-injection",),
    "tools.description-injection": ("tool-poisoning",),
    "tools.hidden-characters": ("tool-poisoning",),
    "tools.shadowing": ("tool-poisoning",),
    "tools.secret-in-description": ("secrets",),
    "tools.exfiltration": ("exfiltration",),
    "tools.irreversible-action": ("irreversible-action",),
    "tools.sensitive-output": ("sensitive-data",),
    "tools.env-to-child": ("excessive-permissions",),
    "tools.arbitrary-execution": ("excessive-permissions",),
    "tools.runtime-install": ("supply-chain",),
    "injection.command": ("command-injection",),
    "injection.code-exec": ("command-injection",),
    "injection.template": ("command-injection",),
    "injection.sql": ("sql-injection",),
    "injection.path-traversal": ("path-traversal",),
    "injection.deserialise": ("deserialisation",),
    "injection.ssrf": ("ssrf",),
}


def categories_of_check(check: str) -> tuple[str, ...]:
    """Corpus categories our check id stands for: the exact id, else its family, else none."""
    if check in CATEGORY_OF_CHECK:
        return CATEGORY_OF_CHECK[check]
    family = check.split(".", 1)[0] + "."
    return CATEGORY_OF_CHECK.get(family, ())


def at_least_medium(severity: str) -> bool:
    severity = (severity or "").lower()
    return severity in SEVERITY_ORDER and SEVERITY_ORDER.index(severity) >= MEDIUM


# --- the corpus ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flaw:
    category: str
    file: str
    line: int
    what: str


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    format: str
    benign: bool
    categories: tuple[str, ...]
    flaws: tuple[Flaw, ...]
    modelled_on: str


def load_label(label_path: Path) -> dict:
    return json.loads(label_path.read_text(encoding="utf-8"))


def load_cases(root: Path = CORPUS_DIR) -> list[Case]:
    """Every case directory with its sidecar label, sorted by name. A directory without a label is an error."""
    cases = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        label_path = root / f"{directory.name}.label.json"
        if not label_path.is_file():
            raise FileNotFoundError(f"corpus case {directory.name} has no label {label_path.name}")
        label = load_label(label_path)
        flaws = tuple(Flaw(category=f["category"], file=f["file"], line=int(f["line"]), what=f.get("what", ""))
                      for f in label.get("flaws", []))
        cases.append(Case(name=directory.name, path=directory, format=label["format"], benign=bool(label["benign"]),
                          categories=tuple(label.get("categories", [])), flaws=flaws,
                          modelled_on=label.get("modelled_on", "")))
    return cases


def label_problems(case: Case) -> list[str]:
    """What is wrong with a case's label (empty when it is well-formed)."""
    problems = []
    if case.format not in FORMATS:
        problems.append(f"unknown format {case.format!r}")
    unknown = sorted(set(case.categories) - set(CATEGORIES))
    if unknown:
        problems.append(f"unknown categories {unknown}")
    if len(set(case.categories)) != len(case.categories):
        problems.append("duplicate categories")
    if not case.modelled_on.strip():
        problems.append("modelled_on is empty")
    if case.benign and (case.categories or case.flaws):
        problems.append("a benign case lists categories or flaws")
    if not case.benign and not case.categories:
        problems.append("a vulnerable case lists no categories")
    if not case.benign and set(case.categories) != {f.category for f in case.flaws}:
        problems.append("categories and the flaws' categories differ")
    for flaw in case.flaws:
        target = case.path / flaw.file
        if flaw.category not in CATEGORIES:
            problems.append(f"flaw category {flaw.category!r} unknown")
        if not flaw.what.strip():
            problems.append(f"flaw at {flaw.file}:{flaw.line} says nothing")
        if not target.is_file():
            problems.append(f"flaw file {flaw.file} does not exist")
            continue
        lines = target.read_text(encoding="utf-8").splitlines()
        if not 1 <= flaw.line <= len(lines):
            problems.append(f"flaw line {flaw.file}:{flaw.line} outside 1..{len(lines)}")
        elif not lines[flaw.line - 1].strip():
            problems.append(f"flaw line {flaw.file}:{flaw.line} is blank")
    return problems


# --- scoring ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseResult:
    """What one scanner reported on one case, reduced to what the score needs."""

    detected: frozenset[str]  # corpus categories of findings at medium or higher
    flagged: bool  # any finding at medium or higher, whatever it maps to
    error: str = ""  # the scanner failed on this case (counts as nothing found)


def result_of(pairs: Iterable[tuple[Iterable[str], str]], *, error: str = "") -> CaseResult:
    """From (corpus categories, severity) per finding."""
    detected: set[str] = set()
    flagged = False
    for categories, severity in pairs:
        if at_least_medium(severity):
            flagged = True
            detected.update(categories)
    return CaseResult(detected=frozenset(detected), flagged=flagged, error=error)


def result_of_ours(findings: Iterable) -> CaseResult:
    """Our findings: ``triage.findings.Finding`` objects or CONTRACT.md dicts."""
    pairs = []
    for finding in findings:
        check = finding["check"] if isinstance(finding, Mapping) else finding.check
        severity = finding["severity"] if isinstance(finding, Mapping) else finding.severity
        pairs.append((categories_of_check(check), severity))
    return result_of(pairs)


@dataclass
class Score:
    per_category: dict[str, tuple[int, int]]  # category -> (detected cases, labelled vulnerable cases)
    vulnerable: int
    vulnerable_hit: int
    benign: int
    fp_cases: list[str]
    misses: dict[str, list[str]] = field(default_factory=dict)  # case -> labelled categories not detected

    def recall(self, category: str) -> float | None:
        hit, total = self.per_category.get(category, (0, 0))
        return hit / total if total else None

    @property
    def macro_recall(self) -> float:
        recalls = [hit / total for hit, total in self.per_category.values() if total]
        return sum(recalls) / len(recalls) if recalls else 0.0

    @property
    def case_recall(self) -> float:
        return self.vulnerable_hit / self.vulnerable if self.vulnerable else 0.0


def score(cases: Iterable[Case], results: Mapping[str, CaseResult]) -> Score:
    """Score one scanner; a case missing from ``results`` counts as nothing found."""
    empty = CaseResult(detected=frozenset(), flagged=False)
    per_category: dict[str, list[int]] = {}
    vulnerable = vulnerable_hit = benign = 0
    fp_cases: list[str] = []
    misses: dict[str, list[str]] = {}
    for case in sorted(cases, key=lambda c: c.name):
        result = results.get(case.name, empty)
        if case.benign:
            benign += 1
            if result.flagged:
                fp_cases.append(case.name)
            continue
        vulnerable += 1
        labelled = sorted(set(case.categories))
        found = [c for c in labelled if c in result.detected]
        if found:
            vulnerable_hit += 1
        for category in labelled:
            counts = per_category.setdefault(category, [0, 0])
            counts[1] += 1
            counts[0] += category in result.detected
        missing = [c for c in labelled if c not in result.detected]
        if missing:
            misses[case.name] = missing
    ordered = {c: (per_category[c][0], per_category[c][1]) for c in CATEGORIES if c in per_category}
    return Score(per_category=ordered, vulnerable=vulnerable, vulnerable_hit=vulnerable_hit, benign=benign,
                 fp_cases=fp_cases, misses=misses)
