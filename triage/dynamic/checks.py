"""The dynamic check catalogue: what the running servers really expose and do.

Same shape as the static catalogue (:mod:`triage.checks.registry`: stable id, title, severity, categories,
remediation, rationale; evidence masked by the same function) but kept in its own registry, because these
checks read a :class:`DynamicContext` (introspection records) rather than the parsed tree, and the static
catalogue's guarantees (every check has a fixture system and a taxonomy row) are about static analysis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from triage.checks import descriptions
from triage.checks.registry import ID_PATTERN, Check, Hit
from triage.findings import CATEGORIES, SEVERITY_RANK, Finding
from triage.dynamic.pins import offer_digests, tool_digests, tool_set_drift, tool_set_pin

DYNAMIC_CHECKS: dict[str, Check] = {}
# Stop reasons that are the server's own exit or a failure of ours, not a sandbox limit it ran into.
NOT_LIMIT_STOPS = ("exited with status", "protocol failure", "failed to start", "the dynamic harness failed")
INPUT_HOST = "assay-input.invalid"  # the URL we hand to URL parameters ourselves; following it is not a leak


@dataclass
class ServerRun:
    """One server's dynamic record as the host parsed it (every field already bounded and typed)."""

    name: str
    path: str
    line: int | None
    declared_tools: list[str] | None = None
    reason: str | None = None  # why it was not run
    started: bool = False
    stopped: str | None = None
    instructions: str = ""
    tools: list[dict] = field(default_factory=list)
    tools_after: list[dict] | None = None
    prompts: list[dict] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)
    prompts_after: list[dict] | None = None
    resources_after: list[dict] | None = None
    relisted: dict | None = None  # {"instructions", "tools", "prompts", "resources"} of a second session
    calls: list[dict] = field(default_factory=list)
    effects: dict = field(default_factory=dict)
    observation: str = ""
    leftover_processes: int = 0

    @property
    def pin(self) -> str:
        return tool_set_pin(self.tools)

    @property
    def stopped_by_limit(self) -> bool:
        """Stopped by one of our limits (hung, flooded, forked, exhausted memory), not by exiting or crashing on its
        own: a crash says nothing about the server's behaviour, so it is a ``not_run`` reason, never a finding."""
        return bool(self.stopped) and not self.stopped.startswith(NOT_LIMIT_STOPS)


@dataclass
class DynamicContext:
    servers: list[ServerRun]
    manifest_tools: list[str] = field(default_factory=list)
    previous_pins: dict[str, dict] = field(default_factory=dict)  # server -> {"pin", "tools": {name: digest}}


def dynamic_check(id: str, *, title: str, severity: str, categories: tuple[str, ...], remediation: str,  # noqa: A002
                  rationale: str) -> Callable:
    if not ID_PATTERN.match(id) or not id.startswith("dynamic."):
        raise ValueError(f"dynamic check id {id!r} must look like dynamic.name")
    if id in DYNAMIC_CHECKS:
        raise ValueError(f"check id {id!r} registered twice")
    if severity not in SEVERITY_RANK or not categories or set(categories) - set(CATEGORIES):
        raise ValueError(f"check {id!r} has a bad severity or categories")

    def register(func: Callable[[DynamicContext], Iterable[Hit]]) -> Callable:
        DYNAMIC_CHECKS[id] = Check(id, title, severity, tuple(categories), remediation, rationale, func)
        return func

    return register


def dynamic_findings(context: DynamicContext) -> list[Finding]:
    found = [finding for key in sorted(DYNAMIC_CHECKS) for finding in DYNAMIC_CHECKS[key].findings(context)]
    return sorted(found, key=Finding.sort_key)


def _started(context: DynamicContext) -> Iterator[ServerRun]:
    return (server for server in context.servers if server.started)


