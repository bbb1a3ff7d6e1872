"""The check registry: every check has a stable id, metadata, and a function from the analysed system to hits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from intake.redaction import mask_secrets
from triage.findings import CATEGORIES, SEVERITY_RANK, Finding
from triage.graph import CapabilityGraph
from triage.parsers import ParsedSystem

MAX_EVIDENCE = 200
MAX_FINDINGS_PER_CHECK = 100
ID_PATTERN = re.compile(r"^[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*$")

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")


def mask_evidence(text: str) -> str:
    """One line, credentials masked, invisible characters made visible, at most MAX_EVIDENCE characters."""
    text = _INVISIBLE.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", " ".join(text.split()))
    text = mask_secrets(text)  # vendor tokens, URL passwords, values of secret-ish names
    if len(text) > MAX_EVIDENCE:
        text = text[: MAX_EVIDENCE - 1] + "…"
    return text


@dataclass(frozen=True)
class Hit:
    path: str
    line: int | None
    evidence: str
    severity: str | None = None  # overrides the check's default when the context makes it worse or milder
    categories: tuple[str, ...] | None = None  # overrides the check's categories when one hit bears on fewer/more
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class AnalysisContext:
    system: ParsedSystem
    graph: CapabilityGraph
    cache: dict = field(default_factory=dict)  # results shared between checks of one analysis


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: str
    categories: tuple[str, ...]
    remediation: str
    rationale: str
    run: Callable[[AnalysisContext], Iterable[Hit]]

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    def findings(self, context: AnalysisContext) -> list[Finding]:
        seen: set[tuple] = set()
        found = []
        for hit in self.run(context):
            evidence = mask_evidence(hit.evidence)
            key = (hit.path, hit.line, evidence)
            if key in seen:
                continue
            seen.add(key)
            categories = hit.categories or self.categories
            found.append(Finding(self.id, self.title, hit.severity or self.severity, categories, hit.path,
                                 hit.line, evidence, self.remediation, dict(hit.extra)))
        if len(found) > MAX_FINDINGS_PER_CHECK:
            # A hostile tree can repeat one pattern a million times; report the first ones and count the rest.
            found.sort(key=Finding.sort_key)
            rest = len(found) - MAX_FINDINGS_PER_CHECK
            lowest = max((f.severity for f in found[MAX_FINDINGS_PER_CHECK:]), key=SEVERITY_RANK.__getitem__)
            found = found[:MAX_FINDINGS_PER_CHECK] + [Finding(
                self.id, self.title, lowest, self.categories, "", None,
                f"{rest} more finding(s) of this check not listed", self.remediation, {"omitted": rest})]
        return found


CHECKS: dict[str, Check] = {}


def check(id: str, *, title: str, severity: str, categories: tuple[str, ...], remediation: str,  # noqa: A002
          rationale: str) -> Callable:
    """Register a check function under a stable id; ids never change meaning once published."""
    if not ID_PATTERN.match(id):
        raise ValueError(f"check id {id!r} must look like family.name")
    if id in CHECKS:
        raise ValueError(f"check id {id!r} registered twice")
    if severity not in SEVERITY_RANK or not categories or set(categories) - set(CATEGORIES):
        raise ValueError(f"check {id!r} has a bad severity or categories")

    def register(func: Callable[[AnalysisContext], Iterable[Hit]]) -> Callable:
        CHECKS[id] = Check(id, title, severity, tuple(categories), remediation, rationale, func)
        return func

    return register
