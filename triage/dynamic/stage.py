"""The dynamic stage, host side: discover servers, let the gate choose, run each chosen one in its own sandbox,
judge the records. Whether and with what the stage runs is :mod:`triage.dynamic.gating`'s decision, kept on the
outcome (``DynamicOutcome.gate``).

Everything the sandbox prints is untrusted (it came from code the submitter wrote): it is parsed strictly,
bounded and re-typed into :class:`ServerRun` before any check reads it. Submitted code runs only under a real
sandbox (gVisor or bubblewrap: no network namespace route out, private filesystem); with ``none`` nothing is
started and every server is reported as not run. Nothing here is ever "safe" by default: a server or flow that
could not be exercised is listed under ``not_run`` with the reason.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from intake.archives import printable
from intake.run_dirs import run_dir
from triage.dynamic.checks import DynamicContext, ServerRun, dynamic_findings
from triage.dynamic.gating import (FLOW_FAMILIES, GateClaim, GateDecision, GateServer, flow_servers, gate_plan,
                                   gate_preconditions)
from triage.findings import Finding
from triage.sandbox import Mount, SandboxLimits, SandboxRequest, sandbox_run

MAX_SERVERS = 8
# The whole dynamic run's memory (harness, servers, their runtimes, /tmp and /scratch; gVisor's kernel too).
DYNAMIC_RUN_MEMORY_BYTES = 3 * 1024 ** 3
HARNESS_VERSION = "1"


class DynamicStageError(Exception):
    """The stage itself could not run (the sandbox crashed or answered nonsense). Not the submitter's fault."""


@dataclass(frozen=True)
class DynamicBudget:
    """Limits for one server: the harness enforces the inner ones, the sandbox the outer wall clock."""

    step_seconds: float = 8.0
    call_seconds: float = 5.0
    session_seconds: float = 30.0
    server_memory_bytes: int = 512 * 1024 * 1024
    server_cpu_seconds: int = 20
    server_processes: int = 48  # RLIMIT_NPROC for the server (bites only for non-root sandboxes)
    process_threshold: int = 24  # more live processes than this is a fork storm: the watchdog stops it
    sandbox_wall_seconds: float = 60.0

    def harness(self) -> dict:
        return {"step_seconds": self.step_seconds, "call_seconds": self.call_seconds,
                "session_seconds": self.session_seconds, "memory_bytes": self.server_memory_bytes,
                "cpu_seconds": self.server_cpu_seconds, "processes": self.server_processes,
                "process_threshold": self.process_threshold}

    def sandbox(self) -> SandboxLimits:
        # Address space is not what bounds memory here: V8 reserves far more than it uses, per isolate and per
        # WebAssembly instance (tsx's loader has both). The harness bounds each server instead (RLIMIT_AS for
        # Python, --max-old-space-size for Node); this outer cap only stops a runaway sandbox. What the run really
        # uses (every process, V8's off-heap memory, the tmpfs) is bounded by the run's memory control group.
        return SandboxLimits(wall_seconds=self.sandbox_wall_seconds, cpu_seconds=int(self.sandbox_wall_seconds),
                             output_bytes=8 * 1024 * 1024, processes=self.server_processes + 80,
                             memory_bytes=64 * 1024 ** 3, total_memory_bytes=DYNAMIC_RUN_MEMORY_BYTES)


