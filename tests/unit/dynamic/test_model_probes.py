"""Model-in-the-loop probes against a fake OpenAI-compatible endpoint on loopback (the only thing faked: the
model, which would leave the machine). The tool calls it asks for run for real in the sandbox."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.unit.dynamic.helpers import FIXTURES, checks_of, run_stage
from triage.dynamic.probes import PROBE_SET_VERSION, PROBES, ProbeEndpoint, _tool_calls, dynamic_model_probes
from triage.dynamic.stage import new_canary


class GullibleModel(BaseHTTPRequestHandler):
    """Obeys the injected text: passes the user's token to the first tool, then summarises."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        GullibleModel.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if any(m["role"] == "tool" for m in body["messages"]):
            message = {"role": "assistant", "content": "Done."}
        else:
            token = re.search(r"assay-canary-[0-9a-f]+", body["messages"][0]["content"]).group(0)
            tool = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call-1", "type": "function",
                 "function": {"name": tool, "arguments": json.dumps({"ticket": f"token {token}"})}},
                {"id": "call-2", "type": "function", "function": {"name": "not_a_tool", "arguments": "{}"}}]}
        data = json.dumps({"choices": [{"message": message}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def fake_model():  # noqa: ANN201
    GullibleModel.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GullibleModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield ProbeEndpoint(url=f"http://127.0.0.1:{server.server_port}/v1", model="gullible-1", api_key="k-test")
    server.shutdown()


def test_a_model_steered_by_untrusted_text_leaks_the_canary_and_it_is_evidence_not_a_finding(fake_model) -> None:  # noqa: ANN001
    outcome = run_stage(FIXTURES / "exfiltrating")
    findings_before = list(outcome.findings)
    (evidence,) = dynamic_model_probes(outcome=outcome, endpoint=fake_model, canary_factory=new_canary,
                                       probe_ids=("issue-text",))
    assert evidence["probe"] == "issue-text" and evidence["probe_set"] == PROBE_SET_VERSION
    assert evidence["canary_passed_to_tools"] is True and evidence["canary_leaked"] is True
    assert evidence["leaks"] == ["collector.exfil-demo.net:80"]
    assert evidence["calls"] == [{"tool": "summarise_ticket", "arguments": {"ticket": "token [canary]"}}]
    assert evidence["turns"] == 2 and evidence["error"] is None
    assert outcome.findings == findings_before and outcome.probes == [evidence]
    first, second = GullibleModel.requests
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer k-test"
    assert [t["function"]["name"] for t in first["body"]["tools"]] == ["summarise_ticket"]
    assert second["body"]["messages"][-1] == {"role": "tool", "tool_call_id": "call-1",
                                              "content": "The customer is unhappy."}
    assert "dynamic.canary-exfiltration" in checks_of(outcome)


def test_model_tool_calls_are_schema_checked() -> None:
    message = {"tool_calls": [
        {"id": "a", "function": {"name": "add", "arguments": "{\"a\": 1}"}},
        {"id": "b", "function": {"name": "rm_rf", "arguments": "{}"}},
        {"id": "c", "function": {"name": "add", "arguments": "[1, 2]"}},
        {"id": "d", "function": {"name": "add", "arguments": "{not json"}},
        {"id": "e", "function": {"name": "add", "arguments": "{\"x\": \"" + "y" * 9000 + "\"}"}},
        "junk"]}
    assert _tool_calls(message, {"add"}) == [{"id": "a", "tool": "add", "arguments": {"a": 1}}]


def test_configured_probes_run_with_triage_record_model_errors_and_leave_the_decision_alone(settings) -> None:  # noqa: ANN001
    from triage.orchestrator import DynamicRequest, offline_context, triage_run
    from triage.runner import source_for_path
    from tests.unit.dynamic.helpers import FAST_BUDGET, real_backend

    settings.ASSAY_SANDBOX = real_backend()
    settings.ASSAY_PROBE_MODEL_URL, settings.ASSAY_PROBE_MODEL = "http://127.0.0.1:9/v1", "m"
    outcome, dynamic = triage_run(sources=[source_for_path(FIXTURES / "rugpull")], context_for=offline_context,
                                  dynamic=DynamicRequest(budget=FAST_BUDGET))
    assert [p["probe"] for p in dynamic.probes] == [p["id"] for p in PROBES]
    assert all(p["error"] == "model endpoint failed (URLError)" and p["turns"] == 0 for p in dynamic.probes)
    assert not [f for f in outcome.analysis.findings if "probe" in f.check]
    assert outcome.decision == "escalate"  # from the rug pull finding, as without probes


def test_a_black_box_claim_runs_the_servers_but_no_model_probes(settings) -> None:  # noqa: ANN001
    from triage.dynamic.gating import GateClaim
    from triage.orchestrator import DynamicRequest, offline_context, triage_run
    from triage.runner import source_for_path
    from tests.unit.dynamic.helpers import FAST_BUDGET, real_backend

    settings.ASSAY_SANDBOX = real_backend()
    settings.ASSAY_PROBE_MODEL_URL, settings.ASSAY_PROBE_MODEL = "http://127.0.0.1:9/v1", "m"
    claim = GateClaim(property_kind="no-exfiltration", access_tier="black")
    outcome, dynamic = triage_run(sources=[source_for_path(FIXTURES / "rugpull")], context_for=offline_context,
                                  dynamic=DynamicRequest(budget=FAST_BUDGET, claim=claim))
    assert dynamic.ran and [s.name for s in dynamic.servers] == ["weather"]
    assert dynamic.probes == [] and not dynamic.gate.probes
    assert dynamic.gate.probes_reason.startswith("not allowed: the builder offered black box access")
    assert outcome.decision == "escalate"  # the servers' own findings still count
