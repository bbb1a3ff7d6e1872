"""The dynamic gate (triage/dynamic/gating.py): each branch of the rule, both ways, with no sandbox."""

from __future__ import annotations

import pytest

from triage.dynamic.gating import (GATE_VERSION, GateClaim, GateServer, claim_dynamic_checks, flow_servers, gate_plan,
                                   gate_preconditions, server_out_of_scope)
from triage.findings import Finding

NO_EXFIL = GateClaim(property_kind="no-exfiltration", access_tier="grey")


def pre(**overrides):  # noqa: ANN003, ANN201
    inputs = {"claim": NO_EXFIL, "sandbox": "bubblewrap", "operator_enabled": True, "terms_accepted": True,
              "static_decision": "guidance", "static_reasons": ["no high or critical findings"]}
    return gate_preconditions(**{**inputs, **overrides})


def server(name: str = "tickets", *, path: str = ".mcp.json", entry: str = "server.py", can_start: bool = True,
           reason: str = "") -> GateServer:
    return GateServer(name=name, path=path, entry=entry, can_start=can_start, reason=reason)


def flow(evidence: str, *, path: str = ".claude/settings.json", categories: tuple[str, ...] = (
        "private_data", "untrusted_input", "exfiltration"), check: str = "trifecta.lethal-trifecta") -> Finding:
    return Finding(check, "t", "critical", categories, path, 3, evidence, "r")


# --- preconditions (P1-P5) ------------------------------------------------------------------------

def test_all_preconditions_met_lets_the_stage_go_on_to_discovery() -> None:
    assert pre() is None
    assert pre(static_decision="escalate") is None


def test_p1_the_operator_switch() -> None:
    decision = pre(operator_enabled=False)
    assert not decision.run and decision.reason == "the operator has not enabled the dynamic stage on this platform"


def test_p2_the_builders_accepted_terms() -> None:
    decision = pre(terms_accepted=False)
    assert not decision.run and decision.reason.startswith("the builder has not accepted terms")


@pytest.mark.parametrize("why", [
    "exact duplicate of one of your earlier cases; follow up on that case",
    "not accepted under the platform's abuse-prevention rules; a coordinator will review",
    "out of scope: claim kind 'x' is not one Assay assesses",
    "spam-like: 3 recent rejection(s) and nothing substantive to assess",
    "empty submission: no agent-system files or manifest to assess",
])
def test_p3_a_static_reject_never_runs_submitted_code(why: str) -> None:
    decision = pre(static_decision="reject", static_reasons=[why])
    assert not decision.run
    assert decision.reason == f"static triage rejected the case ({why}); submitted code is never run for a rejected case"


def test_p4_a_claim_kind_assay_does_not_assess_is_not_run() -> None:
    decision = pre(claim=GateClaim(property_kind="weather-prediction"))
    assert not decision.run and decision.reason == "claim kind 'weather-prediction' is not one Assay assesses"


def test_p4_the_claim_kind_must_share_a_category_with_the_dynamic_catalogue() -> None:
    provenance_only = {"dynamic.tool-set-drift": ("provenance",)}
    assert claim_dynamic_checks(NO_EXFIL, provenance_only) == []
    decision = pre(catalogue=provenance_only)
    assert not decision.run and decision.reason == "no dynamic check bears on claim no-exfiltration"
    assert pre(claim=GateClaim(property_kind="least-privilege"), catalogue=provenance_only) is None


def test_p4_every_kind_assay_assesses_has_dynamic_checks_in_the_real_catalogue() -> None:
    from triage.policy import CLAIM_CATEGORIES

    for kind in CLAIM_CATEGORIES:
        assert claim_dynamic_checks(GateClaim(property_kind=kind)), kind
    assert "dynamic.canary-exfiltration" in claim_dynamic_checks(NO_EXFIL)
    assert "dynamic.canary-exfiltration" not in claim_dynamic_checks(GateClaim(property_kind="bounded-actions"))
    assert GateClaim().kind == GateClaim(property_kind="").kind == "other"  # as the policy reads a missing kind


