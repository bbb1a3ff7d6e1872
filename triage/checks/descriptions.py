"""Description analysis: what tool, resource and prompt descriptions (and instruction files) tell the model.

Pure functions over text, no registration. Matching runs on a normalised copy (NFKC, zero-width and bidi characters
removed, Unicode tag characters read as the ASCII they encode) so that "I\u200bMPORTANT", fullwidth letters and
tag-smuggled text match like plain text. Every match maps back to an offset in the original text, whose excerpt
the evidence quotes; ``registry.mask_evidence`` then makes invisible characters visible.

The patterns describe *semantics* (hiding from the user, reading credentials, smuggling data through a parameter,
redirecting other tools), not particular strings.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from intake.redaction import ASSIGNED_SECRET, NAMED_SECRET, TOKEN_SHAPES
from triage.checks.registry import _INVISIBLE

MAX_DESCRIPTION = 20_000  # characters of one description analysed
MAX_INSTRUCTIONS = 200_000  # characters of one instruction file analysed
TAG_BLOCK = range(0xE0000, 0xE0080)
_TAG_ASCII = range(0xE0020, 0xE007F)  # tag characters that spell printable ASCII (ASCII smuggling)

# Kinds of poisoning signal, in reporting order.
SIGNAL_KINDS = ("hidden-block", "encoded-instruction", "addresses-model", "hide-from-user", "ignore-previous",
                "chat-marker", "sensitive-read", "side-channel", "send-out")
# Signals that ask the model to take or move data: with hiding, a description is critical.
ASKING = frozenset({"sensitive-read", "side-channel", "send-out"})
# Instruction files are prose for the agent: only these strong signals count there.
STRICT_KINDS = frozenset({"hide-from-user", "ignore-previous", "chat-marker", "exfiltrate"})


@dataclass(frozen=True)
class Normalised:
    text: str
    origin: tuple[int, ...] | None  # origin[i]: offset in the original of normalised character i; None = identity

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        if not self.origin:
            return 0, 0
        last = max(end - 1, start)
        return self.origin[min(start, len(self.origin) - 1)], self.origin[min(last, len(self.origin) - 1)] + 1


@dataclass(frozen=True)
class Signal:
    kind: str
    start: int  # offsets in the original text
    end: int


def normalise(text: str) -> Normalised:
    """NFKC per character, invisible characters dropped, tag characters read as their ASCII."""
    if text.isascii():
        return Normalised(text, None)
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        code = ord(char)
        if code in _TAG_ASCII:
            folded = chr(code - 0xE0000)
        elif _INVISIBLE.match(char):
            continue
        else:
            folded = unicodedata.normalize("NFKC", char) if code > 127 else char
        chars.append(folded)
        origin.extend([index] * len(folded))
    return Normalised("".join(chars), tuple(origin))


# --- patterns ---------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n\s*\n|\n(?=\s*[-*#>])")
# A negation governing the verb that follows it ("never reads", "does not send"), not one two clauses back.
_NEGATION = re.compile(r"\b(?:not|never|no|don'?t|doesn'?t|won'?t|cannot|can'?t|mustn'?t|shouldn'?t)"
                       r"(?:\s+(?!forget\b)[\w'-]+){0,2}\s*$", re.I)
# Within one sentence: a dot inside a path or host name (~/.ssh, mcp.json, evil.example) does not end it.
_IN = r"(?:[^.!?\n]|[.!?](?=\S))"

_HIDDEN_BLOCK = re.compile(
    r"<\s*/?\s*(important|hidden|secret|system|instructions?|admin|override|critical|"
    r"note[ _-]?to[ _-]?(?:the[ _-]?)?(?:ai|assistant|model|llm|agent)|ai[ _-]?(?:instructions?|only)|"
    r"(?:assistant|model|llm|agent)[ _-]?only|for[ _-]?(?:the[ _-]?)?(?:ai|model|llm|assistant))\s*>", re.I)
_HIDING_TAGS = frozenset({"hidden", "secret"})
# A description that turns to address the model ("Note for the assistant:") is giving it orders.
_ADDRESSES_MODEL = re.compile(r"\b(?:note|message|instructions?|reminder)\s+(?:for|to)\s+(?:the\s+|any\s+)?"
                              r"(?:assistant|ai|model|llm|agent|claude|gpt)s?\s*:", re.I)

_HIDE = re.compile("|".join([
    r"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|shouldn'?t|without|(?:no|there\s+is\s+no)\s+need\s+to|"
    r"(?:it\s+is\s+)?not\s+necessary\s+to)\s+(?:ever\s+)?"
    r"(?:tell(?:ing)?|mention(?:ing)?|inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|"
    rf"let(?:ting)?)\b{_IN}{{0,40}}?\b(?:user|users|human|operator|anyone)\b",
    r"\b(?:the\s+)?(?:user|human)s?\s+(?:must|should|need|needs|may|does|do|will|would)\s*(?:not|n't)\s+"
    r"(?:need\s+to\s+)?(?:know|learn|see|notice|find\s+out|be\s+(?:told|informed|notified|shown|aware|bothered))",
    r"\b(?:does|do|need|needs|should|must)\s*(?:not|n't)\s+(?:need\s+to\s+)?be\s+(?:shown|told|mentioned|displayed|"
    r"reported|surfaced|revealed)\s+to\s+(?:the\s+)?(?:user|human)s?\b",
    r"\b(?:do\s+not|don'?t|never)\s+(?:list|include|mention|report|show|describe|record|surface)\s+"
    r"(?:this|these|that|the\s+(?:above|extra|additional|first))\s+(?:step|action|call|instruction|request|part)s?\b",
    r"\b(?:do\s+not|don'?t|never)\s+(?:tell|inform|notify)\s+(?:[\w'-]+\s+){1,2}?about\s+(?:this|it|these|that)\b",
    r"\bwithout\s+(?:the\s+)?(?:user|human)(?:'s)?\s+(?:knowing|knowledge|noticing|seeing|awareness)",
    rf"\b(?:keep|hide|conceal)\b{_IN}{{0,40}}?\bfrom\s+(?:the\s+)?(?:user|human)s?\b",
    r"\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose|acknowledge|narrate|say\s+anything\s+about)\s+"
    r"(?:that\s+you\b|this\b|these\b|that\b|the\s+(?:above|following|previous)\b|any\s+of\s+this\b)",
    r"\b(?:silently|secretly|covertly|quietly)\s+(?:also\s+)?(?:send|forward|upload|post|copy|include|add|read|"
    r"collect|exfiltrate|bcc|cc|email|attach)\b",
]), re.I)

_IGNORE_PREVIOUS = re.compile("|".join([
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+)?"
    r"(?:previous|prior|above|earlier|preceding|original|system|safety|other)\s+"
    r"(?:instructions?|prompts?|rules|directives|guidelines|messages|constraints|guardrails)",
    r"\b(?:new|updated|real|actual)\s+(?:system\s+)?instructions\s*:",
    r"\byou\s+are\s+now\s+(?:in\s+)?(?:developer|admin|god|jailbreak|dan|unrestricted|unfiltered)\b",
]), re.I)

_CHAT_MARKER = re.compile(
    r"\[/?INST\]|<\|\s*im_(?:start|end|sep)\s*\|>|<\|\s*(?:system|user|assistant|endoftext|eot_id|start_header_id|"
    r"end_header_id)\s*\|>|<<\s*/?SYS\s*>>|"
    r"(?:^|\n)[ \t]*#{1,4}[ \t]*(?:system|assistant|instructions?)[ \t]*(?:prompt|message)?[ \t]*:|"
    r"(?:^|\n)[ \t]*(?-i:SYSTEM|ASSISTANT)[ \t]*:", re.I)

# Files whose contents are credentials or agent configuration: naming one to the model is asking for it.
_FILE_TARGET = (
    r"(?:(?:~|\$HOME|%USERPROFILE%)/)?\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|(?<![\w.])\.env(?:\.\w+)?\b|"
    r"\.aws/(?:credentials|config)\b|\.kube/config\b|\.docker/config\.json|\.git-credentials\b|(?<![\w.])\.netrc\b|"
    r"(?<![\w.])\.npmrc\b|(?<![\w.])\.pypirc\b|\bmcp\.json\b|\bclaude_desktop_config\b|\.cursor/|\.claude/|"
    r"/etc/(?:passwd|shadow)\b|\bcredentials\.json\b|\bservice[_-]?account[\w.-]*\.json|\bkeychain\b|"
    r"\bwallet\.dat\b|\.gnupg\b|\.(?:bash|zsh)_history\b")
_SECRET_TARGET = (
    r"\b(?:credentials?|api[\s_-]?keys?|access[\s_-]?(?:keys?|tokens?)|auth(?:entication)?[\s_-]?tokens?|"
    r"bearer\s+tokens?|session\s+(?:tokens?|cookies?)|private[\s_-]?keys?|ssh[\s_-]?keys?|passwords?|passphrases?|"
    r"secrets|seed\s+phrases?|environment\s+variables|env\s+vars?|conversation\s+history|chat\s+history|"
    r"system\s+prompt|previous\s+messages|(?:the\s+)?user'?s\s+(?:messages|emails|files|data))\b")
_READ = (r"\b(?:read|open|cat|load|fetch|retrieve|get|collect|gather|grab|extract|copy|dump|access|obtain|"
         r"look\s+up|locate|list)\b")
_SEND = r"\b(?:send|forward|upload|post|e-?mail|transmit|exfiltrate|leak|bcc|cc|curl|wget)\b"
_INCLUDE = r"\b(?:pass|include|put|insert|add|append|attach|embed|supply|provide|place|fill|encode)\b"
_PARAM_SLOT = (r"\b(?:as|in|into|inside|within|via|using|to)\s+(?:the\s+|a\s+)?(?:[`'\"][\w.-]+[`'\"]|"
               r"[\w-]+\s+(?:parameter|argument|param|arg|field)|(?:parameter|argument|param|arg|field)\s+[`'\"]?\w+)")

# Substrings every file target / every smuggled-data word contains: a fast test before the patterns run.
_FILE_HINTS = (".ssh", "id_", ".env", ".aws/", ".kube/", ".docker/", "credentials", ".netrc", ".npmrc", ".pypirc",
               "mcp.json", "claude_desktop_config", ".cursor/", ".claude/", "/etc/", "service", "keychain", "wallet",
               ".gnupg", "_history")
_DATA_HINTS = (*_FILE_HINTS, "credential", "key", "token", "cookie", "passw", "passphrase", "secret", "seed",
               "environment", "env var", "history", "prompt", "messages", "user", "content")


def _hinted(text: str, hints: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in hints)


# Each "verb ... target" signal is found target first (targets are rare), then the verb is looked for in the words
# before it within the sentence: the work stays linear however often a hostile text repeats the verbs.
_FILE_TARGET_RE = re.compile(_FILE_TARGET, re.I)
_FILE_OR_SECRET = re.compile(rf"{_FILE_TARGET}|{_SECRET_TARGET}", re.I)
_READ_RE = re.compile(_READ, re.I)
_SEND_RE = re.compile(_SEND, re.I)
_INCLUDE_RE = re.compile(_INCLUDE, re.I)
_CONTENTS_OF = re.compile(r"\bcontents?\s+of\b", re.I)
_PARAM_SLOT_RE = re.compile(_PARAM_SLOT, re.I)
_SIDE_CHANNEL_NAME = re.compile(r"\b(?:side[\s_-]?note|sidenote|side[\s_-]?channel|hidden[\s_-]?(?:param(?:eter)?|"
                                r"field|arg(?:ument)?))\b", re.I)
_SMUGGLED_DATA = re.compile(rf"{_FILE_TARGET}|{_SECRET_TARGET}|\b(?:its|their|the\s+file'?s?)\s+contents?\b", re.I)
# Anchored at the start of the address and bounded, so a long run of word characters cannot make it quadratic.
_EMAIL = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
_EMAIL_RE = re.compile(_EMAIL)
_DESTINATION = re.compile(rf"https?://[^\s\"'<>]+|{_EMAIL}|\bwebhook\b", re.I)
_SENT_TO = re.compile(rf"\b(?:to|at)\s+(?:https?://[^\s\"'<>]+|{_EMAIL})", re.I)
_COPY_WORD = re.compile(r"\b(?:bcc|cc)\b", re.I)
_SEND_OUT_CONTEXT = re.compile(rf"\b(?:also|always|additionally|copy|copies|bcc|cc|every|all)\b|{_FILE_TARGET}|"
                               rf"{_SECRET_TARGET}", re.I)
_EXFIL_SEND = re.compile(rf"{_SEND}|{_INCLUDE}{_IN}{{0,60}}?\b(?:as|in|into)\s+(?:the\s+|a\s+)?"
                         r"[`'\"]?[\w-]*[`'\"]?\s*(?:parameter|argument|param|arg)\b", re.I)
_PRIVATE_NOUN = re.compile(r"\b(?:e-?mails?|messages|conversations?|(?:chat|conversation|call)\s+logs?|history|"
                           r"passwords?|credentials?|codes|card\s+numbers|contacts|documents|keys|tokens|secrets)\b",
                           re.I)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
MAX_MATCHES = 64  # per pattern and text: one finding per description, a few per instruction file


# Shadowing: directions about how other tools behave, or which tool runs first.
_SHADOW_GENERIC = re.compile("|".join([
    r"\b(?:before|after|when|whenever|while|each\s+time|every\s+time)\s+(?:you\s+)?(?:are\s+)?"
    r"(?:using|calling|invoking|running|use|call|invoke|run)\s+(?:any|all|every|other|another|the\s+other|any\s+other)"
    r"\s+(?:[\w-]+\s+){0,2}?tools?\b",
    r"\b(?:instead\s+of|rather\s+than)\s+(?:using\s+|calling\s+)?(?:the\s+|any\s+)?(?:other\s+)?[`'\"]?[\w.-]+[`'\"]?"
    r"\s+tools?\b",
    r"\bthis\s+tool\s+(?:must|should|has\s+to|needs\s+to|shall)\s+(?:always\s+)?be\s+"
    r"(?:called|used|invoked|run|executed)\s+(?:first|before)",
    r"\b(?:always\s+|first\s+)?(?:call|use|invoke|run)\s+this\s+tool\s+(?:first|before\s+(?:any|all|every|using|calling"
    r"|other))",
    r"\b(?:all|every|any)\s+other\s+tools?\s+(?:must|should|shall|will|need\s+to)\b",
    r"\b(?:change|changes|modify|modifies|override|overrides|alter|alters|replace|replaces|intercept|intercepts)\s+"
    r"(?:the\s+)?(?:behaviou?r|way|output|results?)\s+(?:of\s+)?(?:[\w`'\"-]+\s+){0,3}?tools?\b",
    r"\b(?:other|another)\s+(?:mcp\s+)?(?:server|mcp)'?s?\s+tools?\b",
    r"\btools?\s+(?:of|from|in|on)\s+(?:any|every|all|another|other)\s+(?:other\s+)?(?:mcp\s+)?servers?\b",
    r"\b[\w-]+\s+(?:mcp\s+)?server'?s\s+[`'\"]?[\w.-]+[`'\"]?\s+tool\b",
    r"\b(?:supersedes?|replaces?|overrides?|takes?\s+precedence\s+over)\s+(?:the\s+)?(?:[\w'-]+\s+){0,3}?tools?\b",
]), re.I)
# "When the X tool is called ...": a direction about another tool, named or not.
_SHADOW_WHEN_TOOL = re.compile(
    r"\b(?:when|whenever|each\s+time|every\s+time|if|before|after)\s+(?:the\s+|a\s+|you\s+(?:call|use)\s+)?"
    r"[`'\"]?([\w.-]+)[`'\"]?\s+(?:tool\s+)?(?:is|gets|has\s+been|was)\s+(?:used|called|invoked|run|executed)", re.I)
_CALLED = re.compile(r"\b(?:used|called|invoked|run|executed)\b", re.I)
# Directions that change what another tool does (not merely when to call it), for a same-server tool named: tools
# of one server may refer to each other ("use the id returned by list_workspaces").
_SHADOW_STRONG = re.compile(r"\b(?:bcc|cc|redirect|forward|override|replace|also\s+(?:send|add|include|copy|call)|"
                            r"always\s+(?:add|include|send|bcc|cc|forward|append|attach|copy)|"
                            r"change\s+the\s+(?:recipient|destination|address|url))\b", re.I)
_SHADOW_ANY = re.compile(r"\b(?:when|whenever|before|after|instead|rather\s+than|always|never|must|should|also|"
                         r"first|bcc|cc|redirect|forward|override|replace)\b", re.I)
_IDENTIFIER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+|[a-z]+(?:[A-Z][a-z0-9]+)+")


# --- analysis ---------------------------------------------------------------------------------------------

def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence (or list item, or paragraph) around [start, end) in ``text``."""
    before = 0
    for match in _SENTENCE_END.finditer(text, max(0, start - 400), start):
        before = match.end()
    after = _SENTENCE_END.search(text, end)
    return before, after.start() if after else len(text)


