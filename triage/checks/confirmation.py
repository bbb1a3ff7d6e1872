"""Reading what a sentence says about asking a human first: polarity and scope, not keywords.

"Don't add dependencies without asking" *requires* asking (a negated action qualified by "without asking" is a
double negative); "don't ask before deploying", "no need to confirm" and "proceed without asking" waive it. The
reader works clause by clause: a directive is found, then the negators that govern it in its own clause decide which
way it points, and a narrowing tail ("only when...", "unless...") keeps a rule that merely scopes confirmation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Clause boundaries: sentence ends, semicolons, colons, dashes between clauses, and "but"/"then" joins.
_CLAUSE = re.compile(r"(?<=[.!?;:])\s+|\s+[-–—]\s+|\s*;\s*|,?\s+\b(?:but|then|otherwise|instead)\b\s+|\n", re.I)
_NEGATOR = re.compile(r"\b(?:never|not|no|don'?t|do\s+not|doesn'?t|mustn'?t|must\s+not|shouldn'?t|should\s+not|"
                      r"can'?t|cannot|won'?t|avoid|refuse\s+to)\b|n't\b", re.I)
# "don't hesitate to..." and "never fail to..." encourage; their negator does not turn the clause around.
_ENCOURAGING = re.compile(r"\b(?:don'?t|do\s+not|never)\s+(?:hesitate|fail|forget|wait)\b", re.I)
_WAIVED_NEED = re.compile(r"\b(?:no\s+need|needn'?t|(?:do(?:es)?\s*n[o']t|never)\s+need|"
                          r"(?:do(?:es)?\s*n[o']t|never)\s+have\s+to|not\s+(?:necessary|required|needed))\b", re.I)
_ASK_WORDS = r"(?:ask(?:ing)?|confirm(?:ing|ation)?|approv(?:al|e|ing)|permission|check(?:ing)?\s+with|consent|" \
             r"sign[- ]?off|prompt(?:ing)?\s+(?:the\s+user|me|us)|wait(?:ing)?\s+for\s+(?:an?\s+)?" \
             r"(?:answer|reply|response|confirmation|approval|go[- ]ahead|the\s+user|me|us))"
# "... without asking / without confirmation / without waiting for approval"
_WITHOUT_ASK = re.compile(r"\bwithout\s+(?:first\s+|explicit(?:ly)?\s+|prior\s+|any\s+|further\s+|my\s+|the\s+user'?s?\s+|"
                          r"(?:stopping|pausing)\s+to\s+|needing\s+to\s+)*" + _ASK_WORDS, re.I)
# an ask verb itself. Bare "ask"/"confirm" are about going ahead only with what follows (see _ABOUT_GOING_AHEAD);
# the longer forms ("wait for approval", "request permission", "need approval") always are.
_ASK_VERB = re.compile(r"\b(?:(?P<bare>ask|confirm)|check\s+with\s+(?:the\s+user|me|us|anyone)|prompt\s+(?:the\s+user|me|us)|"
                       r"wait\s+for\s+(?:an?\s+|the\s+user'?s?\s+|my\s+)?(?:answer|reply|response|confirmation|approval|"
                       r"go[- ]ahead|the\s+user|me|us)|"
                       r"(?:request|seek|get|obtain|need|require)\s+(?:(?:an?|the|any|explicit|human|my|your|prior|written)\s+)?(?:approval|permission|confirmation|consent|"
                       r"sign[- ]?off))\b", re.I)
# After a bare "ask"/"confirm": what shows it is about asking first ("for confirmation", "first", "before ...", the end
# of the clause), not "don't ask the user for their password" or "never confirm a payment".
_ABOUT_GOING_AHEAD = re.compile(r"^\W*(?:(?:with\s+)?(?:the\s+user|me|us|anyone|them)\s*)?(?:$|[,.;:!]|for\s+(?:\w+\s+)?"
                                r"(?:confirmation|permission|approval|consent|sign[- ]?off|the\s+go[- ]ahead)|"
                                r"first\b|before\b|whether\b|if\b|again\b|each\s+time|every\s+time|"
                                r"at\s+(?:any|each|every)\s+step)", re.I)
_SKIP_STEP = re.compile(r"\b(?:skip|bypass|disable|turn\s+off|switch\s+off)\s+(?:all\s+|any\s+|the\s+|every\s+)?"
                        r"(?:confirmations?|approvals?|(?:permission|confirmation|approval)\s+(?:prompts?|checks?|steps?)|"
                        r"reviews?)\b", re.I)
_ALWAYS_YES = re.compile(r"\b(?:always\s+(?:approve|say\s+yes|answer\s+yes|accept)|auto[- ]?(?:approve|accept)\w*|"
                         r"yolo\s+mode)\b", re.I)
# Flags that switch a harness's or tool's own prompt off.
_FLAG = re.compile(r"--dangerously-skip-permissions|--dangerously-bypass-approvals-and-sandbox|--no-verify\b|"
                   r"(?<![\w-])-auto-approve\b|--yolo\b", re.I)
# A tail that narrows the waiver to a stated case: "proceed without asking only when the prompt names a file".
_NARROWED = re.compile(r"\b(?:only\s+(?:when|if|for)|unless|except)\b", re.I)
# "Always ask / must confirm / require approval before..." states the opposite, whatever else the clause says.
_REQUIRES = re.compile(r"\b(?:always|must|should|need\s+to|have\s+to|required?\s+to)\s+(?:first\s+)?" + _ASK_WORDS, re.I)


@dataclass(frozen=True)
class Waiver:
    """A clause that tells the agent to act without asking a human first."""

    start: int  # offset of the clause in the analysed text
    end: int
    at: int  # offset of the words that waive asking
    clause: str
    how: str  # without-asking | no-asking | skip-step | always-yes | flag


# A newline inside a paragraph is a soft wrap: "Never deploy to production\nwithout asking me" is one sentence. A
# newline before a blank line, a list item, a heading, a table row or a fence ends the clause.
_SOFT_WRAP = re.compile(r"\n(?![ \t]*(?:[-*+][ \t]|\d+[.)][ \t]|#|\||`{3}|~{3}|\n|$))")


def _clauses(text: str) -> list[tuple[int, str]]:
    text = _SOFT_WRAP.sub(" ", text)  # same length: offsets still point into the original
    found, position = [], 0
    for match in _CLAUSE.finditer(text):
        found.append((position, text[position:match.start()]))
        position = match.end()
    found.append((position, text[position:]))
    return [(start, clause) for start, clause in found if clause.strip()]


def negated(before: str) -> bool:
    """A negator in the clause before the directive turns it around (an encouraging 'don't hesitate' does not)."""
    cleaned = _ENCOURAGING.sub(" ", before)
    return _NEGATOR.search(cleaned) is not None


def _requires(clause: str) -> bool:
    """The clause itself says to ask ("always confirm", "you must ask"), not negated ("no need to confirm")."""
    return any(not negated(clause[max(0, m.start() - 24):m.start()]) for m in _REQUIRES.finditer(clause))


def _waiver_in(clause: str) -> tuple[str, int] | None:
    """(how, offset in clause) of the first waiver the clause states, or None when it states none or requires asking."""
    match = _FLAG.search(clause)
    if match and not negated(clause[:match.start()]):
        return "flag", match.start()
    match = _WITHOUT_ASK.search(clause)
    if match and not _NARROWED.search(clause[match.end():]):
        before = clause[:match.start()]
        # "never deploy without asking" / "don't add deps without asking": the negated act must wait for a yes;
        # "you don't need to stop, go ahead without asking" is split into two clauses before it reaches here
        if not negated(before) or _WAIVED_NEED.search(before):
            return "without-asking", match.start()
    for match in _ASK_VERB.finditer(clause):
        before, after = clause[:match.start()], clause[match.end():]
        words = before.split()
        governed = " ".join(words[-6:])  # the negator must be close: "do not stop to ask", "no need to confirm"
        if not (_WAIVED_NEED.search(governed) or negated(governed)):
            continue
        if _NARROWED.search(after) or _requires(clause):
            continue
        if match.group("bare") and not (_WAIVED_NEED.search(governed) or _ABOUT_GOING_AHEAD.match(after)):
            continue  # "don't ask the user for their password", "never confirm a payment": about something else
        return "no-asking", match.start()
    match = _SKIP_STEP.search(clause)
    if match and not negated(clause[:match.start()]) and not _NARROWED.search(clause[match.end():]):
        return "skip-step", match.start()
    match = _ALWAYS_YES.search(clause)
    if match and not negated(clause[:match.start()]) and not _NARROWED.search(clause[match.end():]):
        return "always-yes", match.start()
    return None


def waivers(text: str) -> list[Waiver]:
    """Every clause of ``text`` that waives asking a human first."""
    found = []
    for start, clause in _clauses(text):
        result = _waiver_in(clause)
        if result is not None:
            how, offset = result
            found.append(Waiver(start, start + len(clause), start + offset, " ".join(clause.split()), how))
    return found


def waives_confirmation(text: str) -> bool:
    return bool(waivers(text))


# What a waiver may be scoped to without taking a human out of anything consequential: the edit-test loop.
_ROUTINE = re.compile(r"\b(?:tests?|testing|pytest|lint\w*|format\w*|typecheck\w*|type-check\w*|build(?:ing)?|"
                      r"compil\w+|read(?:ing)?|search\w*|grep|list(?:ing)?|view(?:ing)?|inspect\w*|explor\w+|"
                      r"run\s+make\s+check|checks?)\b", re.I)
_CONSEQUENTIAL = re.compile(r"\b(?:push\w*|deploy\w*|delet\w+|remov\w+|rm|drop\w*|merg\w+|publish\w*|releas\w+|"
                            r"install\w*|pay\w*|send\w*|email\w*|post\w*|commit\w*|force\w*|prod\w*|reset\w*|"
                            r"migrat\w+|upload\w*|transfer\w*|everything|any(?:thing)?|all|commands?|steps?|changes?)\b",
                            re.I)


def routine_only(waiver: Waiver) -> bool:
    """The waiver names only edit-test-loop actions ("no need to ask before running the tests")."""
    return waiver.how != "flag" and bool(_ROUTINE.search(waiver.clause)) and not _CONSEQUENTIAL.search(waiver.clause)