def test_p5_submitted_code_runs_only_under_a_real_sandbox() -> None:
    decision = pre(sandbox="none")
    assert not decision.run
    assert decision.reason == "submitted code runs only under gvisor or bubblewrap; the sandbox here is none"
    assert pre(sandbox="gvisor") is None


def test_the_first_failing_precondition_is_the_reason_given() -> None:
    decision = pre(operator_enabled=False, terms_accepted=False, static_decision="reject", sandbox="none")
    assert decision.reason.startswith("the operator has not enabled")
    assert pre(terms_accepted=False, static_decision="reject").reason.startswith("the builder has not accepted")


# --- the plan after discovery (S1-S3, flows, probes) ------------------------------------------------

def test_s1_no_declared_server_is_not_run() -> None:
    decision = gate_plan(claim=NO_EXFIL, servers=[])
    assert not decision.run and decision.reason.startswith("no MCP server found: none declared")


def test_s2_servers_that_cannot_start_offline_are_not_run_and_one_that_can_is() -> None:
    offline = [server("remote", can_start=False, reason="needs the network")]
    decision = gate_plan(claim=NO_EXFIL, servers=offline)
    assert not decision.run and decision.reason.startswith("no MCP server of the submission can start offline")
    decision = gate_plan(claim=NO_EXFIL, servers=[*offline, server("tickets")])
    assert decision.run and decision.servers == ("tickets",)
    assert decision.reason == ("1 MCP server(s) within the scope of claim no-exfiltration can start offline "
                               "(tickets); 0 static flow(s) through them to confirm with a canary")


@pytest.mark.parametrize(("scope_in", "scope_out", "outside"), [
    ((), (), None),
    ((".mcp.json",), (), None),  # the configuration file declaring it
    (("server.py",), (), None),  # its entry point
    (("the tickets MCP server",), (), None),  # free text naming it as a word
    (("mcp:tickets",), (), None),
    (("docs",), (), "outside the claim's scope (not named in its scope)"),
    (("ticketsystem",), (), "outside the claim's scope (not named in its scope)"),  # a word, not a substring
    ((), ("tickets",), "outside the claim's scope (excluded by 'tickets')"),
    ((".mcp.json",), (".mcp.json",), "outside the claim's scope (excluded by '.mcp.json')"),  # scope_out wins
    # component ids and globs (intake.scope): the server, or the files it lives in
    (("mcp-server:tickets",), (), None),
    (("mcp-server:*",), (), None),
    (("file:.mcp.json",), (), None),
    (("harness-config:.mcp.json",), (), None),
    (("file:server.py",), (), None),
    (("mcp-server:tick",), (), "outside the claim's scope (not named in its scope)"),
    (("agent:claude-code",), (), "outside the claim's scope (not named in its scope)"),
    (("mcp-server:*",), ("mcp-server:tickets",), "outside the claim's scope (excluded by 'mcp-server:tickets')"),
])
def test_s3_scope_in_and_out_decide_which_servers_run(scope_in, scope_out, outside) -> None:  # noqa: ANN001
    claim = GateClaim(property_kind="no-exfiltration", scope_in=scope_in, scope_out=scope_out)
    assert server_out_of_scope(server("tickets"), claim) == outside
    decision = gate_plan(claim=claim, servers=[server("tickets")])
    assert decision.run is (outside is None)
    if outside:
        assert decision.reason == "every MCP server that can start offline is outside the claim's scope"
        assert decision.skipped == ({"target": "mcp:tickets", "reason": outside},)


def test_s3_only_the_in_scope_servers_are_started() -> None:
    claim = GateClaim(property_kind="no-exfiltration", scope_out=("calc",))
    decision = gate_plan(claim=claim, servers=[server("calc", entry="calc.py"), server("tickets")])
    assert decision.run and decision.servers == ("tickets",)
    assert decision.skipped == ({"target": "mcp:calc", "reason": "outside the claim's scope (excluded by 'calc')"},)