def _negated(text: str, start: int) -> bool:
    sentence_start, _ = _sentence(text, start, start)
    window = text[max(sentence_start, start - 40):start]
    return bool(_NEGATION.search(window))


def _matches(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    return list(islice(pattern.finditer(text), MAX_MATCHES))


def _verb_before(text: str, start: int, verbs: re.Pattern[str], window: int) -> int | None:
    """Offset of the verb nearest before ``start`` in the same sentence, at most ``window`` characters back."""
    sentence_start, _ = _sentence(text, start, start)
    nearest = None
    for match in verbs.finditer(text, max(sentence_start, start - window), start):
        nearest = match.start()
    return nearest


def _verb_target(text: str, targets: re.Pattern[str], verbs: re.Pattern[str], window: int) -> list[tuple[int, int]]:
    """(verb start, target end) for each target with a verb before it that no negation governs."""
    ends: dict[int, int] = {}  # one span per verb: "read ~/.ssh/id_rsa" names two targets
    for target in _matches(targets, text):
        verb = _verb_before(text, target.start(), verbs, window)
        if verb is not None and not _negated(text, verb):
            ends[verb] = max(ends.get(verb, 0), target.end())
    return sorted(ends.items())


def _in_sentence(text: str, pattern: re.Pattern[str], start: int, end: int) -> bool:
    left, right = _sentence(text, start, end)
    return pattern.search(text, left, right) is not None


def _signals_in(norm: Normalised) -> list[tuple[str, int, int]]:
    """(kind, start, end) in normalised offsets."""
    text = norm.text
    found: list[tuple[str, int, int]] = []
    for match in _matches(_HIDDEN_BLOCK, text):
        kind = "hide-from-user" if match.group(1).lower() in _HIDING_TAGS else "hidden-block"
        found.append((kind, match.start(), match.end()))
    found += [("addresses-model", m.start(), m.end()) for m in _matches(_ADDRESSES_MODEL, text)]
    found += [("hide-from-user", m.start(), m.end()) for m in _matches(_HIDE, text)]
    found += [("ignore-previous", m.start(), m.end()) for m in _matches(_IGNORE_PREVIOUS, text)]
    found += [("chat-marker", m.start(), m.end()) for m in _matches(_CHAT_MARKER, text)]
    found += [("side-channel", m.start(), m.end()) for m in _matches(_SIDE_CHANNEL_NAME, text)]
    # The costlier searches run only when the cheap part they need is present at all.
    if _hinted(text, _FILE_HINTS):
        found += [("sensitive-read", *span) for span in _verb_target(text, _FILE_TARGET_RE, _READ_RE, 80)]
        found += [("sensitive-read", *span) for span in _verb_target(text, _FILE_TARGET_RE, _CONTENTS_OF, 40)]
    if _hinted(text, _DATA_HINTS):
        found += [("side-channel", start, end) for start, end in _verb_target(text, _PARAM_SLOT_RE, _INCLUDE_RE, 70)
                  if _in_sentence(text, _SMUGGLED_DATA, start, end)]
    if "@" in text or "://" in text or "webhook" in text.lower():
        found += [("send-out", start, end) for start, end in _verb_target(text, _DESTINATION, _SEND_RE, 90)
                  if _in_sentence(text, _SEND_OUT_CONTEXT, start, end)]
        for email in _matches(_EMAIL_RE, text):
            copy = _COPY_WORD.search(text, max(0, email.start() - 80), min(len(text), email.end() + 40))
            if copy and _in_sentence(text, _COPY_WORD, email.start(), email.end()) and not _negated(text, copy.start()):
                found.append(("send-out", min(copy.start(), email.start()), max(copy.end(), email.end())))
    return found


_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,4000}={0,2}(?![A-Za-z0-9+/=])")
_DESCRIPTION_COMMENT = re.compile(r"<!--(.{1,2000}?)-->", re.S)


