"""Secret detection: real-looking credentials are found and masked; names, slugs and placeholders are not."""

from __future__ import annotations

import pytest

from tests.unit.triage_checks.helpers import lay_out
from triage.analysis import analyse
from triage.checks.secrets import looks_random

GITHUB_TOKEN = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"


@pytest.mark.parametrize("value", ["OPENAI_GATEWAY_SECRET", "provider-key", "sk-tracing-123", "untrusted",
                                   "s3-secret-key-for-tests"])
def test_names_slugs_and_words_do_not_look_random(value):
    assert not looks_random(value)


@pytest.mark.parametrize("value", ["Zt8qL2vN0xR4pW7sK1mC9bD3", "9f2c4e7a1b8d0f3e6a5c2b9d"])
def test_generated_values_look_random(value):
    assert looks_random(value)


def _secret_findings(tmp_path, files):  # noqa: ANN001, ANN202
    return [(f.severity, f.path, f.line, f.evidence) for f in analyse(lay_out(tmp_path, files))
            if f.check == "secrets.hardcoded-credential"]


def test_a_token_in_agent_code_is_high_and_masked(tmp_path):
    assert _secret_findings(tmp_path, {"agent/config.py": f'TOKEN = "{GITHUB_TOKEN}"\n'}) == [
        ("high", "agent/config.py", 1, "GitHub Token: ghp********************8d")]


def test_a_token_in_test_code_is_reported_without_escalating(tmp_path):
    assert _secret_findings(tmp_path, {"tests/test_client.py": f'TOKEN = "{GITHUB_TOKEN}"\n'}) == [
        ("medium", "tests/test_client.py", 1, "GitHub Token: ghp********************8d (in test, docs or example code)")]


def test_placeholders_and_environment_references_are_not_credentials(tmp_path):
    files = {"config.py": 'API_KEY = "sk-ant-api03-..."\nPASSWORD = os.environ["DB_PASSWORD"]\n'
                          'SECRET = "${APP_SECRET}"\nTOKEN = "ghp_1234567890abcdefghij1234567890abcdef"\n'
                          'client_secret = "OPENAI_GATEWAY_SECRET"\n'}
    assert _secret_findings(tmp_path, files) == []


def test_a_private_key_marker_in_code_without_key_material_is_not_a_key(tmp_path):
    files = {"sign.ts": 'const key = "-----BEGIN OPENSSH PRIVATE KEY-----\\ntest-key-content\\n-----END OPENSSH '
                        'PRIVATE KEY-----";\n'}
    assert [f for f in analyse(lay_out(tmp_path, files)) if f.check == "secrets.private-key"] == []


def test_a_token_written_as_an_http_header_literal_is_a_credential(tmp_path):
    code = ('HEADERS = {"Authorization": "Bearer wk_9f8a7d6c5b4e3f2a1b0c9d8e7f6a5b4c",\n'
            '           "X-Api-Key": "Zx81kQm2Pa9Lr4Tb7Wc3Nd6Yf0Hg5Js"}\n')
    ts = "const client = axios.create({ headers: { 'x-api-key': 'Tq7Lm2Xv9Rb4Ns8Kc1Pw6Hd3' } });\n"
    assert _secret_findings(tmp_path, {"server.py": code, "src/index.ts": ts}) == [
        ("high", "server.py", 1, "HTTP credential header: wk_********************4c"),
        ("high", "server.py", 2, "HTTP credential header: Zx8********************Js"),
        ("high", "src/index.ts", 1, "HTTP credential header: Tq7*******************d3"),
    ]


def test_header_values_that_are_references_or_placeholders_are_not_credentials(tmp_path):
    code = ('h1 = {"Authorization": f"Bearer {token}"}\n'
            'h2 = {"Authorization": "Bearer ${API_TOKEN}"}\n'
            'h3 = {"Authorization": "Bearer YOUR_API_KEY_HERE"}\n'
            'h4 = {"X-Api-Key": "replace-with-your-key"}\n'
            'h5 = {"Authorization": "Bearer " + os.environ["TOKEN"]}\n')
    assert _secret_findings(tmp_path, {"client.py": code}) == []


def test_two_detectors_on_one_token_report_it_once(tmp_path):
    line = 'STRIPE = "sk_live_51Hq8ZmK2pL9vN4xR7tY3wB6cD1fG5hJ"\n'
    assert [e for _s, _p, _l, e in _secret_findings(tmp_path, {"pay.js": line})] == [
        "Stripe live key: sk_********************hJ"]


def test_a_js_constant_handed_to_a_credential_slot_is_a_credential(tmp_path):
    files = {"src/mail.js": 'import nodemailer from "nodemailer";\nconst RELAY_KEY = "Qw7pZ2mX9vL4tR8n";\n'
                            "export const relay = nodemailer.createTransport({\n"
                            '  host: "smtp.example.net", auth: { user: "bot", pass: RELAY_KEY },\n});\n',
             "src/other.ts": 'const LABEL = "Qw7pZ2mX9vL4tR8nA";\nconst cfg = { title: LABEL };\n'
                             'const env = { pass: process.env.RELAY_KEY, token: "changeme-token-value" };\n'}
    assert _secret_findings(tmp_path, files) == [
        ("high", "src/mail.js", 2, "Credential constant passed as pass: Qw7***********8n")]


def test_a_literal_standing_in_for_an_environment_credential_in_python_is_found(tmp_path):
    files = {"svc/client.py": '''import os
import httpx

GEO_KEY = os.environ.get("GEO_KEY", "")
TOKEN = os.getenv("GEO_TOKEN", "q8Zr2Lx9Vc4Nb7Mt1Kp6Hd3Fs0")


def headers() -> dict:
    key = GEO_KEY or "c91b7e2d-5a4f-4e08-b3c6-7d2e9f1a0b84:geo"
    return {"Authorization": f"Key {key}"}
'''}
    assert [(f[2], f[3]) for f in _secret_findings(tmp_path, files)] == [
        (5, "Credential fallback in code: q8Z********************s0"),
        (9, "Credential fallback in code: c91********************eo")]


def test_defaults_that_are_not_credentials_or_are_placeholders_are_not_reported(tmp_path):
    files = {"svc/client.py": '''import os

REGION = os.getenv("GEO_REGION", "eu-west-1-primary-zone")
KEY = os.getenv("GEO_KEY", "your-api-key-goes-here")
MODE = os.environ.get("MODE") or "a7Kq2Lm9Xc4Vb1Nz8Tp3Wd6R"
TOKEN = os.getenv("GEO_TOKEN") or "changeme-changeme-1234"
'''}
    assert _secret_findings(tmp_path, files) == []
