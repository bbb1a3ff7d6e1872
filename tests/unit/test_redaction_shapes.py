"""One redaction module: every secret and PII shape lives in intake/redaction.py, and what any detector reports the
grey-box viewer masks, without touching the text around it. Submitted text is hostile: masking stays linear."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.redaction import (DETECT_SECRETS_SETTINGS, PERSONAL_SHAPES, TOKEN_RULES, TOKEN_SHAPES, mask_secrets,
                              redact_for_view, scan_text, view_spans)
from reviews.report_findings import report_evidence
from reviews.viewer import redact_text
from triage.checks import AnalysisContext
from triage.checks.registry import mask_evidence
from triage.checks.secrets import _scan
from triage.graph import build_graph
from triage.parsers import parse_tree
from triage.parsers.base import tree_from_memory

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = re.compile(r"\[redacted (?:secret|email|phone|iban)\]")

# One token of every shape triage masks in evidence (registry) or reports (its own rules, detect-secrets).
TOKENS = {
    "Anthropic": "sk-ant-api03-Zt8qL2vN0xR4pW7sK1mC9bD3",  # pragma: allowlist secret
    "OpenAI project": "sk-proj-Zt8qL2vN0xR4pW7sK1mC9bD3aa",  # pragma: allowlist secret
    "OpenAI": "sk-Zt8qL2vN0xR4pW7sK1mC9bD3",  # pragma: allowlist secret
    "GitHub": "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",  # pragma: allowlist secret
    "GitHub fine-grained": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",  # pragma: allowlist secret
    "Slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",  # pragma: allowlist secret
    "AWS": "AKIAZ7Q2LX4RT9MWB3KD",  # pragma: allowlist secret
    "Google": "AIzaSyD3x9Kq2LmN8pR4tV6wY0zB1cE5fG7hJ9k",  # pragma: allowlist secret
    "Hugging Face": "hf_Zt8qL2vN0xR4pW7sK1mC9bD3aB5cD7eF9",  # pragma: allowlist secret
    "Stripe live": "sk_live_51H8zQ2LmN8pR4tV6wY0zB1cE",  # pragma: allowlist secret
    "Stripe restricted": "rk_live_51H8zQ2LmN8pR4tV6wY0zB1cE",  # pragma: allowlist secret
    "GitLab": "glpat-Zt8qL2vN0xR4pW7sK1mC",  # pragma: allowlist secret
    "JWT": ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."  # pragma: allowlist secret
            "dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"),  # pragma: allowlist secret
}


def test_the_secret_shapes_are_written_in_one_module_only():
    """What `git grep` sees: the vendor prefixes and key markers appear in intake/redaction.py and nowhere else in
    the platform's code (tests aside). The dynamic stage's decoy AWS credentials file is content, not a shape."""
    shapes = r"sk-ant|sk-proj|glpat|AKIA|xox[abprs]|gh\[pousr|github_pat|eyJ|PRIVATE KEY|[rs]k_live|hf_\[|AIza"
    listed = subprocess.run(["git", "grep", "-l", "-E", shapes, "--", "*.py", ":!tests"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.split()
    assert sorted(listed) == ["intake/redaction.py", "triage/dynamic/observe.py"]
    decoy = [line for line in (ROOT / "triage/dynamic/observe.py").read_text().splitlines() if re.search(shapes, line)]
    assert len(decoy) == 1 and "aws_access_key_id = AKIA{canary" in decoy[0]


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_the_viewer_masks_every_token_shape_triage_masks(name):
    token = TOKENS[name]
    assert TOKEN_SHAPES.search(token), "triage's evidence masking knows this shape"
    assert token not in mask_evidence(f"value {token} here")
    assert redact_text(f"value {token} here\n") == "value [redacted secret] here\n"


def test_a_token_assigned_to_a_secret_name_is_replaced_once():
    """The old viewer replaced the Slack token, then matched "token = [redacted" again."""
    assert redact_text(f"token = {TOKENS['Slack']}\n") == "token = [redacted secret]\n"
    assert redact_text(f'api_key = "{TOKENS["GitLab"]}", next = 1') == 'api_key = "[redacted secret]", next = 1'


def test_every_own_rule_is_inside_a_masked_shape():
    """What triage reports by its own rules, its evidence masking masks: each rule's match lies in a shape's."""
    for label, rule in TOKEN_RULES:
        token = next(value for value in TOKENS.values() if rule.search(value))
        reported = rule.search(token)
        masked = [m for m in TOKEN_SHAPES.finditer(token) if m.start() <= reported.start() and reported.end() <= m.end()]
        assert masked, label


def test_reports_mask_what_triage_masks_and_url_passwords():
    url = "DATABASE_URL=postgresql://ops:Zt4rQ8wLx2Pk@db.internal/app"  # pragma: allowlist secret
    assert report_evidence(url) == "DATABASE_URL=postgresql://ops:********@db.internal/app"
    assert TOKENS["JWT"] not in report_evidence(f"Authorization: Bearer {TOKENS['JWT']}")


def test_lint_reports_the_shapes_triage_reports():
    labels = {f.label for f in scan_text("description", f"stripe {TOKENS['Stripe live']} hf {TOKENS['Hugging Face']}")}
    assert "Hugging Face token" in labels and any("Stripe" in label for label in labels)


# --- the property -----------------------------------------------------------------------------------

_SECRETS = st.one_of(
    *(st.from_regex(pattern, fullmatch=True) for pattern in (
        r"sk-ant-api03-[A-Za-z0-9_-]{24,40}", r"sk-proj-[A-Za-z0-9]{24,40}", r"gh[pousr]_[A-Za-z0-9]{36}",
        r"xox[bp]-[0-9]{10,12}-[A-Za-z0-9]{12,24}", r"AKIA[0-9A-Z]{16}", r"AIza[0-9A-Za-z_-]{35}",
        r"hf_[A-Za-z0-9]{34}", r"[rs]k_live_[A-Za-z0-9]{24}", r"glpat-[A-Za-z0-9_-]{20}",
        r"eyJ[A-Za-z0-9]{12,20}\.eyJ[A-Za-z0-9]{12,20}\.[A-Za-z0-9_-]{20,30}",
        r"[0-9a-f]{32}-us[0-9]{1,2}", r"SK[0-9a-f]{32}", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        r"sq0csp-[0-9A-Za-z_-]{43}", r"AKC[a-zA-Z0-9]{10,20}", r"[0-9]{9}:[0-9A-Za-z_-]{35}",
        r"npm_[A-Za-z0-9]{36}",
        r"-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/]{64}\n-----END RSA PRIVATE KEY-----",  # pragma: allowlist secret
    )),
    st.builds(lambda key, sep, value: f"{key}{sep}{value}",
              st.sampled_from(["password", "api_key", "secret", "TOKEN", "client_secret", "auth"]),
              st.sampled_from([" = ", ": ", "=", '": "', " = '"]),
              st.from_regex(r"[A-Za-z0-9!#%&*+/]{6,30}", fullmatch=True)),
    st.builds(lambda user, password: f"postgresql://{user}:{password}@db.internal:5432/app",
              st.from_regex(r"[a-z]{2,8}", fullmatch=True), st.from_regex(r"[A-Za-z0-9!$%]{4,20}", fullmatch=True)),
    st.builds(lambda value: f'headers = {{"Authorization": "Bearer {value}"}}',
              st.from_regex(r"[A-Za-z0-9]{20,40}", fullmatch=True)),
    st.from_regex(r"[a-z]{2,10}\.[a-z]{2,10}@[a-z]{3,10}\.(?:io|com|de)", fullmatch=True),
    st.from_regex(r"\+44 20 [0-9]{4} [0-9]{4}", fullmatch=True),
)
_FILLER = st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
                    st.sampled_from(["x = compute(1, 2)", "def run(self):", "# configure the client", "{", "}",
                                     "url: https://api.example.net/v1", "[redacted secret]", " ", "\t"]))
_SEPARATORS = st.sampled_from([" ", "\n", "\r\n", "", '"', "'", "=", ", ", ":", "/", "."])


@st.composite
def documents(draw) -> str:  # noqa: ANN001
    pieces = draw(st.lists(st.tuples(_FILLER, _SEPARATORS, _SECRETS, _SEPARATORS), min_size=1, max_size=6))
    return "".join(f"{filler}{left}{secret}{right}" for filler, left, secret, right in pieces) + draw(_FILLER)


def _reported_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of what every detector reports: detect-secrets and our own rules as the lint runs them,
    the personal-data shapes, and triage's secret scan of the same text as a file."""
    reported = []
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    with transient_settings(DETECT_SECRETS_SETTINGS):
        for number, line in enumerate(lines):
            for secret in scan_line(line.rstrip("\r\n")):
                value = secret.secret_value or ""
                reported += [(offsets[number] + m.start(), offsets[number] + m.end(), value)
                             for m in re.finditer(re.escape(value), line)] if value else []
    for _label, rule in TOKEN_RULES:
        reported += [(m.start(), m.end(), m.group(0)) for m in rule.finditer(text)]
    for _kind, _label, rule in PERSONAL_SHAPES:
        reported += [(m.start(), m.end(), m.group(0)) for m in rule.finditer(text)]
    system = parse_tree(tree_from_memory({"notes.txt": text.encode()}, {"notes.txt": len(text.encode())}))
    for _path, number, _label, value in _scan(AnalysisContext(system, build_graph(system))):
        start, line = (offsets[number - 1], lines[number - 1]) if number <= len(lines) else (0, text)
        reported += [(start + m.start(), start + m.end(), value) for m in re.finditer(re.escape(value), line)]
    return reported


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_everything_a_detector_reports_is_masked_and_nothing_else_changes(text: str) -> None:
    spans = view_spans(text)
    for start, end, value in _reported_spans(text):
        assert any(s.start <= start and end <= s.end for s in spans), f"{value!r} at {start} left in clear"
    # merged: sorted, disjoint, not even touching (two placeholders never abut one span's halves)
    assert all(a.end < b.start for a, b in zip(spans, spans[1:]))
    out = redact_for_view(text)
    at = 0
    previous = 0
    for span in spans:
        outside = text[previous:span.start]
        assert out[at:at + len(outside)] == outside  # byte-identical outside the spans
        at += len(outside)
        placeholder = PLACEHOLDERS.match(out, at)
        assert placeholder, "each span is one placeholder"
        at = placeholder.end()
        previous = span.end
    assert out[at:] == text[previous:]


# --- hostile input ----------------------------------------------------------------------------------

def _masking_seconds(line: str) -> float:
    started = time.monotonic()
    redact_for_view(line)
    mask_secrets(line)
    scan_text("description", line)
    return time.monotonic() - started


@pytest.mark.parametrize("fragment", ["a.", "eyJ", "1 ", "1.", "sk-", "x://a:", "password=", "a@a.", "-----BEGIN ",
                                      "Authorization: '", "key is ", "ghp_", "\u200b"])
def test_a_long_adversarial_line_is_masked_in_linear_time(fragment):
    """A pattern retried at every position of a long run before failing takes time quadratic in the line: four
    times the line would take sixteen times as long. Linear work takes about four times as long."""
    short = _masking_seconds(fragment * (20_000 // len(fragment)) + "!")
    long = _masking_seconds(fragment * (80_000 // len(fragment)) + "!")
    assert long < 8 * short + 0.5 and long < 20
