"""Secrets and personal data: the one list of their shapes, how they are found, and how they are masked.

Every place that reports or shows submitted text uses this module: the redaction lint on a draft's fields
(:func:`scan_fields`), triage's secret checks and its evidence masking (:func:`mask_secrets`, inside the
sandbox, so this module imports nothing of Django), the grey-box viewer (:func:`redact_for_view`) and the
reports (through triage's evidence). A shape added here is found and masked everywhere at once.

Masking works on spans: every shape is matched against the original text, overlapping matches are merged,
and each merged span is replaced exactly once, so text outside the spans is left byte for byte and a
placeholder is never matched again ("[redacted secret] secret]").

Submitted text is hostile: no pattern here may be retried at every character of a long run before failing
(which makes a match quadratic); anchors and bounded repeats keep each one linear.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import accumulate

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

# --- the shapes -------------------------------------------------------------------------------------

# detect-secrets' maintained detectors, minus the entropy heuristics (which flag ordinary prose).
DETECT_SECRETS_PLUGINS = [
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector", "CloudantDetector",
    "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "IbmCloudIamDetector",
    "IbmCosHmacDetector", "JwtTokenDetector", "KeywordDetector", "MailchimpDetector", "NpmDetector",
    "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
    "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
]
DETECT_SECRETS_SETTINGS = {"plugins_used": [{"name": name} for name in DETECT_SECRETS_PLUGINS]}

# Provider keys detect-secrets lacks, reported on their own (strict: a full-length token).
TOKEN_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("OpenAI project key", re.compile(r"\bsk-proj-[A-Za-z0-9_-]{20,}")),
    ("Stripe live key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}")),
]
# Every token shape, loose: whatever quotes a token masks it even when cut short. Each rule above is inside one
# of these (a test checks it). The JWT starts only where a token starts: otherwise "eyJeyJeyJ…" is scanned to its
# end once per "eyJ".
TOKEN_SHAPES = re.compile(
    r"(sk-ant-[A-Za-z0-9_-]{8,}|sk-(?:proj-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|"
    r"hf_[A-Za-z0-9]{20,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|glpat-[A-Za-z0-9_-]{16,}|"
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+|"
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----)")
PRIVATE_KEY_MARKER = re.compile(r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----")
# A whole key block, marker to end marker (or to the end of the text, if it was cut).
PRIVATE_KEY_BLOCK = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")
# A name (of a key, a field, an environment variable) that holds a secret.
SECRET_KEY_NAME = re.compile(r"(token|secret|password|passwd|api[_-]?key|apikey|auth|credential|private[_-]?key|"
                             r"access[_-]?key)", re.I)
# A value assigned to a secret-ish name ("password = hunter2", "api_key: ..."): the value is group 2.
ASSIGNED_SECRET = re.compile(
    r"((?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|auth|credential|private[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s\"',;}{]{4,})", re.I)
# A credential handed over in prose: "use the shared key 7c2e...", "the API token is 9f8a..." (no ':' or '='):
# group 2. Only values that look generated count (the callers decide how).
NAMED_SECRET = re.compile(r"\b((?:api[_ -]?|auth[_ -]?|access[_ -]?|secret[_ -]?|license[_ -]?)?(?:key|token|secret|"
                          r"password|passphrase)\s+(?:is\s+|of\s+|as\s+)?[\"'`]?)([A-Za-z0-9][A-Za-z0-9_\-.:+/=]{15,})",
                          re.I)
# The password of a URL (after "user:" in "postgresql://user:…@host"): group 2. The scheme starts where a word does.
URL_PASSWORD = re.compile(r"((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)@", re.I)
# An HTTP credential written as a header literal ("Authorization": "Bearer ...", X-Api-Key: ...): group 1. Vendor
# shapes miss a private API's token; the secret check keeps the value when it looks random.
HEADER_CREDENTIAL = re.compile(
    r"\b(?:authorization|proxy-authorization|x-api-key|api-key|x-auth-token|x-access-token|private-token)[\"'`]?\s*"
    r"[:=,]\s*[\"'`](?:(?:bearer|basic|token|bot)\s+)?([A-Za-z0-9_\-.=+/:]{16,})[\"'`]", re.I)
# A line that could hold a credential: a secret-ish assignment, a URL with credentials, a key block, a JWT.
_CANDIDATE_WORDS = (r"(password|passwd|pwd|secret|token|api_?key|apikey|auth|credential|private_?key|"
                    r"access_?key|client_?key|_key\b)\w*[\"']?\s*[:=]|begin [a-z ]*private|"
                    r"://[^/\s:@]+:[^/\s@]+@|\beyj")
CANDIDATE_SHAPE = re.compile(_CANDIDATE_WORDS, re.I)
# The same shape over lower-cased text: about three times faster than re.I, which tries every alternative both ways.
CANDIDATE_SHAPE_LOWER = re.compile(_CANDIDATE_WORDS)
LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{20,}")
# Personal data. Bounded repeats: an unbounded local part is retried at every dot of "a.a.a.a…".
PERSONAL_SHAPES: list[tuple[str, str, re.Pattern[str]]] = [
    ("email", "Email address", re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
                                           r"\.[A-Za-z]{2,24}\b")),
    ("phone", "Phone number", re.compile(r"(?<![\w.])\+?\d[\d ().-]{8,24}\d(?![\w.])")),
    ("iban", "IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b")),
]
# Values that name where a secret comes from rather than being one ("${TOKEN}", "$API_KEY", "<your key>").
_REFERENCE_PREFIXES = ("${", "$", "<", "{{")
# detect-secrets is run on lines up to this long; longer lines are scanned in overlapping windows of it (some of its
# patterns take time quadratic in the line's length on hostile lines; a token and its context fit in the overlap).
DETECTOR_LINE_CHARS = 500
_WINDOW_OVERLAP = 150
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-+/=.~]+")


def _mixed(token: str) -> bool:
    return any(c.isdigit() for c in token) and any(c.isupper() for c in token) and any(c.islower() for c in token)


def candidate_lines(lines: list[str]) -> list[int]:
    """1-based numbers of lines that could hold a credential: a secret-ish assignment, a URL with credentials, a key
    block, or a long token mixing digits and both cases. One regex pass over the whole file, not one per line."""
    text = "\n".join(lines)
    offsets = list(accumulate((len(line) + 1 for line in lines), initial=0))
    lowered = text.lower()
    if len(lowered) == len(text):
        positions = [m.start() for m in CANDIDATE_SHAPE_LOWER.finditer(lowered)]
    else:  # a few characters lower-case to two, which would shift the offsets
        positions = [m.start() for m in CANDIDATE_SHAPE.finditer(text)]
    positions += [m.start() for m in LONG_TOKEN.finditer(text) if _mixed(m.group(0))]
    return sorted({bisect_right(offsets, position) for position in positions})


def mask(value: str) -> str:
    """A value shown as its first three and last two characters (all stars if short)."""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:3] + "*" * min(len(value) - 5, 20) + value[-2:]


def secret_kind(value: str, *, jwt_only: bool = False) -> str:
    """What a matched shape is, for sensitive-data facts: private-key, token or credential (with ``jwt_only``,
    only a JWT counts as a token; the Python tool model has always told them apart so)."""
    if "PRIVATE KEY" in value:
        return "private-key"
    if value.startswith("eyJ" if jwt_only else ("eyJ", "gh", "xox", "glpat")):
        return "token"
    return "credential"


# --- spans ------------------------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str  # "secret" (incl. "url-password") or a personal kind: "email", "phone", "iban"


def _is_reference(value: str) -> bool:
    return value.startswith(_REFERENCE_PREFIXES)


def token_spans(text: str) -> Iterator[Span]:
    """Vendor token shapes, URL passwords and values assigned to secret-ish names: what evidence masks."""
    for match in TOKEN_SHAPES.finditer(text):
        yield Span(match.start(), match.end(), "secret")
    for match in URL_PASSWORD.finditer(text):
        if not _is_reference(match.group(2)):
            yield Span(match.start(2), match.end(2), "url-password")
    for match in ASSIGNED_SECRET.finditer(text):
        if not _is_reference(match.group(2)):
            yield Span(match.start(2), match.end(2), "secret")


class TokenRuns:
    """The runs of token characters of one line, found once, so a value can be widened to its whole token."""

    def __init__(self, line: str):
        self.line = line
        self.starts, self.ends = [], []
        for match in _TOKEN_RUN.finditer(line):
            self.starts.append(match.start())
            self.ends.append(match.end())

    def _run_at(self, index: int) -> int | None:
        at = bisect_right(self.starts, index) - 1
        return at if at >= 0 and index < self.ends[at] else None

    def whole_tokens(self, value: str) -> Iterator[tuple[int, int]]:
        """Every occurrence of a detector's match, widened to the whole token around it.

        Some detectors report only a prefix (GitHub's reports "ghp"): masking or fingerprinting the prefix alone
        would leave the token readable, or make every token of that kind one finding."""
        if not value:
            return
        covered = 0
        for match in re.finditer(re.escape(value), self.line):
            if match.start() < covered:  # inside the token just widened
                continue
            start, end = match.start(), match.end()
            before = self._run_at(start - 1) if start else None
            after = self._run_at(end)
            start = self.starts[before] if before is not None else start
            end = self.ends[after] if after is not None else end
            covered = end
            yield start, end


def _windows(line: str) -> Iterator[str]:
    """A long line in overlapping pieces: detect-secrets' own patterns are not all linear on hostile lines."""
    if len(line) <= DETECTOR_LINE_CHARS:
        yield line
        return
    step = DETECTOR_LINE_CHARS - _WINDOW_OVERLAP
    for offset in range(0, len(line) - _WINDOW_OVERLAP, step):
        yield line[offset:offset + DETECTOR_LINE_CHARS]


def detector_values(line: str) -> Iterator[tuple[str, str]]:
    """(detector label, value) for what detect-secrets reports on one line (its settings must be active)."""
    for window in _windows(line):
        for secret in scan_line(window):
            if secret.secret_value:
                yield secret.type, secret.secret_value


def _needs_detectors(line: str) -> bool:
    """Could any detect-secrets plugin report something on this line? A keyword, a URL with credentials, a key
    marker, or a run of ten or more token characters (the shortest plugin shapes, Artifactory's, are 11)."""
    return bool(CANDIDATE_SHAPE.search(line) or re.search(r"[A-Za-z0-9_\-+/=]{10}", line))


def detector_spans(text: str) -> Iterator[Span]:
    """What detect-secrets and the header rule find, as whole-token spans of ``text``."""
    offset = 0
    with transient_settings(DETECT_SECRETS_SETTINGS):
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            if _needs_detectors(body):
                runs = TokenRuns(body)
                for value in {value for _label, value in detector_values(body)}:
                    for start, end in runs.whole_tokens(value):
                        yield Span(offset + start, offset + end, "secret")
            offset += len(line)
    for match in HEADER_CREDENTIAL.finditer(text):
        yield Span(match.start(1), match.end(1), "secret")
    for match in NAMED_SECRET.finditer(text):  # the description check keeps generated-looking values: a superset
        value = match.group(2)
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            yield Span(match.start(2), match.end(2), "secret")


def personal_spans(text: str) -> Iterator[Span]:
    for kind, _label, pattern in PERSONAL_SHAPES:
        for match in pattern.finditer(text):
            yield Span(match.start(), match.end(), kind)


def merged(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans as one, in order; a secret among them makes the whole a secret."""
    out: list[Span] = []
    for span in sorted(s for s in spans if s.end > s.start):
        if out and span.start <= out[-1].end:
            last = out[-1]
            kind = last.kind if last.kind == span.kind else "secret"
            out[-1] = Span(last.start, max(last.end, span.end), kind)
        else:
            out.append(span)
    return out


def redact(text: str, spans: Iterable[Span], replace: Callable[[str, Span], str]) -> str:
    """``text`` with each merged span replaced once by ``replace(matched text, span)``; the rest as it is."""
    parts, at = [], 0
    for span in merged(spans):
        parts.append(text[at:span.start])
        parts.append(replace(text[span.start:span.end], span))
        at = span.end
    parts.append(text[at:])
    return "".join(parts)


def _masked(value: str, span: Span) -> str:
    return "*" * 8 if span.kind == "url-password" else mask(value)


def mask_secrets(text: str) -> str:
    """Token shapes, URL passwords and assigned secrets masked in place ("ghp********89"): for evidence lines."""
    return redact(text, token_spans(text), _masked)


def view_spans(text: str) -> list[Span]:
    """Everything the grey-box viewer hides: every shape above, key blocks whole, what the detectors report,
    and personal data."""
    spans = [*token_spans(text), *detector_spans(text), *personal_spans(text)]
    spans += [Span(m.start(), m.end(), "secret") for m in PRIVATE_KEY_BLOCK.finditer(text)]
    return merged(spans)


def redact_for_view(text: str) -> str:
    """Grey box: secrets and personal data replaced by labelled placeholders, everything else as it is."""
    return redact(text, view_spans(text),
                  lambda _value, span: "[redacted secret]" if span.kind in ("secret", "url-password")
                  else f"[redacted {span.kind}]")


# --- the lint on a draft's fields -------------------------------------------------------------------

# Obvious placeholders never block: example.com addresses, <REDACTED>, xxxx.
_PLACEHOLDER = re.compile(r"(example\.(com|org|net)|redacted|placeholder|x{4,}|\*{4,}|<[^>]+>)", re.I)


@dataclass(frozen=True)
class RedactionFinding:
    field: str
    kind: str  # "secret" | "personal"
    label: str
    excerpt: str  # masked
    fingerprint: str

    def as_dict(self) -> dict:
        return asdict(self)


def _fingerprint(field: str, value: str) -> str:
    return hashlib.sha256(f"{field}\0{value}".encode()).hexdigest()[:20]


def scan_text(field: str, text: str) -> list[RedactionFinding]:
    """Secrets and personal data in one field. A finding blocks submission until the text is redacted or the
    builder confirms that exact value is a placeholder."""
    found: dict[str, RedactionFinding] = {}

    def add(kind: str, label: str, value: str) -> None:
        if not value or _PLACEHOLDER.search(value):
            return
        fingerprint = _fingerprint(field, value)
        found.setdefault(fingerprint, RedactionFinding(field, kind, label, mask(value), fingerprint))

    with transient_settings(DETECT_SECRETS_SETTINGS):
        for line in text.splitlines():
            runs = TokenRuns(line)
            for label, value in dict.fromkeys(detector_values(line)):
                tokens = [line[start:end] for start, end in runs.whole_tokens(value)]
                for token in tokens or [value]:
                    add("secret", label, token)
    for label, pattern in TOKEN_RULES:
        for match in pattern.finditer(text):
            add("secret", label, match.group(0))
    for _kind, label, pattern in PERSONAL_SHAPES:
        for match in pattern.finditer(text):
            add("personal", label, match.group(0))
    return list(found.values())


def scan_fields(fields: dict[str, str | dict | list | None]) -> list[RedactionFinding]:
    """Scan named text fields (dicts and lists, e.g. the manifest, are scanned as pretty JSON)."""
    findings: list[RedactionFinding] = []
    for name, value in fields.items():
        if value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)
        findings.extend(scan_text(name, text))
    return sorted(findings, key=lambda f: (f.field, f.label, f.fingerprint))