@dataclass
class DynamicOutcome:
    sandbox: str
    findings: list[Finding]
    not_run: list[dict]
    servers: list[ServerRun]
    records: list[dict] = field(default_factory=list)  # full per-server records (transcripts), for the vault
    duration_s: float = 0.0
    # What a later step (model probes) needs to run a server again under the same plan and limits.
    declared: list[dict] = field(default_factory=list, repr=False)
    base_plan: dict = field(default_factory=dict, repr=False)
    mounts: list = field(default_factory=list, repr=False)
    budget: DynamicBudget | None = field(default=None, repr=False)
    probes: list[dict] = field(default_factory=list)  # model-in-the-loop evidence; never findings
    gate: GateDecision | None = None  # why the stage ran (and with what) or why not (triage.dynamic.gating)

    @property
    def ran(self) -> bool:
        """Whether the gate let submitted code run (servers may still have failed to start)."""
        return self.gate is None or self.gate.run

    @classmethod
    def refused(cls, *, sandbox: str, gate: GateDecision, not_run: list[dict] | None = None,
                duration_s: float = 0.0) -> DynamicOutcome:
        """The stage did not run: ``not_run`` says so for each target, or for the stage as a whole."""
        return cls(sandbox=sandbox, findings=[], servers=[], gate=gate, duration_s=duration_s,
                   not_run=not_run or [{"target": "dynamic stage", "reason": gate.reason}])

    @property
    def pins(self) -> dict[str, dict]:
        """server -> {"pin", "tools"}: what a later run compares against."""
        from triage.dynamic.pins import tool_digests

        return {s.name: {"pin": s.pin, "tools": tool_digests(s.tools)} for s in self.servers if s.started}


def _bootstrap() -> str:
    from triage.sandbox import PROJECT_ROOT

    return ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
            f"sys.path.insert(0, {str(PROJECT_ROOT)!r}); from triage.dynamic.harness import main; main()")


def _harness_run(*, backend: str, plan: dict, mounts: list[Mount], limits: SandboxLimits):  # noqa: ANN202
    from triage.dynamic.runtime import runtime_dir

    scratch = run_dir("dynamic")
    runtime = runtime_dir()
    if runtime.is_dir():  # the vetted runtime, read-only at its own path (launch argv name files inside it)
        mounts = [*mounts, Mount(source=runtime.resolve(), target=str(runtime))]
        plan = {**plan, "runtime_dir": str(runtime)}
    try:
        return sandbox_run(backend=backend, request=SandboxRequest(
            argv=[sys.executable, "-s", "-B", "-c", _bootstrap()], scratch=scratch, mounts=mounts, limits=limits,
            stdin=json.dumps(plan).encode()))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _payload(result) -> dict:  # noqa: ANN001
    try:
        payload = json.loads(result.stdout)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _str(value, limit: int = 4000) -> str:  # noqa: ANN001
    return value[:limit] if isinstance(value, str) else ""


def _dicts(value, limit: int = 200) -> list[dict]:  # noqa: ANN001
    return [v for v in value[:limit] if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value, limit: int = 50) -> list[str]:  # noqa: ANN001
    """The text values of a call's arguments, nested ones included (what an echoing tool may send back)."""
    found: list[str] = []
    stack = [value]
    while stack and len(found) < limit:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item[:4000])
        elif isinstance(item, dict):
            stack.extend(list(item.values())[:50])
        elif isinstance(item, list):
            stack.extend(item[:50])
    return found


def _prompts(value) -> list[dict]:  # noqa: ANN001
    return [{"name": _str(p.get("name"), 200), "description": _str(p.get("description")),
             "arguments": [_str(a, 200) for a in p.get("arguments") or [] if isinstance(a, str)][:50]
             if isinstance(p.get("arguments"), list) else []} for p in _dicts(value)]


def _resources(value) -> list[dict]:  # noqa: ANN001
    return [{"name": _str(r.get("name"), 200), "description": _str(r.get("description")),
             "uri": _str(r.get("uri"), 500)} for r in _dicts(value)]


def _tools(value) -> list[dict]:  # noqa: ANN001
    return [{"name": _str(t.get("name"), 200), "description": _str(t.get("description"), 8000),
             "input_schema": t.get("input_schema") if isinstance(t.get("input_schema"), dict) else {}}
            for t in _dicts(value) if _str(t.get("name"), 200)]