def _decoded_text(blob: str) -> str:
    """The text a base64 blob encodes, or "" when it is not mostly printable text (a hash, a key, binary)."""
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except (binascii.Error, ValueError):
        return ""
    decoded = raw.decode("utf-8", errors="replace")
    printable = sum(c.isprintable() or c.isspace() for c in decoded)
    return decoded if decoded and printable / len(decoded) > 0.95 and " " in decoded else ""


def poisoning_signals(text: str) -> list[Signal]:
    """Instructions to the model in a tool/resource/prompt description, in text order (original offsets). An
    instruction encoded in base64 counts as itself (the model decodes it); an HTML comment is a hidden block (a
    rendered view does not show it)."""
    norm = normalise(text[:MAX_DESCRIPTION])
    found = _signals_in(norm)
    found += [("hidden-block", m.start(), m.end()) for m in _matches(_DESCRIPTION_COMMENT, norm.text)
              if re.search(r"[A-Za-z]{3}", m.group(1))]
    for blob in _matches(_BASE64_BLOB, norm.text)[:8]:
        decoded = _decoded_text(blob.group(0))
        if decoded and _signals_in(normalise(decoded[:MAX_DESCRIPTION])):
            found.append(("encoded-instruction", blob.start(), blob.end()))
    return _to_original(norm, found)


