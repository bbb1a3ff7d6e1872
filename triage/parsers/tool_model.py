"""The MCP tool model: servers, their tools/resources/prompts, and what each tool's code does with its inputs.

Language-neutral. Python (``ast``) and JavaScript/TypeScript (tree-sitter) extractors fill it; the capability graph
and the ``tools.*`` / ``injection.*`` checks read it. Nothing here parses: it is the shape both parsers agree on.

A *flow* is taint that provably travels from a tool input (a parameter, or content the tool fetched from a source an
outsider can write) to a dangerous *sink* without passing a sanitiser or containment check; its ``steps`` are the
evidence, source first. An *effect* is what the tool does whatever its inputs (it sends mail, it transfers money).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Sinks a flow can reach. Each maps to one injection class (see triage/checks/injection.py).
FLOW_SINKS = (
    "shell",        # a shell command line built from the input (os.system, shell=True, child_process.exec)
    "code-exec",    # the input runs as code (eval/exec, new Function, vm, python -c <input>)
    "sql",          # SQL text built from the input reaches execute/query (not bound parameters)
    "file-read",    # a path built from the input is opened for reading with no containment check
    "file-write",   # ... for writing
    "file-delete",  # ... for deletion
    "deserialise",  # pickle/yaml.load/marshal/node-serialize on the input
    "ssrf",         # the input chooses the URL or host of an outbound request, with no allow-list
    "template",     # the input is rendered as a server-side template (jinja2 Template(input).render)
    "package-install",  # the input names a package installed at run time (pip/npm install <input>)
)
# Effects a tool has whatever its arguments; kinds shared with triage.parsers.python_code.PyEffect.
EFFECT_KINDS = (
    "shell", "command", "code-exec", "network", "web-fetch", "api-read", "api-write", "email-send", "email-read",
    "messaging", "payments", "database-read", "database-write", "database-drop", "delete", "write-files",
    "read-files", "destructive",  # destructive: bulk or infrastructure deletes, reset_all, wipe, terminate
    "env-to-child",  # starts a child process that inherits the whole environment (credentials included)
)
TOOL_KINDS = ("tool", "resource", "prompt")
SENSITIVE_KINDS = ("ssn", "card-number", "credential", "token", "personal-records", "private-key")


@dataclass(frozen=True)
class Step:
    """One hop of a flow: the line and a short rendering of the statement (``full = os.path.join(BASE, path)``)."""

    line: int
    text: str


@dataclass(frozen=True)
class Flow:
    sink: str  # one of FLOW_SINKS
    source: str  # the parameter name, or "fetched:<call>" for outsider-written content the tool read
    line: int  # the sink's line
    call: str  # the sink call as written, e.g. "cursor.execute", "child_process.exec"
    steps: tuple[Step, ...] = ()  # source first, sink last
    # True when the input was combined with constant text on the way (f-string, +, %, format, join, path.join):
    # injection into a fixed statement. False when the input reaches the sink whole: the tool runs whatever
    # command, query or path it is given (arbitrary execution by design, a privilege question rather than a bug).
    spliced: bool = True
    # Why the sink cannot do what the input asks beyond a bound, when the code confines it: "READ ONLY transaction
    # (l.52)", "read-only connection (l.7)". "" when nothing confines it.
    contained: str = ""
    path: str = ""  # the sink's file when it is not the tool's (a helper imported from another module)

    def render(self) -> str:
        """Evidence text: ``param path -> os.path.join(BASE, path) (l.12) -> open(full) (l.13)``."""
        hops = " -> ".join(f"{s.text} (l.{s.line})" for s in self.steps)
        shown = f"{self.source} -> {hops}" if hops else f"{self.source} -> {self.call} (l.{self.line})"
        return f"{shown} [contained: {self.contained}]" if self.contained else shown


@dataclass(frozen=True)
class Effect:
    kind: str  # one of EFFECT_KINDS
    line: int
    detail: str  # the call as written, with constant arguments, e.g. "smtplib.SMTP.sendmail", "requests.post(https://x/)"
    fixed_target: bool = False  # the host / recipient is a literal in the code (the model cannot choose it)
    path: str = ""  # the call's file when it is not the tool's (a helper imported from another module)


@dataclass(frozen=True)
class Sensitive:
    """Sensitive data a tool returns or a resource exposes, seen as literals or record fields in its code."""

    kind: str  # one of SENSITIVE_KINDS
    line: int
    detail: str  # what was seen, masked by the check that quotes it


@dataclass
class ToolDef:
    kind: str  # tool | resource | prompt
    name: str
    path: str  # posix path of the defining file
    line: int
    language: str  # python | javascript | typescript
    framework: str  # fastmcp | mcp-lowlevel | mcp-typescript | langchain | crewai | openai-agents | ...
    description: str = ""  # as the model will read it (docstring, description=..., 2nd argument of server.tool)
    description_line: int | None = None
    params: tuple[str, ...] = ()  # input names (schema properties or function parameters)
    server: str = ""  # CodeServer.id, or "" for an agent-framework tool not served over MCP
    uri: str = ""  # resources: the URI or template
    effects: list[Effect] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    sensitive: list[Sensitive] = field(default_factory=list)
    gated: bool = False  # the body asks a human (confirmation / elicitation) before acting
    read_only_hint: bool = False  # the author annotates it as not changing its environment (MCP readOnlyHint)


@dataclass
class CodeServer:
    id: str  # "<path>#<name>", stable and unique in the tree
    name: str
    path: str
    line: int
    language: str
    framework: str
    transport: str = "stdio"  # stdio | http | sse | unknown
    tools: list[ToolDef] = field(default_factory=list)
    # How the server would be started ("python server.py", "node dist/index.js"); "" when unknown.
    entry: str = ""