def _server_run(declared: dict, payload: dict) -> ServerRun:
    effects = payload.get("effects") if isinstance(payload.get("effects"), dict) else {}
    clean_effects = {
        "network": [{"destination": _str(n.get("destination"), 300), "canary_seen": n.get("canary_seen") is True,
                     "request_line": _str(n.get("request_line"), 300), "tls": n.get("tls") is True,
                     "payload_seen": n.get("payload_seen") is True, "named_in_code": n.get("named_in_code") is True}
                    for n in _dicts(effects.get("network"), 50)],
        "subprocesses": [{"executable": _str(p.get("executable"), 300), "canary_seen": p.get("canary_seen") is True}
                         for p in _dicts(effects.get("subprocesses"), 50)],
        **{key: [_str(p, 500) for p in (effects.get(key) or [])[:100] if isinstance(p, str)]
           for key in ("files_written", "files_deleted", "canary_files", "private_reads")},
        "databases_destroyed": [
            {"path": _str(d.get("path"), 500), "dropped": [_str(t, 200) for t in d.get("dropped") or [] if isinstance(t, str)][:20],
             "rows_deleted": {_str(k, 200): v for k, v in (d.get("rows_deleted") or {}).items()
                              if isinstance(v, int) and not isinstance(v, bool)}
             if isinstance(d.get("rows_deleted"), dict) else {}}
            for d in _dicts(effects.get("databases_destroyed"), 20)],
    }
    tools_after = payload.get("tools_after")
    relisted = payload.get("relisted") if isinstance(payload.get("relisted"), dict) else None
    return ServerRun(
        name=declared["name"], path=declared["path"], line=declared["line"],
        declared_tools=declared.get("declared_tools"), started=payload.get("started") is True,
        stopped=_str(payload.get("stopped"), 300) or None, instructions=_str(payload.get("instructions")),
        tools=_tools(payload.get("tools")), tools_after=_tools(tools_after) if isinstance(tools_after, list) else None,
        prompts=_prompts(payload.get("prompts")), resources=_resources(payload.get("resources")),
        prompts_after=_prompts(payload["prompts_after"]) if isinstance(payload.get("prompts_after"), list) else None,
        resources_after=(_resources(payload["resources_after"]) if isinstance(payload.get("resources_after"), list)
                         else None),
        relisted=None if relisted is None else {
            "instructions": _str(relisted.get("instructions")), "tools": _tools(relisted.get("tools")),
            "prompts": _prompts(relisted.get("prompts")), "resources": _resources(relisted.get("resources"))},
        calls=[{"tool": _str(c.get("tool"), 200), "is_error": c.get("is_error") is True,
                "result": _str(c.get("result"), 2000), "sent": _strings(c.get("arguments"))}
               for c in _dicts(payload.get("calls"), 20)],
        effects=clean_effects, observation=_str(payload.get("observation"), 40),
        leftover_processes=payload.get("leftover_processes") if isinstance(payload.get("leftover_processes"), int)
        else 0)


def _declared(raw: dict) -> dict | None:
    name = _str(raw.get("name"), 200)
    if not name:
        return None
    line = raw.get("line") if isinstance(raw.get("line"), int) and not isinstance(raw.get("line"), bool) else None
    tools = raw.get("declared_tools")
    argv = raw.get("argv")
    evidence = [{"path": _str(e.get("path"), 1000), "line": e.get("line") if isinstance(e.get("line"), int) else None,
                 "why": _str(e.get("why"), 300)} for e in _dicts(raw.get("evidence"), 10)]
    return {"name": name, "path": _str(raw.get("path"), 1000), "line": line, "entry": _str(raw.get("entry"), 1000),
            "origin": _str(raw.get("origin"), 20), "launch": _str(raw.get("launch"), 1000),
            "transport": _str(raw.get("transport"), 20), "cwd": _str(raw.get("cwd"), 1000),
            "python_set": _str(raw.get("python_set"), 20), "evidence": evidence,
            "declared_tools": [t for t in tools if isinstance(t, str)] if isinstance(tools, list) else None,
            "argv": [a for a in argv if isinstance(a, str)] if isinstance(argv, list) else None,
            "runtime": _str(raw.get("runtime"), 10), "reason": _str(raw.get("reason"), 300),
            "env": {str(k)[:100]: str(v)[:1000] for k, v in (raw.get("env") or {}).items()}
            if isinstance(raw.get("env"), dict) else {}}


def _not_run_reason(result, payload: dict) -> str:  # noqa: ANN001
    if result.timed_out:
        return "stopped: the sandbox wall-time limit was reached"
    stderr = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    return f"the dynamic harness failed ({printable(stderr[0])[:200] or f'exit {result.returncode}'})"