def instruction_signals(text: str) -> list[Signal]:
    """The strong signals only, for instruction files (prose written for the agent): hiding from the user, chat
    markers, ignore-previous, and reading credentials or keys to send or pass them on ("exfiltrate")."""
    norm = normalise(text[:MAX_INSTRUCTIONS])
    body = norm.text
    found = [(kind, start, end) for kind, start, end in _signals_in(norm) if kind in STRICT_KINDS]
    found = [(kind, start, end) for kind, start, end in found if kind != "hide-from-user"
             or not body[start:end].lstrip().startswith("<")]  # a <secret> tag in prose is not hiding
    found += [("exfiltrate", start, end) for start, end in _verb_target(body, _FILE_OR_SECRET, _READ_RE, 80)
              if _in_sentence(body, _EXFIL_SEND, start, end)]
    for start, end in _verb_target(body, _SENT_TO, _SEND_RE, 110):
        verb = _SEND_RE.match(body, start)
        if _PRIVATE_NOUN.search(body, verb.end() if verb else start, end):
            found.append(("exfiltrate", start, end))
    # HTML comments are reported, with what they say, by instructions.hidden-content: not twice.
    comments = [(m.start(), m.end()) for m in _matches(_HTML_COMMENT, body)]
    found = [f for f in found if not any(start <= f[1] < end for start, end in comments)]
    return _to_original(norm, found)