def _texts(server: ServerRun) -> Iterator[tuple[str, str]]:
    """(where, text) for everything a model would read from this server."""
    relisted = server.relisted or {}
    for instructions in dict.fromkeys([server.instructions, relisted.get("instructions") or ""]):
        if instructions:
            yield "server instructions", instructions
    seen: set[tuple[str, str]] = set()  # a listing repeated after the calls or on restart is read once
    for tool in [*server.tools, *(server.tools_after or []), *relisted.get("tools", [])]:
        if (tool["name"], tool.get("description", "")) in seen:
            continue
        seen.add((tool["name"], tool.get("description", "")))
        yield f"tool {tool['name']}", tool.get("description", "")
        for key, prop in _properties(tool.get("input_schema")):
            if isinstance(prop.get("description"), str):
                yield f"tool {tool['name']} parameter {key}", prop["description"]
    for kind, items in (("prompt", [*server.prompts, *(server.prompts_after or []), *relisted.get("prompts", [])]),
                        ("resource", [*server.resources, *(server.resources_after or []),
                                      *relisted.get("resources", [])])):
        for item in items:
            if (kind + item["name"], item.get("description", "")) not in seen:
                seen.add((kind + item["name"], item.get("description", "")))
                yield f"{kind} {item['name']}", item.get("description", "")


def _properties(schema: object) -> list[tuple[str, dict]]:
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return []
    return [(str(k), v) for k, v in schema["properties"].items() if isinstance(v, dict)]


# --- description checks ---------------------------------------------------------------------------

_INSTRUCTION = re.compile(
    r"ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?|messages)|"
    r"<\s*/?\s*(important|system|instructions?|secret|hidden)\s*>|"
    r"do not (tell|mention|inform|reveal|show)[^.]{0,20}(user|human)|without (telling|informing) the user|"
    r"before (using|calling) (this|any) tool|"
    r"(read|open|cat|send|include|pass)[^.]{0,40}(~/\.ssh|id_rsa|\.env\b|credentials|api[_ ]?key|private key)|"
    r"you must (always|first|now)|new instructions:|disregard (the|your) (system|previous)",
    re.I)
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{48,}={0,2}(?![A-Za-z0-9+/])")


def _excerpt(text: str, match: re.Match) -> str:
    start = max(match.start() - 40, 0)
    return text[start: match.end() + 60]


@dynamic_check("dynamic.tool-poisoning", title="A running MCP server's descriptions carry instructions for the model",
               severity="critical", categories=("untrusted_input", "privilege_scope"),
               remediation="Remove instructions from tool, prompt and resource descriptions; describe only what the "
                           "tool does. Do not enable a server whose descriptions address the model.",
               rationale="Descriptions go straight into the model's context; hidden instructions there steer the agent "
                         "before any user input arrives (tool poisoning).")