def dynamic_stage_run(*, sources: list, backend: str, manifest: dict | None = None,  # noqa: ANN001
                      static_findings: list[Finding] = (), previous_pins: dict[str, dict] | None = None,
                      budget: DynamicBudget | None = None, unpack_limits: dict | None = None,
                      claim: GateClaim | None = None) -> DynamicOutcome:
    """Discover the MCP servers in ``sources`` (``triage.runner.TriageSource`` objects), let the gate choose
    (:func:`triage.dynamic.gating.gate_plan`), then run and judge the chosen ones.

    ``claim`` is the case's claim; None is an offline run (``triage_path --dynamic``): the whole system in scope.
    """
    started_at = time.monotonic()
    budget = budget or DynamicBudget()
    claim = claim or GateClaim()
    refused = gate_preconditions(claim=claim, sandbox=backend)
    if refused is not None:
        # Not even discovery: without a real sandbox the untrusted tree is not opened on this host.
        return DynamicOutcome.refused(sandbox=backend, gate=refused, duration_s=time.monotonic() - started_at)
    mounts, plan_sources = [], []
    for index, source in enumerate(sources):
        target = f"/input/{index}"
        mounts.append(Mount(source=source.path, target=target))
        plan_sources.append({"path": target, "kind": source.kind, "name": source.name})
    base_plan = {"sources": plan_sources, "manifest": manifest, "limits": unpack_limits or {}}
    # Discovery parses the tree and executes nothing of it.
    result = _harness_run(backend=backend, plan={**base_plan, "mode": "discover"}, mounts=mounts,
                          limits=SandboxLimits(wall_seconds=60))
    payload = _payload(result)
    if result.returncode != 0 or not payload.get("ok"):
        raise DynamicStageError(printable(str(payload.get("error") or _not_run_reason(result, payload)))[:300])
    declared = [d for d in (_declared(raw) for raw in _dicts(payload.get("servers"))) if d is not None]
    manifest_tools = [t for t in payload.get("manifest_tools") or [] if isinstance(t, str)][:500]
    gate_servers = [GateServer(name=d["name"], path=d["path"], entry=d["entry"], can_start=d["argv"] is not None,
                               reason=d["reason"]) for d in declared]
    gate = gate_plan(claim=claim, servers=gate_servers, static_findings=static_findings)

    not_run: list[dict] = [{"target": f"mcp:{d['name']}", "reason": d["reason"] or "cannot be started offline"}
                           for d in declared if d["argv"] is None]
    not_run += [dict(item) for item in gate.skipped]
    if not gate.run:
        not_run.sort(key=lambda item: (item["target"], item["reason"]))
        return DynamicOutcome.refused(sandbox=backend, gate=gate, not_run=not_run,
                                      duration_s=time.monotonic() - started_at)
    servers: list[ServerRun] = []
    records: list[dict] = []
    for server in declared:
        target = f"mcp:{server['name']}"
        if server["name"] not in gate.servers:
            continue  # cannot start offline, or outside the claim: listed above
        if len(servers) >= MAX_SERVERS:
            not_run.append({"target": target, "reason": f"more than {MAX_SERVERS} servers; only the first ran"})
            continue
        result, run_payload = server_run_once(server=server, base_plan=base_plan, mounts=mounts, backend=backend,
                                              budget=budget, canary=new_canary())
        if result.returncode != 0 or not run_payload.get("ok"):
            run = ServerRun(name=server["name"], path=server["path"], line=server["line"],
                            stopped=_not_run_reason(result, run_payload))
        else:
            run = _server_run(server, run_payload)
        servers.append(run)
        records.append(_record(server, run_payload, backend=backend, budget=budget, duration_s=result.duration_s))
        if not run.started:
            not_run.append({"target": target, "reason": _start_failure(run_payload, run)})
        elif run.stopped:
            not_run.append({"target": target, "reason": f"introspection incomplete: {run.stopped}"})

    context = DynamicContext(servers=servers, manifest_tools=manifest_tools, previous_pins=previous_pins or {})
    findings = dynamic_findings(context)
    chosen = {(f["check"], f["path"], f["line"], tuple(f["servers"])) for f in gate.flows}
    flows = [f for f in static_findings
             if (f.check, f.path, f.line, tuple(flow_servers(f, gate_servers))) in chosen]
    not_run += _unconfirmed_flows(flows, servers=servers, declared=declared, findings=findings)
    not_run.sort(key=lambda item: (item["target"], item["reason"]))
    return DynamicOutcome(sandbox=backend, findings=findings, not_run=not_run, servers=servers, records=records,
                          duration_s=time.monotonic() - started_at, declared=declared, base_plan=base_plan,
                          mounts=mounts, budget=budget, gate=gate)