def _to_original(norm: Normalised, found: Iterable[tuple[str, int, int]]) -> list[Signal]:
    signals = {Signal(kind, *norm.span(start, end)) for kind, start, end in found}
    return sorted(signals, key=lambda s: (s.start, s.end, s.kind))


def severity_of(signals: list[Signal]) -> str:
    """Critical when the text both hides from the user and asks for files, credentials or sending; else high."""
    kinds = {s.kind for s in signals}
    return "critical" if "hide-from-user" in kinds and kinds & ASKING else "high"


def kinds_of(signals: list[Signal]) -> list[str]:
    return kinds_of_names(s.kind for s in signals)


def kinds_of_names(kinds: Iterable[str]) -> list[str]:
    """The distinct kinds in reporting order."""
    present = set(kinds)
    return [kind for kind in (*SIGNAL_KINDS, "exfiltrate", "shadowing") if kind in present]


def shadowing_signals(text: str, *, own_name: str, same_server: Iterable[str] = (),
                      other_tools: Iterable[str] = ()) -> list[Signal]:
    return shadowing_in(text, own_name=own_name, same_server=frozenset(same_server),
                        names=tuple(sorted(set(same_server) | set(other_tools))))


def shadowing_in(text: str, *, own_name: str, same_server: frozenset[str], names: tuple[str, ...]) -> list[Signal]:
    """Directions about how other tools behave: generic ones ("before using any other tool"), and sentences that
    name another tool with a direction (any direction for tools of other servers, a behaviour-changing one for
    tools of the same server, which may legitimately refer to each other)."""
    norm = normalise(text[:MAX_DESCRIPTION])
    body = norm.text
    found = [("shadowing", m.start(), m.end()) for m in _SHADOW_GENERIC.finditer(body)]
    if _CALLED.search(body):
        found += [("shadowing", m.start(), m.end()) for m in _SHADOW_WHEN_TOOL.finditer(body)
                  if m.group(1).lower() not in (own_name.lower(), "this", "it")
                  and ("tool" in m.group(0).lower() or _IDENTIFIER_NAME.fullmatch(m.group(1)))]
    same = same_server
    for start, end, name, worded in _name_mentions(body, names):
        if name == own_name or name.lower() == own_name.lower() and worded:
            continue
        directive = _SHADOW_STRONG if name in same else _SHADOW_ANY
        sentence_start, sentence_end = _sentence(body, start, end)
        if directive.search(body, sentence_start, sentence_end):
            found.append(("shadowing", start, end))
    return _to_original(norm, found)


