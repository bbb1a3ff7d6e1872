"""``manage.py triage_path … --dynamic`` (CONTRACT.md): dynamic.* findings and a top-level not_run list."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.unit.dynamic.helpers import FIXTURES, real_backend
from triage.dynamic.stage import _unconfirmed_flows
from triage.dynamic.checks import ServerRun
from triage.findings import Finding

CONTRACT_KEYS = ["config_digest", "policy_version", "sandbox", "findings", "score", "decision", "reasons"]


@pytest.fixture(autouse=True)
def cheapest_real_sandbox(settings) -> None:  # noqa: ANN001
    """The command uses the configured backend; pin it to the cheapest real one so these tests stay fast."""
    settings.ASSAY_SANDBOX = real_backend()


def triage_path(*args: str) -> tuple[str, dict]:
    out = io.StringIO()
    call_command("triage_path", *args, stdout=out)
    return out.getvalue(), json.loads(out.getvalue())


def test_without_dynamic_the_document_is_unchanged_and_has_no_not_run() -> None:
    _text, document = triage_path(str(FIXTURES / "needs_network"))
    assert list(document) == CONTRACT_KEYS


def test_dynamic_lists_what_could_not_run_and_is_byte_for_byte_repeatable() -> None:
    first, document = triage_path(str(FIXTURES / "needs_network"), "--dynamic")
    second, _ = triage_path(str(FIXTURES / "needs_network"), "--dynamic")
    assert first == second
    assert list(document) == [*CONTRACT_KEYS, "not_run"]
    assert [item["target"] for item in document["not_run"]] == [
        "mcp:filesystem", "mcp:missing", "mcp:native", "mcp:remote-docs"]
    assert all(set(item) == {"target", "reason"} for item in document["not_run"])


NO_SERVER = ("no MCP server found: none declared in a configuration or the manifest, and none defined in code "
             "(FastMCP, mcp.server, McpServer/Server with a transport)")


def test_dynamic_says_why_the_stage_did_not_run_when_there_is_no_server_or_static_triage_rejects(
        tmp_path: Path) -> None:
    (tmp_path / "CLAUDE.md").write_text("Be helpful.\n")
    _text, document = triage_path(str(tmp_path), "--dynamic")
    assert list(document) == [*CONTRACT_KEYS, "not_run"]
    assert document["not_run"] == [{"target": "dynamic stage", "reason": NO_SERVER}]
    empty = tmp_path / "empty"
    empty.mkdir()
    _text, document = triage_path(str(empty), "--dynamic")
    assert document["decision"] == "reject"
    assert document["not_run"] == [{"target": "dynamic stage", "reason": (
        f"static triage rejected the case ({document['reasons'][0]}); submitted code is never run for a rejected "
        "case")}]


def test_dynamic_findings_reach_the_contract_document_and_the_policy() -> None:
    _text, document = triage_path(str(FIXTURES / "exfiltrating"), "--dynamic")
    dynamic = [f for f in document["findings"] if f["check"].startswith("dynamic.")]
    leak = next(f for f in dynamic if f["check"] == "dynamic.canary-exfiltration")
    assert leak["evidence"] == "ticket-helper: canary sent to collector.exfil-demo.net:80 (POST /ingest HTTP/1.1)"
    assert leak["severity"] == "critical" and leak["categories"] == ["exfiltration", "private_data"]
    assert leak["path"] == ".mcp.json" and leak["line"] == 1
    assert document["decision"] == "escalate" and document["not_run"] == []


def test_a_pin_file_turns_a_re_run_into_a_drift_check_and_is_updated(tmp_path: Path) -> None:
    pins = tmp_path / "pins.json"
    earlier = {"pin": "sha256:" + "0" * 64, "tools": {"get_weather": "0" * 16, "get_radar": "1" * 16}}
    pins.write_text(json.dumps({"version": 1, "servers": {"weather": earlier}}))
    _text, document = triage_path(str(FIXTURES / "rugpull"), "--dynamic", "--pin-file", str(pins))
    (drift,) = [f for f in document["findings"] if f["check"] == "dynamic.tool-set-drift"]
    assert drift["evidence"].startswith("weather: pin sha256:" + "0" * 64 + " -> sha256:")
    assert drift["evidence"].endswith("; removed get_radar; changed get_weather")
    saved = json.loads(pins.read_text())["servers"]["weather"]
    assert saved["pin"] != earlier["pin"] and sorted(saved["tools"]) == ["get_weather"]


def test_a_bad_pin_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pins = tmp_path / "pins.json"
    pins.write_text("not json")
    with pytest.raises(SystemExit) as exit_info:
        call_command("triage_path", str(FIXTURES / "needs_network"), "--dynamic", "--pin-file", str(pins))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"{pins}: not a pin file (JSONDecodeError)\n"


def _flow(server: str) -> Finding:
    return Finding("trifecta.lethal-trifecta", "t", "critical", ("exfiltration",), ".claude/settings.json", 3,
                   f"agent claude: untrusted [issue via mcp:{server}]; private [..]", "r")


def test_a_static_flow_through_a_server_that_did_not_run_is_unconfirmed_never_safe() -> None:
    declared = [{"name": "jira"}, {"name": "calc"}]
    ran = [ServerRun(name="calc", path=".mcp.json", line=1, started=True, observation="python-audit-hooks")]
    entries = _unconfirmed_flows([_flow("jira"), _flow("calc")], servers=ran, declared=declared, findings=[])
    assert entries == [
        {"target": "flow trifecta.lethal-trifecta via mcp:jira", "reason": "unconfirmed: the server did not run"},
        {"target": "flow trifecta.lethal-trifecta via mcp:calc",
         "reason": "unconfirmed: direct tool calls with a planted canary reached no sink (a model may still)"},
    ]


def test_a_flow_the_canary_confirmed_is_not_listed_as_unconfirmed() -> None:
    confirmed = Finding("dynamic.canary-exfiltration", "t", "critical", ("exfiltration",), ".mcp.json", 1, "e", "r",
                        {"server": "calc"})
    ran = [ServerRun(name="calc", path=".mcp.json", line=1, started=True, observation="python-audit-hooks")]
    assert _unconfirmed_flows([_flow("calc")], servers=ran, declared=[{"name": "calc"}], findings=[confirmed]) == []