def new_canary() -> str:
    return "assay-canary-" + secrets.token_hex(16)


def server_run_once(*, server: dict, base_plan: dict, mounts: list[Mount], backend: str, budget: DynamicBudget,
                    canary: str, calls: list[dict] | None = None):  # noqa: ANN201 - (SandboxResult, payload)
    """One sandbox run of one declared server: crafted calls, or exactly ``calls`` (a model probe's)."""
    plan = {**base_plan, "mode": "run", "canary": canary, "budget": budget.harness(),
            "server": {"argv": server["argv"], "runtime": server["runtime"], "env": server["env"],
                       "cwd": server.get("cwd") or ""}}
    if calls is not None:
        plan["calls"] = calls
    result = _harness_run(backend=backend, plan=plan, mounts=mounts, limits=budget.sandbox())
    return result, _payload(result)


STDERR_LINES = 3


def _start_failure(payload: dict, run: ServerRun) -> str:
    """Why a server never answered ``initialize``: a limit it hit, or its own exit with the last lines it wrote on
    stderr (what a builder needs to fix it: a missing module, a required setting, a traceback's last frame)."""
    if payload.get("reason"):
        return _str(payload.get("reason"), 300)
    if run.stopped_by_limit:
        return run.stopped
    tail = [printable(line.strip())[:200] for line in _str(payload.get("stderr_tail"), 2000).splitlines()
            if line.strip(" \t~^")][-STDERR_LINES:]  # not a traceback's ~~~^^^ underlines
    what = run.stopped or "failed to start"
    if what.startswith("exited with status"):
        what = f"crashed at start ({what})"
    return f"{what}; last stderr: {' | '.join(tail)}" if tail else f"{what}; it wrote nothing on stderr"


def _unconfirmed_flows(static_findings, *, servers: list[ServerRun], declared: list[dict],  # noqa: ANN001
                       findings: list[Finding]) -> list[dict]:
    """Statically found flows through a server that the canary did not confirm: never 'safe', 'unconfirmed'."""
    confirmed = {f.extra.get("server") for f in findings if f.check == "dynamic.canary-exfiltration"}
    ran = {s.name: s for s in servers}
    known = [GateServer(name=d["name"], path=d.get("path") or "", entry=d.get("entry") or "") for d in declared]
    entries = []
    for finding in static_findings:
        if not finding.check.startswith(FLOW_FAMILIES):
            continue
        for name in flow_servers(finding, known):
            if name in confirmed:
                continue
            run = ran.get(name)
            if run is None or not run.started:
                reason = "unconfirmed: the server did not run"
            elif run.observation not in ("python-audit-hooks", "node-preload"):
                reason = "unconfirmed: network sinks are observed only for Python and Node servers; no canary reached a file"
            else:
                reason = "unconfirmed: direct tool calls with a planted canary reached no sink (a model may still)"
            entries.append({"target": f"flow {finding.check} via mcp:{name}", "reason": reason})
    return entries