_WORD_RUN = re.compile(r"[\w-]+")


def _name_mentions(body: str, names: tuple[str, ...]) -> list[tuple[int, int, str, bool]]:
    """Where the text names a tool, in order and not overlapping: identifier-shaped names (send_email, sendEmail)
    anywhere as a whole word, plain words only as "the <word> tool". Identifiers are found by looking each word of
    the text up in a set, not with one alternation of every name, which is quadratic on a system with many tools."""
    identifiers, worded = _name_sets(names)
    mentions = [(m.start(), m.end(), m.group(0), False) for m in _WORD_RUN.finditer(body) if m.group(0) in identifiers]
    if worded is not None:
        mentions += [(m.start(), m.end(), m.group(1), True) for m in worded.finditer(body)]
        mentions.sort()
        kept: list[tuple[int, int, str, bool]] = []
        for mention in mentions:
            if not kept or mention[0] >= kept[-1][1]:
                kept.append(mention)
        mentions = kept
    return mentions


@lru_cache(maxsize=64)
def _name_sets(names: tuple[str, ...]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    identifiers = frozenset(n for n in names if _IDENTIFIER_NAME.fullmatch(n) and len(n) >= 4)
    words = sorted((n for n in names if n not in identifiers and n), key=len, reverse=True)
    if not words:
        return identifiers, None
    return identifiers, re.compile(r"\b(?:the\s+)?[`'\"]?(?i:(" + "|".join(map(re.escape, words)) +
                                   r"))[`'\"]?\s+(?i:tool)\b")


# --- hidden characters and secrets --------------------------------------------------------------------------

def _rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text if ord(c) > 0x58F)


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """(offset, character) for zero-width, bidi-control and tag characters a reader cannot see. Joiners inside
    emoji sequences, a leading byte-order mark and direction marks in right-to-left text are ordinary."""
    text = text[:MAX_DESCRIPTION]
    found = []
    rtl: bool | None = None
    for match in _INVISIBLE.finditer(text):
        char, offset = match.group(0), match.start()
        if char == "\ufeff" and offset == 0:
            continue
        if char == "\u200d" and _between_symbols(text, offset):
            continue
        if char in "\u200e\u200f":
            rtl = _rtl(text) if rtl is None else rtl
            if rtl:
                continue
        found.append((offset, char))
    return found