def tool_poisoning(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for where, text in _texts(server):
            match = _INSTRUCTION.search(text)
            if match:
                yield Hit(server.path, server.line, f"{server.name}: {where}: {_excerpt(text, match)}",
                          extra={"server": server.name})
                continue
            # Static triage's description analysis, on what the server really returned (issue 17 item 4).
            signals = descriptions.poisoning_signals(text)
            if signals:
                yield Hit(server.path, server.line, f"{server.name}: {where}: "
                          f"{descriptions.excerpt(text, signals[0].start, signals[0].end)}",
                          severity=descriptions.severity_of(signals),
                          extra={"server": server.name, "signals": descriptions.kinds_of(signals)})


def _without_echo(text: str, echoed: list[str]) -> str:
    """A tool result with what we sent the server cut out: an echo of our own crafted input (which carries an
    injection on purpose) is not the server injecting anything."""
    for value in sorted(echoed, key=len, reverse=True):
        for form in {value, json.dumps(value)[1:-1]}:
            if len(form) >= 8:
                text = text.replace(form, " ")
    return text


@dynamic_check("dynamic.tool-output-injection", title="A running MCP tool returned instructions aimed at the agent",
               severity="high", categories=("untrusted_input",),
               remediation="Treat what the tool returns as data: mark or quote third-party content, strip instructions "
                           "from it, and keep tools that read untrusted content apart from tools that act or send.",
               rationale="A tool result enters the model's context like a user message; instructions in it (an e-mail, "
                         "a web page, a review) steer the agent toward actions nobody asked for.")
def tool_output_injection(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        echoed = [value for call in server.calls for value in call.get("sent", [])]
        for call in server.calls:
            if call.get("is_error"):
                continue
            text = _without_echo(call.get("result", ""), echoed)
            signals = descriptions.instruction_signals(text)
            if signals:
                first = signals[0]
                yield Hit(server.path, server.line, f"{server.name}: tool {call['tool']} returned: "
                          f"{descriptions.excerpt(text, first.start, first.end)}",
                          extra={"server": server.name, "tool": call["tool"],
                                 "signals": descriptions.kinds_of(signals)})


@dynamic_check("dynamic.hidden-text", title="A running MCP server hides text in its descriptions",
               severity="high", categories=("untrusted_input",),
               remediation="Strip zero-width, bidirectional and tag characters and encoded blobs from descriptions; "
                           "what the user reviews must be what the model reads.",
               rationale="Invisible characters and encoded payloads let a description say one thing to a reviewer "
                         "and another to the model.")
def hidden_text(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for where, text in _texts(server):
            invisible = _INVISIBLE.search(text)
            blob = _BASE64_BLOB.search(text)
            if invisible:
                yield Hit(server.path, server.line, f"{server.name}: {where}: invisible character "
                          f"U+{ord(invisible.group(0)):04X} in {_excerpt(text, invisible)}", extra={"server": server.name})
            if blob:
                yield Hit(server.path, server.line, f"{server.name}: {where}: encoded blob of {len(blob.group(0))} "
                          f"characters", extra={"server": server.name})


@dynamic_check("dynamic.tool-shadowing", title="A running MCP server's descriptions refer to other servers' tools",
               severity="high", categories=("untrusted_input", "exfiltration"),
               remediation="A tool's description should only describe that tool. Remove the server, or isolate it in "
                           "a session without the tools it names.",
               rationale="A description that tells the model how to use another server's tools (shadowing) hijacks "
                         "trusted tools without ever being called itself.")
def tool_shadowing(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        others = {t["name"] for other in context.servers if other is not server for t in other.tools}
        others |= set(context.manifest_tools) - {t["name"] for t in server.tools}
        names = [n for n in sorted(others) if len(n) >= 4]
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
        generic = re.compile(r"\b(when|whenever|if)\b[^.]{0,60}\b(from|of|provided by|in) (the |an? |another |other )?"
                             r"[\w-]+ (server|mcp|integration)\b|\b(other|another) (server|mcp)'?s? tools?", re.I)
        for where, text in _texts(server):
            match = (pattern.search(text) if pattern else None) or generic.search(text)
            if match:
                yield Hit(server.path, server.line, f"{server.name}: {where}: {_excerpt(text, match)}",
                          extra={"server": server.name})


@dynamic_check("dynamic.undeclared-tool", title="A running MCP server exposes tools its manifest does not declare",
               severity="medium", categories=("provenance",),
               remediation="Declare every tool the server exposes in the manifest, or restrict the server to the "
                           "declared tools (allowlist them in the client).",
               rationale="Reviewers and policy judge the declared tool set; undeclared tools escape that review.")
def undeclared_tool(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        if server.declared_tools is None:
            continue
        exposed = {t["name"] for t in [*server.tools, *(server.tools_after or [])]}
        extra = sorted(exposed - set(server.declared_tools))
        if extra:
            yield Hit(server.path, server.line, f"{server.name}: not in the manifest: {', '.join(extra[:10])}",
                      extra={"server": server.name, "tools": extra})


_COMMAND_PARAM = re.compile(r"^(cmd|command|commands|shell|script|bash|sh|exec|code|program)$", re.I)
_URL_PARAM = re.compile(r"(^|_)(url|uri|endpoint|webhook|host)s?$", re.I)


def _open_string(prop: dict) -> bool:
    return prop.get("type") in ("string", None) and "enum" not in prop and "const" not in prop \
        and "pattern" not in prop


@dynamic_check("dynamic.arbitrary-command-schema", title="A running MCP tool accepts an arbitrary shell command",
               severity="high", categories=("privilege_scope",),
               remediation="Replace the free-form command with specific operations (an enum), or require approval "
                           "for every call and run the server sandboxed without network.",
               rationale="A tool that runs any command hands the model, and whoever writes its inputs, a shell.")
def arbitrary_command_schema(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for tool in server.tools:
            for key, prop in _properties(tool.get("input_schema")):
                if _COMMAND_PARAM.match(key) and _open_string(prop):
                    yield Hit(server.path, server.line, f"{server.name}: tool {tool['name']} takes free-form '{key}'",
                              extra={"server": server.name, "tool": tool["name"]})


@dynamic_check("dynamic.arbitrary-url-schema", title="A running MCP tool accepts any URL",
               severity="medium", categories=("exfiltration",),
               remediation="Restrict the URL parameter to an allowlist (enum or pattern) or enforce an egress "
                           "allowlist around the server.",
               rationale="A tool that fetches or posts to any URL is a way out for data the agent holds.")
def arbitrary_url_schema(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for tool in server.tools:
            for key, prop in _properties(tool.get("input_schema")):
                if (_URL_PARAM.search(key) or prop.get("format") == "uri") and _open_string(prop):
                    yield Hit(server.path, server.line, f"{server.name}: tool {tool['name']} takes any URL in '{key}'",
                              extra={"server": server.name, "tool": tool["name"]})


# --- pinning and drift ----------------------------------------------------------------------------

@dynamic_check("dynamic.tool-set-pinned", title="Pinned the tool set a running MCP server exposes",
               severity="info", categories=("provenance",),
               remediation="Keep the pin; a later run or re-submission is compared against it.",
               rationale="A canonical hash of names, descriptions and schemas makes a silent change detectable.")
def tool_set_pinned(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        yield Hit(server.path, server.line, f"{server.name}: {len(server.tools)} tools; pin {server.pin}",
                  extra={"server": server.name, "pin": server.pin, "tools": tool_digests(server.tools)})


@dynamic_check("dynamic.tool-set-changed-in-session",
               title="A running MCP server changed its tools after being called (rug pull)",
               severity="critical", categories=("provenance", "untrusted_input"),
               remediation="Do not use a server whose tools change after approval; pin the tool set in the client "
                           "and refuse list changes.",
               rationale="Approving a benign listing means nothing if the server swaps descriptions or adds tools "
                         "once it is trusted.")
def tool_set_changed_in_session(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        if server.tools_after is None:
            continue
        drift = tool_set_drift(tool_digests(server.tools), tool_digests(server.tools_after))
        if drift:
            yield Hit(server.path, server.line, f"{server.name}: {drift.describe()}",
                      extra={"server": server.name, "added": drift.added, "removed": drift.removed,
                             "changed": drift.changed})


def _offer(server: ServerRun, *, instructions: str, tools: list[dict], prompts: list[dict],
           resources: list[dict]) -> dict[str, str]:
    return offer_digests(instructions=instructions, tools=tools, prompts=prompts, resources=resources)


@dynamic_check("dynamic.prompts-changed-in-session",
               title="A running MCP server changed its prompts or resources after being called (rug pull)",
               severity="critical", categories=("provenance", "untrusted_input"),
               remediation="Do not use a server whose prompts or resources change after approval; pin what it "
                           "offers in the client and refuse list changes.",
               rationale="Prompts and resource descriptions reach the model like tool descriptions; swapping them "
                         "after the first calls defeats the review of the first listing.")
def prompts_changed_in_session(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        if server.prompts_after is None and server.resources_after is None:
            continue
        before = _offer(server, instructions="", tools=[], prompts=server.prompts, resources=server.resources)
        after = _offer(server, instructions="", tools=[], prompts=server.prompts_after or server.prompts,
                       resources=server.resources_after or server.resources)
        drift = tool_set_drift(before, after)
        if drift:
            yield Hit(server.path, server.line, f"{server.name}: {drift.describe()}",
                      extra={"server": server.name, "added": drift.added, "removed": drift.removed,
                             "changed": drift.changed})


@dynamic_check("dynamic.offer-changed-on-restart",
               title="A running MCP server offered different tools, prompts or resources when started again "
                     "(rug pull)",
               severity="critical", categories=("provenance", "untrusted_input"),
               remediation="Do not use a server whose offer changes between sessions; pin tools, prompts and "
                           "resources in the client and re-review any change before it reaches the model.",
               rationale="The server was started twice on the same scratch state: what a user approved on the first "
                         "start is not what the model reads on the next one.")
def offer_changed_on_restart(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        if server.relisted is None:
            continue
        first = _offer(server, instructions=server.instructions, tools=server.tools, prompts=server.prompts,
                       resources=server.resources)
        again = _offer(server, instructions=server.relisted.get("instructions") or "",
                       tools=server.relisted.get("tools", []), prompts=server.relisted.get("prompts", []),
                       resources=server.relisted.get("resources", []))
        drift = tool_set_drift(first, again)
        if drift:
            yield Hit(server.path, server.line, f"{server.name}: on restart {drift.describe()}",
                      extra={"server": server.name, "added": drift.added, "removed": drift.removed,
                             "changed": drift.changed})


@dynamic_check("dynamic.tool-set-drift", title="A running MCP server's tools differ from its earlier pin",
               severity="high", categories=("provenance",),
               remediation="Review the changed tools and descriptions before re-approving the server; pin versions.",
               rationale="A changed tool set between runs or submissions is how rug pulls look from outside.")
def tool_set_drift_check(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        previous = context.previous_pins.get(server.name)
        if not previous or previous.get("pin") == server.pin:
            continue
        drift = tool_set_drift(previous.get("tools") or {}, tool_digests(server.tools))
        yield Hit(server.path, server.line,
                  f"{server.name}: pin {previous.get('pin')} -> {server.pin}; {drift.describe() or 'changed'}",
                  extra={"server": server.name, "added": drift.added, "removed": drift.removed,
                         "changed": drift.changed})


# --- observed effects (canary flows) ----------------------------------------------------------------

def _outbound(server: ServerRun) -> list[dict]:
    return [n for n in server.effects.get("network", []) if not str(n.get("destination")).startswith(INPUT_HOST)]


@dynamic_check("dynamic.canary-exfiltration", title="A planted canary secret reached a sink when a tool was called",
               severity="critical", categories=("exfiltration", "private_data"),
               remediation="The tool sends data it was given or can read to a destination of its own. Remove the "
                           "server, or run it with egress blocked and no access to secrets.",
               rationale="Observed, not inferred: the unique canary from the sandbox's private data was seen leaving "
                         "through the sink (captured inside the sandbox; nothing left the machine).")
def canary_exfiltration(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for item in _outbound(server):
            if item.get("canary_seen"):
                yield Hit(server.path, server.line, f"{server.name}: canary sent to {item['destination']} "
                          f"({item.get('request_line') or 'raw bytes'})", extra={"server": server.name})
        for proc in server.effects.get("subprocesses", []):
            if proc.get("canary_seen"):
                yield Hit(server.path, server.line, f"{server.name}: canary passed to {proc['executable']}",
                          extra={"server": server.name})
        for path in server.effects.get("canary_files", []):
            yield Hit(server.path, server.line, f"{server.name}: canary written to {path}", extra={"server": server.name})


@dynamic_check("dynamic.network-egress-attempt", title="A tool tried to connect out during a sandboxed call",
               severity="high", categories=("exfiltration",),
               remediation="Declare the destinations the server needs and enforce an egress allowlist, or remove the "
                           "network access.",
               rationale="Outbound connections nobody asked for are how data leaves; the attempt was captured inside "
                         "the sandbox and never delivered.")
def network_egress_attempt(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for item in _outbound(server):
            if item.get("canary_seen"):
                continue
            if item.get("named_in_code") and item.get("payload_seen"):
                # The destination is one the submitted code names (a documented API), and what it would have been
                # sent was read in full (TLS included) with no canary in it: a dependency to declare, not a leak.
                yield Hit(server.path, server.line, f"{server.name}: connection to {item['destination']}, a "
                          "destination its code names; what it would have sent carried no planted secret",
                          severity="low", extra={"server": server.name})
            else:
                yield Hit(server.path, server.line, f"{server.name}: connection to {item['destination']}",
                          extra={"server": server.name})


@dynamic_check("dynamic.files-deleted", title="A tool deleted existing files during a sandboxed call",
               severity="high", categories=("irreversible_action",),
               remediation="Make deletion an explicit, approved operation limited to a named scratch area.",
               rationale="Deleting files it was not asked to delete is irreversible outside a sandbox.")
def files_deleted(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        deleted = server.effects.get("files_deleted", [])
        if deleted:
            yield Hit(server.path, server.line, f"{server.name}: deleted {len(deleted)} files: {', '.join(deleted[:5])}",
                      extra={"server": server.name, "files": deleted})


@dynamic_check("dynamic.database-destroyed", title="A tool dropped tables or deleted rows of an existing database",
               severity="high", categories=("irreversible_action",),
               remediation="Open databases read-only for tools that only read; make deletion an explicit, approved "
                           "operation on named rows, with a backup, never a side effect of another tool.",
               rationale="Observed on a scratch SQLite database planted before the server started (and on any the "
                         "submission ships): rows that were there before the calls are gone.")
def database_destroyed(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for item in server.effects.get("databases_destroyed", []):
            parts = ([f"dropped {', '.join(item['dropped'][:5])}"] if item["dropped"] else []) + [
                f"deleted {count} rows of {table}" for table, count in list(item["rows_deleted"].items())[:5]]
            yield Hit(server.path, server.line, f"{server.name}: {item['path']}: {'; '.join(parts)}",
                      extra={"server": server.name})


@dynamic_check("dynamic.files-written", title="A tool wrote files outside its temporary directory",
               severity="medium", categories=("privilege_scope",),
               remediation="Confine writes to a declared working directory and mount everything else read-only.",
               rationale="Writes outside scratch space change the user's files or configuration.")
def files_written(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        written = [p for p in server.effects.get("files_written", []) if not p.startswith("/scratch/tmp/")]
        if written:
            yield Hit(server.path, server.line, f"{server.name}: wrote {', '.join(written[:5])}",
                      extra={"server": server.name, "files": written})


@dynamic_check("dynamic.subprocess-spawned", title="A tool started other programs during a sandboxed call",
               severity="medium", categories=("privilege_scope",),
               remediation="Avoid shelling out from tools; if needed, run a fixed program with fixed arguments.",
               rationale="Subprocesses widen what a tool can do beyond its description.")
def subprocess_spawned(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        for proc in server.effects.get("subprocesses", [])[:5]:
            yield Hit(server.path, server.line, f"{server.name}: ran {proc['executable']}",
                      extra={"server": server.name})


@dynamic_check("dynamic.private-data-read", title="A tool read planted private data during a sandboxed call",
               severity="medium", categories=("private_data",),
               remediation="Tools should read only what their description says; keep credentials out of their reach.",
               rationale="Reading credential files it was not asked for is the first leg of a leak.")
def private_data_read(context: DynamicContext) -> Iterator[Hit]:
    for server in _started(context):
        reads = server.effects.get("private_reads", [])
        if reads:
            yield Hit(server.path, server.line, f"{server.name}: read {', '.join(reads[:5])}",
                      extra={"server": server.name})


@dynamic_check("dynamic.server-stopped", title="An MCP server was stopped by a sandbox limit",
               severity="medium", categories=("privilege_scope",),
               remediation="Make the server start promptly, answer the protocol, and stay within bounded memory, "
                           "output and processes.",
               rationale="A server that hangs, floods, forks or exhausts memory is a denial of service for the agent "
                         "and hides whatever it would do next; nothing about it could be confirmed.")
def server_stopped(context: DynamicContext) -> Iterator[Hit]:
    for server in context.servers:
        if server.stopped_by_limit:
            yield Hit(server.path, server.line, f"{server.name}: {server.stopped}", extra={"server": server.name})