def _record(server: dict, payload: dict, *, backend: str, budget: DynamicBudget, duration_s: float) -> dict:
    """What the run leaves for reviewers: inputs, limits, runtime, transcript and effects (canary masked)."""
    from triage.dynamic.runtime import runtime_versions

    return {"server": server["name"], "harness_version": HARNESS_VERSION, "sandbox": backend,
            "runtime": runtime_versions(backend), "limits": asdict(budget),
            "argv": server["argv"], "duration_s": round(duration_s, 3),
            "origin": server.get("origin") or "", "launch": server.get("launch") or "",
            "evidence": server.get("evidence") or [], "python_set": server.get("python_set") or "",
            "start_s": payload.get("start_s") if isinstance(payload.get("start_s"), (int, float)) else None,
            "initialized_s": payload.get("initialized_s") if isinstance(payload.get("initialized_s"), (int, float))
            else None,
            "transcript": _dicts(payload.get("transcript"), 200), "calls": _dicts(payload.get("calls"), 20),
            "effects": payload.get("effects") if isinstance(payload.get("effects"), dict) else {},
            "planted": payload.get("planted") if isinstance(payload.get("planted"), list) else [],
            "stopped": _str(payload.get("stopped"), 300) or None,
            "stderr_tail": _str(payload.get("stderr_tail"), 2000)}


# --- the triage service with the dynamic stage ----------------------------------------------------

def dynamic_after_static(*, sources: list, static, context, manifest: dict | None = None,  # noqa: ANN001
                         policy_version: str | None = None, previous_pins=None,  # noqa: ANN001
                         budget: DynamicBudget | None = None, claim: GateClaim | None = None,
                         operator_enabled: bool = True, terms_accepted: bool = True):  # noqa: ANN201
    """The gate over a static ``TriageOutcome``; when the stage runs, the same policy decides over static and
    dynamic findings together (with the same ``context``), exactly as for a static-only case.

    ``previous_pins`` is a dict or a callable returning one (read only when a server is started).
    Returns ``(TriageOutcome, DynamicOutcome)``.
    """
    from triage.runner import TriagePlatformError, triage_decide

    analysis = static.analysis
    claim = claim or GateClaim()
    static_findings = list(analysis.findings)
    refused = gate_preconditions(claim=claim, sandbox=analysis.sandbox, operator_enabled=operator_enabled,
                                 terms_accepted=terms_accepted, static_decision=static.decision,
                                 static_reasons=static.reasons)
    if refused is not None:
        dynamic = DynamicOutcome.refused(sandbox=analysis.sandbox, gate=refused)
        static.not_run = list(dynamic.not_run)
        return static, dynamic
    if callable(previous_pins):
        previous_pins = previous_pins()
    try:
        dynamic = dynamic_stage_run(sources=sources, backend=analysis.sandbox, manifest=manifest,
                                    static_findings=static_findings, previous_pins=previous_pins, budget=budget,
                                    claim=claim)
    except DynamicStageError as exc:
        raise TriagePlatformError(f"dynamic stage: {exc}") from None
    if not dynamic.ran:
        static.not_run = list(dynamic.not_run)
        return static, dynamic
    from triage.dynamic.probes import dynamic_model_probes, probe_endpoint_from_settings

    endpoint = probe_endpoint_from_settings()
    if endpoint is not None and dynamic.gate.probes:
        # Evidence for reviewers, kept in the record; deliberately not findings, so never a policy input.
        dynamic_model_probes(outcome=dynamic, endpoint=endpoint, canary_factory=new_canary)
    analysis.findings = sorted([*static_findings, *dynamic.findings], key=Finding.sort_key)
    outcome = triage_decide(analysis=analysis, context=context, policy_version=static.policy_version)
    outcome.not_run = list(dynamic.not_run)
    return outcome, dynamic


def pins_read(path: Path) -> dict[str, dict]:
    """Pins saved by an earlier run (``--pin-file``); a missing file means no earlier run."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{printable(str(path))}: not a pin file ({exc.__class__.__name__})") from None
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ValueError(f"{printable(str(path))}: not a pin file (no servers)")
    return {str(name): {"pin": str(entry.get("pin", "")),
                        "tools": {str(k): str(v) for k, v in (entry.get("tools") or {}).items()}}
            for name, entry in servers.items() if isinstance(entry, dict)}


def pins_write(path: Path, pins: dict[str, dict]) -> None:
    """Record the pins of this run, keeping earlier servers that did not run this time."""
    merged = {**pins_read(path), **pins}
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({"version": 1, "servers": merged}, indent=2, sort_keys=True) + "\n")
    partial.replace(path)