def _between_symbols(text: str, offset: int) -> bool:
    before = text[offset - 1] if offset else ""
    after = text[offset + 1] if offset + 1 < len(text) else ""
    return bool(before and after) and all(unicodedata.category(c).startswith("S") or c == "\ufe0f" or
                                          0x1F000 <= ord(c) <= 0x1FAFF for c in (before, after))


def tag_text(text: str) -> str:
    """The ASCII that Unicode tag characters in ``text`` spell (ASCII smuggling), or ""."""
    return "".join(chr(ord(c) - 0xE0000) for c in text[:MAX_DESCRIPTION] if ord(c) in _TAG_ASCII)


def secret_spans(text: str, looks_random) -> list[tuple[int, int]]:  # noqa: ANN001 - predicate on a value
    """Original offsets of credential shapes in a description, and of assigned values that look generated."""
    norm = normalise(text[:MAX_DESCRIPTION])
    spans = [norm.span(m.start(), m.end()) for m in TOKEN_SHAPES.finditer(norm.text)]
    for pattern in (ASSIGNED_SECRET, NAMED_SECRET):
        for match in pattern.finditer(norm.text):
            if looks_random(match.group(2)):
                spans.append(norm.span(match.start(2), match.end(2)))
    return sorted(set(spans))


_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")


def visible(text: str) -> str:
    """Runs of tag characters shown as the text they spell; other invisible characters are left for
    ``mask_evidence``, which writes them as [U+200B]."""
    return _TAG_RUN.sub(lambda m: f"[tags: {tag_text(m.group(0))}]", text)


def excerpt(text: str, start: int, end: int, *, before: int = 40, after: int = 120) -> str:
    """The text around [start, end), widened to whitespace so that no token (a credential) is cut in half."""
    left = max(0, start - before)
    while left > 0 and not text[left - 1].isspace() and start - left < before + 60:
        left -= 1
    right = min(len(text), end + after)
    while right < len(text) and not text[right].isspace() and right - end < after + 60:
        right += 1
    return visible(text[left:right]).strip()
