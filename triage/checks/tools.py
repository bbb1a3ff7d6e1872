"""MCP tools read from code (and tool descriptions in the manifest and instruction files): what their descriptions
tell the model, and what their code does whatever the model asks (sends data out, moves money, returns secrets)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from intake.redaction import mask
from triage.checks import descriptions, skill_scripts
from triage.checks.registry import AnalysisContext, Hit, check
from triage.checks.secrets import looks_random
from triage.graph import PRIVATE, SOURCE, code_tool_capabilities
from triage.parsers import ParsedSystem
from triage.parsers.base import as_dict, as_list, as_str
from triage.parsers.tool_model import CodeServer, ToolDef


def code_tools(system: ParsedSystem) -> list[tuple[ToolDef, CodeServer | None]]:
    """Every tool, resource and prompt of the code model with its server (None for agent-framework tools)."""
    found = [(tool, server) for server in system.code_servers for tool in server.tools]
    found += [(tool, None) for tool in system.code_tools]
    return sorted(found, key=lambda pair: (pair[0].path, pair[0].line, pair[0].kind, pair[0].name))


@dataclass(frozen=True)
class Described:
    """One description the model reads: where it is, whose it is, and the text."""

    path: str
    line: int | None
    label: str  # "tool add", "resource config://x", "manifest tool crm_lookup"
    name: str
    text: str
    server: str  # CodeServer.id, "manifest", or "" for an agent-framework tool


def described(system: ParsedSystem) -> list[Described]:
    found = []
    for tool, server in code_tools(system):
        if tool.description:
            found.append(Described(tool.path, tool.description_line or tool.line, f"{tool.kind} {tool.name}",
                                   tool.name, tool.description, server.id if server else ""))
    for tool in as_list((system.manifest or {}).get("tools")):
        tool = as_dict(tool)
        name, text = as_str(tool.get("name")), as_str(tool.get("description"))
        if text:
            found.append(Described(system.manifest_path, system.manifest_line(f'"{name}"'), f"manifest tool {name}",
                                   name, text, "manifest"))
    return found


def _line_at(described_text: Described, offset: int) -> int | None:
    """The line of an offset in a description, counted from the line the description starts on."""
    if described_text.line is None:
        return None
    return described_text.line + described_text.text.count("\n", 0, offset)


# --- descriptions -------------------------------------------------------------------------------------------

@check("tools.description-injection", title="A tool description carries instructions for the model",
       severity="high", categories=("untrusted_input", "privilege_scope"),
       remediation="Describe only what the tool does and what its parameters mean. Remove instructions addressed to "
                   "the model (hidden blocks, 'do not tell the user', reading other files, passing data through "
                   "extra parameters), and do not install a server whose descriptions do this.",
       rationale="Descriptions enter the model's context before any user input; instructions there steer the agent "
                 "with the server's authority (tool poisoning), often invisibly to the user who approved the tool.")
def description_injection(context: AnalysisContext) -> Iterator[Hit]:
    for item in described(context.system):
        signals = descriptions.poisoning_signals(item.text)
        if signals:
            yield _signal_hit(item, signals)
    for file in context.system.instructions:
        by_line: dict[int, list[str]] = {}
        for signal in descriptions.instruction_signals(file.text):
            by_line.setdefault(file.text.count("\n", 0, signal.start) + 1, []).append(signal.kind)
        for line, kinds in sorted(by_line.items()):
            kinds = descriptions.kinds_of_names(kinds)
            text = descriptions.visible(file.lines[line - 1] if line <= len(file.lines) else "").strip()
            yield Hit(file.path, line, f"({', '.join(kinds)}): {text}", extra={"signals": kinds})


def _signal_hit(item: Described, signals: list[descriptions.Signal]) -> Hit:
    kinds = descriptions.kinds_of(signals)
    first = signals[0]
    text = descriptions.excerpt(item.text, first.start, first.end)
    return Hit(item.path, _line_at(item, first.start), f"{item.label} ({', '.join(kinds)}): {text}",
               severity=descriptions.severity_of(signals), extra={"tool": item.name, "signals": kinds})


@check("tools.hidden-characters", title="A tool description hides characters from human reviewers",
       severity="high", categories=("untrusted_input", "provenance"),
       remediation="Strip zero-width, bidirectional-control and Unicode tag characters from descriptions, and lint "
                   "for them in CI: what the user reviews must be what the model reads.",
       rationale="Invisible characters let a description say one thing to the reviewer and another to the model; "
                 "tag characters can spell whole hidden instructions.")
def hidden_characters(context: AnalysisContext) -> Iterator[Hit]:
    for item in described(context.system):
        found = descriptions.hidden_characters(item.text)
        if not found:
            continue
        codes = sorted({f"U+{ord(char):04X}" for _offset, char in found if ord(char) not in descriptions.TAG_BLOCK})
        if any(ord(char) in descriptions.TAG_BLOCK for _offset, char in found):
            codes.append("tag characters")
        codes = ", ".join(codes[:6])
        offset = found[0][0]
        hidden = descriptions.tag_text(item.text)
        tail = f"; tag characters spell: {hidden[:80]}" if hidden else \
            f": {descriptions.excerpt(item.text, offset, offset + 1, before=30, after=60)}"
        yield Hit(item.path, _line_at(item, offset), f"{item.label}: {len(found)} invisible character(s) ({codes})"
                  f"{tail}", extra={"tool": item.name})


@check("tools.shadowing", title="A tool description directs how other tools behave",
       severity="high", categories=("untrusted_input", "exfiltration"),
       remediation="A tool's description should describe that tool only. Remove directions about other tools or "
                   "about call order; isolate a server that does this from the tools it names.",
       rationale="A description that rewrites how trusted tools behave (always bcc an address, call me first) "
                 "hijacks them without itself ever being called: tool shadowing.")
def shadowing(context: AnalysisContext) -> Iterator[Hit]:
    items = described(context.system)
    by_server: dict[str, list[str]] = {}
    for item in items:
        by_server.setdefault(item.server, []).append(item.name)
    names = {item.name for item in items} | {tool.name for tool, _server in code_tools(context.system)}
    everyone = tuple(sorted(names))
    same_server = {server: frozenset(names) for server, names in by_server.items()}
    for item in items:
        same = same_server[item.server] if item.server else frozenset()
        signals = descriptions.shadowing_in(item.text, own_name=item.name, same_server=same, names=everyone)
        if signals:
            first = signals[0]
            text = descriptions.excerpt(item.text, first.start, first.end)
            yield Hit(item.path, _line_at(item, first.start), f"{item.label}: {text}", extra={"tool": item.name})


@check("tools.secret-in-description", title="A credential is written into a tool description",
       severity="high", categories=("secrets",),
       remediation="Remove the credential from the description and rotate it; descriptions are sent to every "
                   "client and model that lists the tools. Read credentials from the environment at call time.",
       rationale="Whatever a description contains is disclosed to every client, model provider and log that "
                 "sees the tool list.")
def secret_in_description(context: AnalysisContext) -> Iterator[Hit]:
    for item in described(context.system):
        for start, end in descriptions.secret_spans(item.text, looks_random)[:1]:
            left, right = item.text[max(0, start - 40):start], item.text[end:end + 40]
            secret = mask(item.text[start:end])  # masked here: a cut excerpt could escape the evidence masking
            yield Hit(item.path, _line_at(item, start), f"{item.label}: {left.lstrip()}{secret}{right.rstrip()}",
                      extra={"tool": item.name})


# --- what tool code does --------------------------------------------------------------------------------------

EXFIL_EFFECTS = ("email-send", "messaging", "network", "api-write")
# Progress, logging and notifications go back to the connected MCP client, not out of the system.
_TO_CLIENT = re.compile(r"send_?notification|send_?logging_?message|report_?progress|send_?progress|"
                        r"\b(?:ctx|context)\.(?:info|debug|warning|error|log)\b", re.I)


def reads_private(tool: ToolDef) -> bool:
    return any(direction == SOURCE and kind == PRIVATE for direction, kind, _line in code_tool_capabilities(tool))


def _private_reader(tool: ToolDef, server: CodeServer | None) -> str:
    """The name of a tool that reads private data: this one first, else another tool of its server; "" if none."""
    if reads_private(tool):
        return tool.name
    for other in sorted(server.tools if server else [], key=lambda t: (t.path, t.line, t.name)):
        if reads_private(other):
            return other.name
    return ""


@check("tools.exfiltration", title="A tool sends data out of the system",
       severity="high", categories=("exfiltration",),
       remediation="Restrict where the tool can send (a fixed allow-list of recipients or hosts, checked in code), "
                   "send only the fields it needs, and require approval before anything private leaves.",
       rationale="A tool that emails, posts or uploads is the last leg of an exfiltration: whoever steers the model "
                 "chooses what goes out, and with an input-chosen destination also where.")
def exfiltration(context: AnalysisContext) -> Iterator[Hit]:
    for tool, server in code_tools(context.system):
        if tool.gated:
            continue  # a human approves each send, seeing what goes out: the remediation itself
        effects = sorted((e for e in tool.effects if e.kind in EXFIL_EFFECTS and not _TO_CLIENT.search(e.detail)),
                         key=lambda e: (e.line, e.kind, e.detail))
        if not effects:
            continue
        reader = _private_reader(tool, server)
        chosen = any(not effect.fixed_target for effect in effects)
        why = []
        if chosen:
            why.append("destination chosen by the input")
        if reader:
            why.append(f"private data read by {'this tool' if reader == tool.name else reader}")
        first = effects[0]
        evidence = f"{tool.kind} {tool.name}: {first.kind} {first.detail}"
        # A fixed destination with nothing private read, on a tool its author annotates read-only: a query the tool
        # sends to its own service (a POST search), reported low.
        quiet = not why and tool.read_only_hint
        tail = f" ({'; '.join(why)})" if why else " (fixed destination, annotated read-only)" if quiet else \
            " (fixed destination)"
        yield Hit(first.path or tool.path, first.line, evidence + tail,
                  severity="high" if why else "low" if quiet else "medium", extra={"tool": tool.name})
    # a skill's script: the user approves `bash sync.sh`, not what it sends; reading home files and keys makes it
    # the whole exfiltration, a plain upload is only worth a note
    for skill, script, line, detail, private in skill_scripts.skill_uploads(context.system):
        yield Hit(script, line, f"skill {skill.name}: {detail}" + (" (reads home files or credentials)" if private
                                                                  else ""),
                  severity="high" if private else "low", extra={"tool": skill.name})


_BULK_DELETE = re.compile(r"rmtree|rm\s+-\w*r|rimraf|delete_?many|deleteMany|bulk|purge|wipe|truncate|drop|"
                          r"\ball\b|recursive|\*", re.I)
_CRITICAL_ACTIONS = frozenset({"payments", "destructive"})


def _irreversible_effects(tool: ToolDef) -> list:
    found = []
    for effect in tool.effects:
        if effect.kind in ("payments", "destructive", "database-drop"):
            found.append(effect)
        elif effect.kind == "delete" and _BULK_DELETE.search(effect.detail):
            found.append(effect)
        elif effect.kind == "database-write" and not tool.server:
            found.append(effect)  # an agent-framework SQL tool: DML on whatever the model writes
    return sorted(found, key=lambda e: (e.kind not in _CRITICAL_ACTIONS, e.line, e.kind, e.detail))


@check("tools.irreversible-action", title="A tool takes an irreversible action without asking a human",
       severity="high", categories=("irreversible_action",),
       remediation="Ask the user (elicitation or a confirmation step) before payments, bulk deletes and drops, show "
                   "what will happen, enforce amount and scope limits in code, and prefer reversible operations.",
       rationale="A model steered by injected text can trigger it, and money sent or data destroyed does not come "
                 "back.")
def irreversible_action(context: AnalysisContext) -> Iterator[Hit]:
    for tool, _server in code_tools(context.system):
        if tool.gated:
            continue
        effects = _irreversible_effects(tool)
        if not effects:
            continue
        first = effects[0]
        # ``bounded``: the tool compares an amount or count against a limit (when the extractor can tell).
        limited = bool(getattr(tool, "bounded", False))
        severity = "critical" if first.kind in _CRITICAL_ACTIONS and not limited else "high"
        limit = "" if limited or first.kind not in _CRITICAL_ACTIONS else ", no limit"
        yield Hit(first.path or tool.path, first.line,
                  f"{tool.kind} {tool.name}: {first.kind} {first.detail} (no approval{limit})",
                  severity=severity, extra={"tool": tool.name})
    for skill in context.system.skills:
        # the skill tells the agent to run its destructive script without asking, or an allow rule pre-approves it
        waives = skill_scripts.skill_waives_confirmation(context.system, skill)
        for script, line, kind, detail in skill_scripts.skill_irreversible(context.system, skill)[:1]:
            approved = skill_scripts.pre_approved(context.system, script)
            if waives or approved:
                why = "pre-approved" if approved else "its instructions say not to ask"
                yield Hit(script, line, f"skill {skill.name}: {kind} {detail} ({why})", extra={"tool": skill.name})


_SEVERE_DATA = frozenset({"ssn", "card-number", "credential", "private-key"})
_SECRET_DATA = frozenset({"credential", "token", "private-key"})
_DIGITS = re.compile(r"\d(?:[\d \-]*\d)?")
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{8,}")


def _mask_data(kind: str, detail: str) -> str:
    """Numbers keep their last two digits; for credentials, long tokens are masked too."""
    text = _DIGITS.sub(lambda m: re.sub(r"\d", "*", m.group(0)[:-2]) + m.group(0)[-2:]
                       if sum(c.isdigit() for c in m.group(0)) >= 4 else m.group(0), detail)
    if kind in _SECRET_DATA:
        text = _TOKEN.sub(lambda m: mask(m.group(0)) if any(c.isdigit() for c in m.group(0)) else m.group(0), text)
    return text


@check("tools.sensitive-output", title="A tool returns sensitive data (identifiers, card numbers, credentials)",
       severity="high", categories=("private_data",),
       remediation="Return only the fields the task needs: mask identifiers and card numbers, never return "
                   "credentials or keys, and check the caller is entitled to the record.",
       rationale="Whatever a tool returns enters the model's context, where injected instructions can send it on; "
                 "returning identifiers or credentials makes every other sink an exfiltration path.")
def sensitive_output(context: AnalysisContext) -> Iterator[Hit]:
    for tool, _server in code_tools(context.system):
        if not tool.sensitive:
            continue
        entries = sorted(tool.sensitive, key=lambda s: (s.kind not in _SEVERE_DATA, s.line, s.kind, s.detail))
        kinds = sorted({entry.kind for entry in entries})
        first = entries[0]
        categories = ("private_data", "secrets") if set(kinds) & _SECRET_DATA else ("private_data",)
        verb = "exposes" if tool.kind == "resource" else "returns"
        severity = "high" if first.kind in _SEVERE_DATA else "medium"
        yield Hit(tool.path, first.line, f"{tool.kind} {tool.name} {verb} {', '.join(kinds)}: "
                  f"{_mask_data(first.kind, first.detail)}", severity=severity, categories=categories,
                  extra={"tool": tool.name, "kinds": kinds})


@check("tools.env-to-child", title="A tool starts a process that inherits the whole environment",
       severity="medium", categories=("secrets", "privilege_scope"),
       remediation="Pass the child an explicit minimal environment (PATH and the variables it needs), never a copy "
                   "of os.environ / process.env with the server's credentials.",
       rationale="Every credential in the server's environment becomes readable by the child process, which is "
                 "often a command the model chose.")
def env_to_child(context: AnalysisContext) -> Iterator[Hit]:
    for tool, _server in code_tools(context.system):
        for effect in sorted((e for e in tool.effects if e.kind == "env-to-child"), key=lambda e: (e.line, e.detail)):
            yield Hit(effect.path or tool.path, effect.line, f"{tool.kind} {tool.name}: {effect.detail}",
                      extra={"tool": tool.name})


_WHOLE_INPUT_SINKS = {"shell": "shell command", "code-exec": "code", "sql": "SQL statement"}


def _approved_everywhere(context: AnalysisContext, tool: ToolDef) -> bool:
    """Every agent handed the tool asks a human first (approval on the agent, an interrupt before tools)."""
    if "gated_by_tool" not in context.cache:  # (tool, file) -> gated flags of every capability it grants
        index: dict[tuple[str, str], list[bool]] = {}
        for agent in context.graph.sorted_agents():
            for cap in agent.capabilities:
                index.setdefault((cap.via, cap.path), []).append(cap.gated)
        context.cache["gated_by_tool"] = index
    uses = context.cache["gated_by_tool"].get((tool.name, tool.path), [])
    return bool(uses) and all(uses)


@check("tools.arbitrary-execution", title="An agent tool runs whatever command, code or SQL the model writes",
       severity="high", categories=("privilege_scope", "irreversible_action"),
       remediation="Replace the open-ended tool with narrow ones (fixed commands or queries with validated "
                   "arguments), run what remains as a least-privileged user or read-only database role in a sandbox, "
                   "and require human approval before each execution.",
       rationale="A tool that executes any command or statement hands the model, and whoever steers it through "
                 "a page, email or ticket it reads, every privilege the agent process or database role holds.")
def arbitrary_execution(context: AnalysisContext) -> Iterator[Hit]:
    for tool, server in code_tools(context.system):
        if server is not None or tool.gated:
            continue  # MCP server tools: the client asks per call; injection.* reports their flows
        writes = any(e.kind in ("database-write", "database-drop") for e in tool.effects)
        whole = sorted((f for f in tool.flows if f.sink in _WHOLE_INPUT_SINKS and not f.spliced
                        and not f.source.startswith("fetched:") and (f.sink != "sql" or writes)),
                       key=lambda f: (f.line, f.sink, f.source))
        if not whole or _approved_everywhere(context, tool):
            continue
        first = whole[0]
        what = _WHOLE_INPUT_SINKS[first.sink]
        yield Hit(first.path or tool.path, first.line, f"{tool.kind} {tool.name} runs any {what} it is given, with no "
                  f"approval: {first.render()}", extra={"tool": tool.name})


@check("tools.runtime-install", title="A tool installs packages or runs code it fetched at run time",
       severity="high", categories=("provenance", "privilege_scope"),
       remediation="Ship plugins as reviewed, pinned dependencies of the server (hashes in a lock file); never let a "
                   "tool install a package the model names or execute code downloaded at run time. If plugins are "
                   "a feature, load them only from an allow-list of pinned, signed artefacts, behind approval.",
       rationale="Whoever steers the model picks what gets installed or executed: a typosquatted package or a page "
                 "of attacker code then runs with the server's credentials, outside any review of the server.")
def runtime_install(context: AnalysisContext) -> Iterator[Hit]:
    for tool, _server in code_tools(context.system):
        flows = sorted((f for f in tool.flows if f.sink == "package-install" or (
            f.sink == "code-exec" and f.source.startswith("fetched:"))), key=lambda f: (f.line, f.sink, f.source))
        if not flows:
            continue
        first = flows[0]
        what = "installs a package the input names" if first.sink == "package-install" else \
            "executes code it downloaded"
        yield Hit(first.path or tool.path, first.line, f"{tool.kind} {tool.name} {what}: {first.render()}",
                  severity="medium" if tool.gated else None, extra={"tool": tool.name})
