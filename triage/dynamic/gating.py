"""Whether the dynamic stage runs on a case, and with what: a deterministic, versioned rule.

Plain functions over plain values (no sandbox, no database), evaluated after static triage in two steps:

1. :func:`gate_preconditions`, before the stage touches the submission again. The stage does not run when
   P1 the operator has not turned it on (``ASSAY_DYNAMIC_TRIAGE``; ``triage_path --dynamic`` is the operator's
      own request),
   P2 the builder has not accepted terms for this case (the terms are what authorise testing the system),
   P3 static triage rejected the case (empty, unprocessable, duplicate, suspected extraction, out of scope, spam):
      a rejected case never has its code run,
   P4 no dynamic check bears on the claim's property kind (the kind's categories, as the policy reads them,
      share nothing with the ``dynamic.*`` catalogue's categories), or
   P5 there is no real sandbox (gVisor or bubblewrap).
2. :func:`gate_plan`, after discovery (which parses the tree inside the sandbox and executes nothing of it).
   The stage runs only when
   S1 at least one MCP server is found: declared in a configuration or the manifest, or defined in code
      (:mod:`triage.dynamic.entrypoints`),
   S2 at least one of them can start offline from the submitted files on the vetted runtime
      (:mod:`triage.dynamic.runtime`), and
   S3 at least one of those is inside the claim's scope (a ``scope_out`` entry naming the server, its
      configuration file or its entry point excludes it; a non-empty ``scope_in`` must name it).
   It then starts exactly those servers, and the static flows (``trifecta.*``, ``agentjacking.*``) that go
   through a declared server and bear on the claim (a category of the claim's kind, and inside the claim's
   scope or through an in-scope server) are the flows the run is to confirm with canaries; a flow it does not
   confirm is reported "unconfirmed", one outside the claim "not exercised", never "safe".

The access tier the builder offered does not decide whether submitted code runs (running it in our sandbox is
triage under the accepted terms, not reviewer access); it decides whether the optional model-in-the-loop probes
may run: they send the servers' descriptions and tool outputs to the operator's model endpoint, and the dynamic
record is for the builder and reviewers at grey box or above, so probes need a grey or white box offer.

A change of behaviour is a new ``GATE_VERSION``; each stored decision carries the version it was made under.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from intake.scope import entry_matches, is_component_entry
from triage.findings import Finding

GATE_VERSION = "2026.12.1"  # 2026.12.1: S1/S2 count servers defined in code, on the vetted runtime
RUNNABLE_BACKENDS = ("gvisor", "bubblewrap")
FLOW_FAMILIES = ("trifecta.", "agentjacking.")
PROBE_TIERS = ("grey", "white")


@dataclass(frozen=True)
class GateClaim:
    """The parts of a case's claim the gate reads (``intake.models.Submission.claim_*``)."""

    property_kind: str | None = None  # a PropertyKind value; None or "" reads as "other", as in the policy
    scope_in: tuple[str, ...] = ()
    scope_out: tuple[str, ...] = ()
    access_tier: str | None = None  # black | grey | white; None for an offline run (no builder)

    @property
    def kind(self) -> str:
        return self.property_kind or "other"

    def label(self) -> str:
        return f"claim {self.property_kind}" if self.property_kind else "no stated claim kind"


@dataclass(frozen=True)
class GateServer:
    """What discovery said about one declared server (nothing of it was executed)."""

    name: str
    path: str = ""  # the configuration file declaring it
    entry: str = ""  # its entry point inside the tree, when it can start offline
    can_start: bool = False
    reason: str = ""  # why it cannot start offline


@dataclass(frozen=True)
class GateDecision:
    run: bool
    reason: str
    servers: tuple[str, ...] = ()  # the servers to start
    flows: tuple[dict, ...] = ()  # static flows to confirm: {"check", "path", "line", "servers"}
    skipped: tuple[dict, ...] = ()  # servers and flows deliberately not exercised: {"target", "reason"}
    probes: bool = False
    probes_reason: str = ""
    version: str = GATE_VERSION

    def as_dict(self) -> dict:
        return {"version": self.version, "run": self.run, "reason": self.reason, "servers": list(self.servers),
                "flows": [dict(f) for f in self.flows], "skipped": [dict(s) for s in self.skipped],
                "probes": self.probes, "probes_reason": self.probes_reason}


def dynamic_catalogue_categories() -> dict[str, tuple[str, ...]]:
    from triage.dynamic.checks import DYNAMIC_CHECKS

    return {check_id: tuple(check.categories) for check_id, check in DYNAMIC_CHECKS.items()}