def test_a_static_flow_is_tied_to_a_server_by_its_evidence_or_by_the_servers_code() -> None:
    servers = [server("jira", entry=""), server("tickets", entry="tickets_mcp/__main__.py")]
    assert flow_servers(flow("untrusted [issue via mcp:jira]; private [..]"), servers) == ["jira"]
    assert flow_servers(flow("untrusted [issue via mcp:jira-cloud]"), servers) == []
    assert flow_servers(flow("python-tools: reads ticket", path="tickets_mcp/client.py"), servers) == ["tickets"]
    assert flow_servers(flow("python-tools: reads ticket", path="other/client.py"), servers) == []
    assert flow_servers(flow("python-tools", path="server.py"), [server("w", entry="server.py")]) == ["w"]


def test_flows_relevant_to_the_claim_are_exercised_and_others_are_listed_as_not_exercised() -> None:
    through_tickets = flow("untrusted [issue via mcp:tickets]")
    elsewhere = flow("untrusted [web via WebFetch]")  # through no server: nothing a canary call could exercise
    decision = gate_plan(claim=NO_EXFIL, servers=[server("tickets")], static_findings=[through_tickets, elsewhere])
    assert decision.flows == ({"check": "trifecta.lethal-trifecta", "path": ".claude/settings.json", "line": 3,
                               "servers": ["tickets"]},)
    assert decision.reason.endswith("1 static flow(s) through them to confirm with a canary")
    # The same flow does not bear on a bounded-actions claim (no shared category): not exercised, never "safe".
    bounded = gate_plan(claim=GateClaim(property_kind="bounded-actions"), servers=[server("tickets")],
                        static_findings=[through_tickets])
    assert bounded.run and bounded.flows == ()
    assert bounded.skipped == ({"target": "flow trifecta.lethal-trifecta via mcp:tickets",
                                "reason": "not exercised: outside the claim's property or scope"},)


def test_a_relevant_flow_through_a_server_that_cannot_start_is_kept_to_be_reported_unconfirmed() -> None:
    servers = [server("jira", can_start=False, reason="needs the network"), server("tickets")]
    decision = gate_plan(claim=NO_EXFIL, servers=servers, static_findings=[flow("via mcp:jira")])
    assert decision.run and decision.servers == ("tickets",)
    assert [f["servers"] for f in decision.flows] == [["jira"]]
    # Scoped to the tickets server only: the jira flow is outside the claim's scope.
    scoped = GateClaim(property_kind="no-exfiltration", scope_in=("tickets",))
    decision = gate_plan(claim=scoped, servers=servers, static_findings=[flow("via mcp:jira")])
    assert decision.flows == () and decision.skipped[0]["target"] == "flow trifecta.lethal-trifecta via mcp:jira"


@pytest.mark.parametrize(("tier", "allowed"), [("black", False), ("grey", True), ("white", True), (None, True)])
def test_the_access_tier_decides_whether_model_probes_may_run(tier, allowed) -> None:  # noqa: ANN001
    claim = GateClaim(property_kind="no-exfiltration", access_tier=tier)
    decision = gate_plan(claim=claim, servers=[server("tickets")])
    assert decision.run and decision.probes is allowed
    assert decision.probes_reason.startswith("allowed" if allowed else "not allowed: the builder offered black box")


def test_the_decision_is_deterministic_versioned_and_serialisable() -> None:
    inputs = {"claim": NO_EXFIL, "servers": [server("tickets"), server("calc", entry="calc.py")],
              "static_findings": [flow("via mcp:calc"), flow("via mcp:tickets", path="a.json")]}
    first, second = gate_plan(**inputs), gate_plan(**{**inputs, "static_findings": inputs["static_findings"][::-1]})
    assert first == second and first.version == GATE_VERSION
    assert first.as_dict() == {"version": GATE_VERSION, "run": True, "reason": first.reason,
                               "servers": ["tickets", "calc"], "flows": [dict(f) for f in first.flows],
                               "skipped": [], "probes": True, "probes_reason": first.probes_reason}
    assert pre(operator_enabled=False).as_dict()["run"] is False
