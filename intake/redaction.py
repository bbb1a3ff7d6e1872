"""Redaction lint: find secrets and personal data before a submission leaves draft.

Secrets come from detect-secrets' maintained detectors (minus the entropy
heuristics, which flag ordinary prose); personal data from a few precise
patterns of our own. A finding blocks submission until the text is redacted
or the builder confirms that exact value is a placeholder.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

_DETECTORS = [
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector", "CloudantDetector",
    "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "IbmCloudIamDetector",
    "IbmCosHmacDetector", "JwtTokenDetector", "KeywordDetector", "MailchimpDetector", "NpmDetector",
    "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
    "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
]
_SETTINGS = {"plugins_used": [{"name": name} for name in _DETECTORS]}

# Our own rules: provider keys detect-secrets lacks, and personal data.
_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    ("secret", "Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("secret", "Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
    ("secret", "Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    ("personal", "Email address", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("personal", "Phone number", re.compile(r"(?<![\w.])\+?\d[\d ().-]{8,}\d(?![\w.])")),
    ("personal", "IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b")),
]
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


def mask(value: str) -> str:
    if len(value) <= 6:
        return "*" * len(value)
    return value[:3] + "*" * min(len(value) - 5, 20) + value[-2:]


def _fingerprint(field: str, value: str) -> str:
    return hashlib.sha256(f"{field}\0{value}".encode()).hexdigest()[:20]


_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.~]")


def _whole_tokens(line: str, value: str) -> list[str]:
    """Every occurrence of a detector's match, widened to the whole token around it.

    Some detectors report only a prefix (GitHub's reports "ghp"); fingerprinting the prefix would make
    every token of that kind one finding, and confirming one placeholder would wave the others through.
    """
    if not value:
        return []
    tokens = []
    for match in re.finditer(re.escape(value), line):
        start, end = match.start(), match.end()
        while start > 0 and _TOKEN_CHARS.match(line[start - 1]):
            start -= 1
        while end < len(line) and _TOKEN_CHARS.match(line[end]):
            end += 1
        tokens.append(line[start:end])
    return tokens or [value]


def scan_text(field: str, text: str) -> list[RedactionFinding]:
    found: dict[str, RedactionFinding] = {}

    def add(kind: str, label: str, value: str) -> None:
        if not value or _PLACEHOLDER.search(value):
            return
        fingerprint = _fingerprint(field, value)
        found.setdefault(fingerprint, RedactionFinding(field, kind, label, mask(value), fingerprint))

    with transient_settings(_SETTINGS):
        for line in text.splitlines():
            for secret in scan_line(line):
                for value in _whole_tokens(line, secret.secret_value or ""):
                    add("secret", secret.type, value)
    for kind, label, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            add(kind, label, match.group(0))
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