def claim_dynamic_checks(claim: GateClaim, catalogue: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The dynamic checks whose categories bear on the claim's kind (none for a kind Assay does not assess)."""
    from triage.policy import CLAIM_CATEGORIES

    categories = CLAIM_CATEGORIES.get(claim.kind, frozenset())
    catalogue = dynamic_catalogue_categories() if catalogue is None else catalogue
    return sorted(check for check, cats in catalogue.items() if set(cats) & categories)


def gate_preconditions(*, claim: GateClaim, sandbox: str, operator_enabled: bool = True, terms_accepted: bool = True,
                       static_decision: str | None = None, static_reasons: Sequence[str] = (),
                       catalogue: Mapping[str, Sequence[str]] | None = None) -> GateDecision | None:
    """P1-P5: a "not run" decision, or None when the stage may go on to discovery."""
    from triage.policy import CLAIM_CATEGORIES

    if not operator_enabled:
        return GateDecision(False, "the operator has not enabled the dynamic stage on this platform")
    if not terms_accepted:
        return GateDecision(False, "the builder has not accepted terms authorising tests of the submitted system "
                                   "for this case")
    if static_decision == "reject":
        why = f" ({static_reasons[0]})" if static_reasons else ""
        return GateDecision(False, f"static triage rejected the case{why}; submitted code is never run for a "
                                   "rejected case")
    if claim.kind not in CLAIM_CATEGORIES:
        return GateDecision(False, f"claim kind {claim.kind!r} is not one Assay assesses")
    if not claim_dynamic_checks(claim, catalogue):
        return GateDecision(False, f"no dynamic check bears on {claim.label()}")
    if sandbox not in RUNNABLE_BACKENDS:
        return GateDecision(False, "submitted code runs only under gvisor or bubblewrap; "
                                   f"the sandbox here is {sandbox}")
    return None


def gate_plan(*, claim: GateClaim, servers: Sequence[GateServer], static_findings: Iterable[Finding] = ()
              ) -> GateDecision:
    """S1-S3 after discovery: which servers to start and which static flows to confirm with canaries."""
    from triage.policy import CLAIM_CATEGORIES

    if not servers:
        return GateDecision(False, "no MCP server found: none declared in a configuration or the manifest, and "
                                   "none defined in code (FastMCP, mcp.server, McpServer/Server with a transport)")
    startable = [s for s in servers if s.can_start]
    if not startable:
        return GateDecision(False, "no MCP server of the submission can start offline on the vetted runtime "
                                   "(reasons per server)")
    selected, skipped = [], []
    for server in startable:
        outside = server_out_of_scope(server, claim)
        if outside:
            skipped.append({"target": f"mcp:{server.name}", "reason": outside})
        else:
            selected.append(server)
    if not selected:
        return GateDecision(False, "every MCP server that can start offline is outside the claim's scope",
                            skipped=tuple(skipped))

    from triage.policy import _in_scope  # the policy's own scope rule, so the gate and the decision agree

    categories = CLAIM_CATEGORIES[claim.kind]
    chosen = {s.name for s in selected}
    flows = []
    for finding in sorted(static_findings, key=Finding.sort_key):
        if not finding.check.startswith(FLOW_FAMILIES):
            continue
        through = flow_servers(finding, servers)
        if not through:
            continue  # not through an MCP server: nothing a canary call could exercise
        relevant = set(finding.categories) & categories and (
            _in_scope(finding, claim.scope_in) or chosen & set(through))
        if relevant:
            flows.append({"check": finding.check, "path": finding.path, "line": finding.line,
                          "servers": list(through)})
        else:
            skipped += [{"target": f"flow {finding.check} via mcp:{name}",
                         "reason": "not exercised: outside the claim's property or scope"} for name in through]
    probes, probes_reason = _probes(claim)
    names = ", ".join(s.name for s in selected)
    reason = (f"{len(selected)} MCP server(s) within the scope of {claim.label()} can start offline ({names}); "
              f"{len(flows)} static flow(s) through them to confirm with a canary")
    return GateDecision(True, reason, servers=tuple(s.name for s in selected), flows=tuple(flows),
                        skipped=tuple(skipped), probes=probes, probes_reason=probes_reason)


def _probes(claim: GateClaim) -> tuple[bool, str]:
    if claim.access_tier is None or claim.access_tier in PROBE_TIERS:
        return True, "allowed: the record is visible to reviewers at this access tier"
    return False, (f"not allowed: the builder offered {claim.access_tier} box access, and probes send the servers' "
                   "descriptions and tool outputs to a model endpoint")


def _matches(entry: str, server: GateServer) -> bool:
    entry = entry.strip().rstrip("/")
    if not entry:
        return False
    if is_component_entry(entry):  # a component id or glob (intake.scope): the server, or a file it lives in
        ids = [f"mcp-server:{server.name}"] + [f"{kind}:{path}" for path in (server.path, server.entry) if path
                                               for kind in ("file", "harness-config")]
        return any(entry_matches(entry, component_id) for component_id in ids)
    if entry.lower() in (server.name.lower(), f"mcp:{server.name.lower()}"):
        return True
    for path in (server.path, server.entry):
        if path and (path == entry or path.startswith(entry + "/")):
            return True
    # Free-text scope ("the tickets MCP server") names a server by its name as a word.
    return re.search(rf"(?<![\w.-]){re.escape(server.name)}(?![\w.-])", entry, re.I) is not None


def server_out_of_scope(server: GateServer, claim: GateClaim) -> str | None:
    """Why ``server`` is outside the claim's scope, or None when it is inside (scope_out wins over scope_in)."""
    for entry in claim.scope_out:
        if _matches(entry, server):
            return f"outside the claim's scope (excluded by {entry.strip()!r})"
    if any(entry.strip() for entry in claim.scope_in) and not any(_matches(e, server) for e in claim.scope_in):
        return "outside the claim's scope (not named in its scope)"
    return None


def flow_servers(finding: Finding, servers: Iterable[GateServer]) -> list[str]:
    """The declared servers a static flow goes through: named in its evidence, or its path is the server's code."""
    names = []
    for server in servers:
        named = re.search(rf"(?<![\w.-])mcp:{re.escape(server.name)}(?![\w.-])", finding.evidence)
        if named or _in_entry(finding.path, server.entry):
            names.append(server.name)
    return names


def _in_entry(path: str, entry: str) -> bool:
    if not entry or not path:
        return False
    folder = entry.rsplit("/", 1)[0] if "/" in entry else ""
    return path == entry or bool(folder) and path.startswith(folder + "/")

