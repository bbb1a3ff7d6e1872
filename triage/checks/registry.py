"""The check registry: every check has a stable id, metadata, and a function from the analysed system to hits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from triage.findings import CATEGORIES, SEVERITY_RANK, Finding
from triage.graph import CapabilityGraph
from triage.parsers import ParsedSystem

MAX_EVIDENCE = 200
MAX_FINDINGS_PER_CHECK = 100
ID_PATTERN = re.compile(r"^[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*$")

# Shapes of credentials that may appear in any evidence line; masked whatever check quotes them.
_SECRET_SHAPES = re.compile(
    r"(sk-ant-[A-Za-z0-9_-]{8,}|sk-(proj-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|hf_[A-Za-z0-9]{20,}|"
    r"(sk|rk|pk)_(live|test)_[A-Za-z0-9]{10,}|glpat-[A-Za-z0-9_-]{16,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+|"
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----)")
_ASSIGNED_SECRET = re.compile(
    r"((?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|auth|credential|private[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s\"',;}{]{4,})", re.I)


def mask(value: str) -> str:
    if len(value) <= 6:
        return "*" * len(value)
    return value[:3] + "*" * min(len(value) - 5, 20) + value[-2:]


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)@", re.I)


def mask_evidence(text: str) -> str:
    """One line, credentials masked, invisible characters made visible, at most MAX_EVIDENCE characters."""
    text = _INVISIBLE.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", " ".join(text.split()))
    text = _SECRET_SHAPES.sub(lambda m: mask(m.group(0)), text)
    # a password in a URL (postgresql://user:secret@host): the password only, whatever it looks like
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + ("*" * 8 if not m.group(2).startswith(("${", "$", "<", "{{"))
                                                     else m.group(2)) + "@", text)
    text = _ASSIGNED_SECRET.sub(
        lambda m: m.group(1) + (m.group(2) if m.group(2).startswith(("${", "$", "<", "{{")) else mask(m.group(2))), text)
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
