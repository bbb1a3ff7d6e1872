"""Instruction files (CLAUDE.md, AGENTS.md, Cursor rules): what they tell the agent, and what they hide."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks import confirmation
from triage.checks.registry import AnalysisContext, Hit, check

# Zero-width, bidirectional-override and Unicode tag characters: invisible to a reviewer, read by the model.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
_HTML_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")


def _fenced_lines(file) -> set[int]:  # noqa: ANN001 - SourceFile
    """1-based lines inside fenced code blocks: an HTML comment there is example markup the model reads as code."""
    inside, lines = False, set()
    for number, line in enumerate(file.lines, start=1):
        if _FENCE.match(line):
            inside = not inside
            continue
        if inside:
            lines.add(number)
    return lines
_IMPERATIVE = re.compile(r"\b(ignore|always|never|run|execute|send|upload|post|curl|delete|push|read|exfiltrat\w*|"
                         r"do not tell|don'?t mention)\b", re.I)
_REMOTE_IMPORT = re.compile(r"(^|\s)@https?://\S+|(fetch|load|follow|download)\s+(the\s+)?(latest\s+)?instructions\s+"
                            r"from\s+https?://\S+", re.I | re.M)


@check("instructions.skip-confirmation", title="Instructions tell the agent not to ask for confirmation",
       severity="medium", categories=("privilege_scope",),
       remediation="Remove standing instructions to skip confirmation; enforce what may run unattended with "
                   "permission rules, not prose.",
       rationale="Prose instructions can override the habits that keep a human in the loop.")
def skip_confirmation(context: AnalysisContext) -> Iterator[Hit]:
    for file in context.system.instructions:
        # read clause by clause, with negation and scope: "don't add dependencies without asking" requires asking
        for waiver in confirmation.waivers(file.text):
            number = file.text.count("\n", 0, waiver.at) + 1
            # a waiver for the edit-test loop only ("run the tests without asking") is style, not a lost brake
            yield Hit(file.path, number, waiver.clause, severity="low" if confirmation.routine_only(waiver) else None)


@check("instructions.hidden-content", title="Instruction files hide text from human reviewers",
       severity="high", categories=("untrusted_input", "provenance"),
       remediation="Strip invisible Unicode and HTML comments from instruction files, and lint them in CI.",
       rationale="Invisible characters and comments are read by the model but not seen in review: a classic "
                 "rules-file backdoor.")
def hidden_content(context: AnalysisContext) -> Iterator[Hit]:
    for file in context.system.instructions:
        for number, line in enumerate(file.lines, start=1):
            found = _INVISIBLE.findall(line)
            if found:
                codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in found}))
                yield Hit(file.path, number, f"{len(found)} invisible character(s) ({codes[:60]})")
        fenced = _fenced_lines(file) if "<!--" in file.text else set()
        for match in _HTML_COMMENT.finditer(file.text):
            number = file.text.count("\n", 0, match.start()) + 1
            if _IMPERATIVE.search(match.group(1)) and number not in fenced:
                yield Hit(file.path, number, "HTML comment with instructions: " + match.group(1).strip()[:120])


@check("instructions.remote-import", title="Instructions are loaded from a remote URL",
       severity="medium", categories=("provenance", "untrusted_input"),
       remediation="Vendor the instructions into the repository and review changes to them like code.",
       rationale="Whoever controls the URL rewrites the agent's standing orders.")
def remote_import(context: AnalysisContext) -> Iterator[Hit]:
    for file in context.system.instructions:
        for match in _REMOTE_IMPORT.finditer(file.text):
            yield Hit(file.path, file.text.count("\n", 0, match.start()) + 1, match.group(0).strip())
