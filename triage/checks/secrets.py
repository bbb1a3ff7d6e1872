"""Secrets in plain text: detect-secrets' maintained detectors plus our own rules. Evidence is always masked."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

from intake.redaction import (DETECT_SECRETS_SETTINGS, HEADER_CREDENTIAL, PRIVATE_KEY_MARKER, SECRET_KEY_NAME,
                              TOKEN_RULES, candidate_lines, mask, secret_kind)
from triage.checks.registry import AnalysisContext, Hit, check

_PLACEHOLDER = re.compile(r"(example|redacted|placeholder|changeme|your[_-]|dummy|x{4,}|\*{4,}|<[^>]+>|\$\{|\{\{|"
                          r"^\$[A-Z_]+$|^env:|^\$env|\.\.\.|…|0123456789|1234567890|abcdefghij|(.)\2{5,})", re.I)
# Credentials in tests, docs and examples are usually fixtures: still reported, but not as an escalation by themselves.
_FIXTURE_PATH = re.compile(r"(^|/)(tests?|__tests__|spec|fixtures?|docs?|examples?)/|\.(test|spec)\.[jt]sx?$|"
                           r"(^|/)test_[^/]*\.py$|_test\.(py|go)$|\.md$")
_SKIP_SUFFIXES = (".lock", ".sum", ".svg", ".min.js", ".map")


def _is_placeholder(value: str) -> bool:
    return not value or len(value) < 8 or bool(_PLACEHOLDER.search(value))


# Generic detectors (a secret-ish key name, user:pass@ in a URL) flag any value; keep only values that look random.
_GENERIC_LABELS = frozenset({"Secret Keyword", "Basic Auth Credentials"})
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_SLUG = re.compile(r"[a-z0-9]+([-_.][a-z0-9]+)+")


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(value: str) -> bool:
    """True for values shaped like generated credentials, false for names, slugs and words ("sk-test-123")."""
    if len(value) < 12 or _ENV_NAME.fullmatch(value) or _SLUG.fullmatch(value):
        return False
    if not (re.search(r"\d", value) and re.search(r"[A-Za-z]", value)):
        return False
    return _entropy(value) >= 3.0


def _token_like(value: str) -> bool:
    """A header value shaped like a generated token: long, letters and digits, not a word or an env name. Unlike
    looks_random, a lower-case token with a prefix ("wk_9f8a...") counts: in a credential header it is no slug."""
    return (len(value) >= 16 and not _ENV_NAME.fullmatch(value) and re.search(r"\d", value) is not None
            and re.search(r"[A-Za-z]", value) is not None and _entropy(value) >= 3.0)


def _whole_token(value: str, line: str) -> str:
    """Some detectors report only a captured prefix (GitHub's gives "ghp"); recover the whole token from the line."""
    if not value or len(value) >= 12:
        return value
    match = re.search(re.escape(value) + r"[A-Za-z0-9_\-./+=]*", line)
    return match.group(0) if match else value


def _scan(context: AnalysisContext) -> list[tuple[str, int, str, str]]:
    """(path, line, label, value) for every credential found in any file, cached per analysis."""
    if "secret_hits" in context.cache:
        return context.cache["secret_hits"]
    hits: list[tuple[str, int, str, str]] = []
    with transient_settings(DETECT_SECRETS_SETTINGS):
        for path in sorted(context.system.files):
            if path.endswith(_SKIP_SUFFIXES):
                continue
            lines = context.system.files[path].lines
            for number in candidate_lines(lines):
                line = lines[number - 1]
                if len(line) > 4000:
                    continue
                seen = set()
                for label, pattern in TOKEN_RULES:
                    for match in pattern.finditer(line):
                        seen.add(match.group(0))
                        hits.append((path, number, label, match.group(0)))
                for secret in scan_line(line):
                    value = _whole_token(secret.secret_value or "", line)
                    # two detectors on one token (a vendor rule and a generic one) are one credential
                    if any(value in known or known in value for known in seen) or _is_placeholder(value):
                        continue
                    if secret.type in _GENERIC_LABELS and not looks_random(value):
                        continue
                    seen.add(value)
                    hits.append((path, number, secret.type, value))
                for match in HEADER_CREDENTIAL.finditer(line):  # after the vendor rules, which name the token better
                    value = match.group(1)
                    if not any(value in known or known in value for known in seen) and _token_like(value) \
                            and not _is_placeholder(value):
                        seen.add(value)
                        hits.append((path, number, "HTTP credential header", value))
        hits += _code_fallbacks(context, hits)
    # Literals the JS/TS syntax tree shows reaching a credential slot, where no line rule saw them.
    lines_hit = {(path, number) for path, number, _label, _value in hits}
    for path, number, slot, value in context.system.code_credentials:
        if (path, number) not in lines_hit and not _is_placeholder(value) and looks_random(value):
            lines_hit.add((path, number))
            hits.append((path, number, f"Credential constant passed as {slot}", value))
    hits.sort(key=lambda hit: (hit[0], hit[1]))
    context.cache["secret_hits"] = hits
    return hits


def _code_fallbacks(context: AnalysisContext, hits: list[tuple[str, int, str, str]]) -> list[tuple[str, int, str, str]]:
    """Literals Python code uses in place of a credential it otherwise reads from the environment (the parser
    finds them with ``ast``: ``os.getenv("API_TOKEN", "<literal>")``, ``API_KEY or "<literal>"``)."""
    known = {(path, value) for path, _line, _label, value in hits}
    found = []
    for module in sorted(context.system.python_modules, key=lambda m: m.path):
        for line, value in module.credential_literals:
            if (module.path, value) in known or _is_placeholder(value) or not looks_random(value):
                continue
            known.add((module.path, value))
            found.append((module.path, line, "Credential fallback in code", value))
    return found


def _reported_elsewhere(context: AnalysisContext) -> set[tuple[str, int | None]]:
    places = {(f.path, None) for f in context.system.env_files}
    for server in context.system.mcp_servers:
        for key, value in {**server.env, **server.headers}.items():
            if SECRET_KEY_NAME.search(key) and not _is_placeholder(value):
                places.add((server.path, context.system.files[server.path].line_of(value[:40])))
    return places


@check("secrets.hardcoded-credential", title="A credential is written in plain text",
       severity="high", categories=("secrets",),
       remediation="Revoke and rotate the credential now, remove it from the files (and history), and load it from "
                   "a secret manager or environment variable at run time.",
       rationale="Anything the agent can read it can leak; a submitted credential must be assumed exposed.")
def hardcoded_credential(context: AnalysisContext) -> Iterator[Hit]:
    elsewhere = _reported_elsewhere(context)
    env_paths = {path for path, line in elsewhere if line is None}
    for path, line, label, value in _scan(context):
        if path in env_paths or (path, line) in elsewhere or secret_kind(value) == "private-key" \
                or label == "Private Key":
            continue
        if _FIXTURE_PATH.search(path):
            yield Hit(path, line, f"{label}: {mask(value)} (in test, docs or example code)", severity="medium")
        else:
            yield Hit(path, line, f"{label}: {mask(value)}")


@check("secrets.inline-mcp-credential", title="An MCP server's credential is inlined in its config",
       severity="high", categories=("secrets",),
       remediation='Reference an environment variable instead ("${GITHUB_TOKEN}", bearer_token_env_var) and keep the '
                   "config file free of values.",
       rationale="MCP config files are committed and shared; inline tokens spread with them.")
def inline_mcp_credential(context: AnalysisContext) -> Iterator[Hit]:
    for server in context.system.mcp_servers:
        for key, value in sorted({**server.env, **server.headers}.items()):
            shown = value.removeprefix("Bearer ").strip()
            if SECRET_KEY_NAME.search(key) and not _is_placeholder(shown):
                line = context.system.files[server.path].line_of(value[:40])
                yield Hit(server.path, line, f"{server.name}: {key}={mask(shown)}")


@check("secrets.env-file", title="A .env file with credentials is part of the system",
       severity="high", categories=("secrets",),
       remediation="Remove the .env file from what you ship or submit, rotate its values, and commit a .env.example "
                   "with placeholders instead.",
       rationale=".env files are the first thing an injected agent is told to read.")
def env_file(context: AnalysisContext) -> Iterator[Hit]:
    for file in context.system.env_files:
        for number, line in enumerate(file.lines, start=1):
            key, sep, value = line.partition("=")
            value = value.strip().strip("\"'")
            key = key.strip().removeprefix("export ").strip()
            if sep and SECRET_KEY_NAME.search(key) and not _is_placeholder(value):
                yield Hit(file.path, number, f"{key}={mask(value)}")


_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]{40,}")
_KEY_PLACEHOLDER = re.compile(r"(example|redacted|placeholder|dummy|x{8,})", re.I)  # real keys have runs of "A"


@check("secrets.private-key", title="A private key is included",
       severity="critical", categories=("secrets",),
       remediation="Revoke the key pair, remove the file, and mount keys at run time from a secret store.",
       rationale="A private key grants whatever it signs for, with no expiry.")
def private_key(context: AnalysisContext) -> Iterator[Hit]:
    for path in sorted(context.system.files):
        file = context.system.files[path]
        if secret_kind(file.text) != "private-key":
            continue
        for number, line in enumerate(file.lines, start=1):
            match = PRIVATE_KEY_MARKER.search(line)
            if not match:
                continue
            # key material follows the marker, on the next lines or (in code) after escaped newlines
            after = line[match.end():].replace("\\n", "\n") + "\n" + "\n".join(file.lines[number:number + 3])
            body = max((m.group(0) for m in _KEY_BODY.finditer(after)), key=len, default="")
            if len(body) >= 40 and not _KEY_PLACEHOLDER.search(body):
                yield Hit(path, number, f"{match.group(0)} {mask(body[:24])}")
