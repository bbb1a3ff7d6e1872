"""The capability graph: which agent can reach which data sources and sinks, and what stands in the way.

Built from every parsed file together: a Claude Code agent is its settings, its hooks, ``.mcp.json`` and the
scripts that launch it; a Python agent is its constructor plus tool functions defined in any module. Composition
checks (trifecta, agentjacking) read flows from here rather than single lines.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from triage.parsers import ParsedSystem
from triage.parsers.base import as_dict, as_list, as_str
from triage.parsers.ci import (BLANKET_SHELL, UNTRUSTED_EVENTS, allowed_tools, slash_command, tag_mode,
                               trusted_triggers_only)
from triage.parsers.mcp import McpServer

SOURCE, SINK = "source", "sink"
PRIVATE = "private"
UNTRUSTED_KINDS = ("issue", "pr-text", "ticket", "error-report", "email", "chat", "web", "memory", "untrusted")
EXFIL_SINKS = frozenset({"network", "git-push", "messaging", "email-send", "shell"})
ACTION_SINKS = frozenset({"shell", "write-files", "git-push", "deploy", "payments", "database-write",
                          "database-drop", "delete"})

# Keyword rules for what a named connector (MCP server, tool, data source) reads and can do.
_RULES: list[tuple[re.Pattern[str], tuple[tuple[str, str], ...]]] = [(re.compile(p, re.I), caps) for p, caps in [
    (r"sentry|bugsnag|rollbar|honeybadger|crashlytics|error[-_ ]?report|exception[-_ ]?track",
     ((SOURCE, "error-report"), (SOURCE, PRIVATE))),
    (r"github|gitlab|bitbucket|gitea", ((SOURCE, "issue"), (SOURCE, PRIVATE), (SINK, "git-push"))),
    (r"jira|linear|zendesk|intercom|freshdesk|servicenow|helpscout|ticket|helpdesk|support[-_ ]?inbox",
     ((SOURCE, "ticket"), (SOURCE, PRIVATE))),
    (r"gmail|imap|outlook|e-?mail|mailbox|inbox", ((SOURCE, "email"), (SOURCE, PRIVATE), (SINK, "email-send"))),
    (r"slack|discord|msteams|teams-|telegram|whatsapp|mattermost|\bchat\b|live[-_ ]?chat", ((SOURCE, "chat"), (SOURCE, PRIVATE),
                                                                    (SINK, "messaging"))),
    (r"^fetch|server-fetch|fetch[-_]?(url|page|web)|browser|puppeteer|playwright|brave|tavily|\bexa\b|firecrawl|serper|duckduckgo|scrape|crawl|"
     r"web[-_ ]?search|websearch|web[-_ ]?page|url[-_ ]?reader", ((SOURCE, "web"), (SINK, "network"))),
    (r"server-filesystem|filesystem|file[-_]?system", ((SOURCE, PRIVATE), (SINK, "write-files"))),
    (r"postgres|mysql|sqlite|mongo|supabase|database|\bdb\b|bigquery|snowflake|redshift|dynamo|mssql",
     ((SOURCE, PRIVATE), (SINK, "database-write"))),
    (r"stripe|paypal|payment|braintree|adyen|plaid|payout|wire[-_ ]?transfer|refund|charge[-_ ]?card",
     ((SOURCE, PRIVATE), (SINK, "payments"))),
    (r"\baws\b|aws-|gcloud|\bgcp\b|azure|kubernetes|\bk8s\b|kubectl|terraform|vercel|netlify|heroku|flyctl|"
     r"cloudflare|deploy|helm\b|argocd|pulumi", ((SINK, "deploy"),)),
    (r"shell|terminal|desktop-commander|\bbash\b|run[-_]?command|execute[-_]?command|\bexec\b|python[-_]?repl|"
     r"code[-_ ]?interpreter|run[-_]?code", ((SINK, "shell"),)),
    (r"notion|confluence|gdrive|google[-_ ]?drive|dropbox|sharepoint|hubspot|salesforce|\bcrm\b|customer|payroll|"
     r"vault|1password|secrets?[-_ ]?manager|medical|patient", ((SOURCE, PRIVATE),)),
    (r"webhook|http[-_]?post|send[-_]?request|upload", ((SINK, "network"),)),
]]
# Commands an allow rule or a script may pre-approve, and the sink each reaches.
COMMAND_SINKS: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.I), s) for p, s in [
    (r"\b(curl|wget|nc|ncat|netcat|scp|rsync|ssh|ftp|http)\b", "network"),
    (r"\bgit\s+push\b|\bgh\s+(pr|issue)\s+(create|comment)", "git-push"),
    (r"\brm\b|\bshred\b|\bfind\b.*-delete", "delete"),
    (r"\b(terraform|kubectl|helm|vercel|flyctl|fly|pulumi|gcloud|aws|az)\b", "deploy"),
    (r"\b(psql|mysql|sqlite3|mongo|redis-cli)\b", "database-write"),
]]
# Hosts where anyone can publish content an agent may fetch.
USER_CONTENT_HOSTS = re.compile(r"(^|\.)(github\.com|githubusercontent\.com|github\.io|gitlab\.com|pastebin\.com|"
                                r"reddit\.com|stackoverflow\.com|medium\.com|x\.com|twitter\.com|huggingface\.co|"
                                r"npmjs\.com|pypi\.org|notion\.site|substack\.com)$|^\*", re.I)
READ_TOOL = re.compile(r"(get|list|search|read|fetch|query|view|find|describe|download|load|lookup|retrieve)", re.I)
WRITE_TOOL = re.compile(r"(create|update|delete|remove|push|send|post|merge|write|comment|publish|upload|deploy|"
                        r"execute|transfer|refund|charge|pay|draft|reply|forward)", re.I)


def directional(name: str, caps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Narrow a connector's capabilities by what one of its tools is named for: GmailGetThread reads mail,
    GmailSendMessage sends it. Names that say neither (or both) keep everything."""
    reads, writes = READ_TOOL.search(name) is not None, WRITE_TOOL.search(name) is not None
    if reads and not writes:
        return [cap for cap in caps if cap[0] == SOURCE]
    if writes and not reads:
        return [cap for cap in caps if cap[0] == SINK]
    return caps
CLAUDE_BLANKET_BASH = re.compile(r"^Bash(\((\*|:\*|\*\*|\s*)\))?$")


@dataclass(frozen=True)
class Capability:
    direction: str  # source | sink
    kind: str  # private, one of UNTRUSTED_KINDS, or a sink kind
    via: str  # the tool, server or setting that grants it
    path: str
    line: int | None
    gated: bool = False  # a human approves each use
    contained: bool = False  # a sandbox stops its effect reaching the network or host

    @property
    def is_untrusted(self) -> bool:
        return self.direction == SOURCE and self.kind in UNTRUSTED_KINDS


@dataclass
class Agent:
    id: str
    harness: str
    path: str
    line: int | None
    capabilities: list[Capability] = field(default_factory=list)
    links: set[str] = field(default_factory=set)  # agents this one hands work to or shares a crew with
    budget: bool = True  # a turn, iteration or time limit applies (framework defaults count)

    def add(self, direction: str, kind: str, via: str, path: str, line: int | None, *, gated: bool = False,
            contained: bool = False) -> None:
        cap = Capability(direction, kind, via, path, line, gated, contained)
        if cap not in self.capabilities:
            self.capabilities.append(cap)

    def untrusted(self) -> list[Capability]:
        return [c for c in self.capabilities if c.is_untrusted]

    def private(self) -> list[Capability]:
        return [c for c in self.capabilities if c.direction == SOURCE and c.kind == PRIVATE]

    def sinks(self, kinds: frozenset[str] | set[str], *, ungated: bool = True, uncontained: bool = True) -> list[Capability]:
        return [c for c in self.capabilities if c.direction == SINK and c.kind in kinds
                and (not ungated or not c.gated) and (not uncontained or not c.contained)]

    def exfil(self) -> list[Capability]:
        return self.sinks(EXFIL_SINKS)


@dataclass
class CapabilityGraph:
    agents: dict[str, Agent] = field(default_factory=dict)

    def agent(self, agent_id: str, harness: str, path: str, line: int | None) -> Agent:
        if agent_id not in self.agents:
            self.agents[agent_id] = Agent(agent_id, harness, path, line)
        return self.agents[agent_id]

    def sorted_agents(self) -> list[Agent]:
        return [self.agents[k] for k in sorted(self.agents)]

    def groups(self) -> list[list[Agent]]:
        """Connected groups of agents (hand-offs, shared crews): data read by one reaches the others."""
        seen: set[str] = set()
        groups = []
        for agent_id in sorted(self.agents):
            if agent_id in seen:
                continue
            stack, group = [agent_id], []
            while stack:
                current = stack.pop()
                if current in seen or current not in self.agents:
                    continue
                seen.add(current)
                group.append(self.agents[current])
                neighbours = set(self.agents[current].links) | {a.id for a in self.agents.values() if current in a.links}
                stack.extend(sorted(neighbours - seen))
            groups.append(sorted(group, key=lambda a: a.id))
        return groups


def classify(text: str, *, sinks: bool = True) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for pattern, caps in _RULES:
        if pattern.search(text):
            for cap in caps:
                if (sinks or cap[0] == SOURCE) and cap not in found:
                    found.append(cap)
    return found


def command_sinks(command: str) -> list[str]:
    return [sink for pattern, sink in COMMAND_SINKS if pattern.search(command)]


def _add_server(agent: Agent, server: McpServer, *, gated: bool, system: ParsedSystem | None = None) -> None:
    text = server.descriptor
    caps = classify(text)
    if server.is_remote and not caps:
        caps = [(SOURCE, "web")]  # an unknown remote server returns content we do not control
    approved = [] if gated is False or "*" in server.auto_approve else list(server.auto_approve)
    # a list of named tools approved in advance (Cline alwaysAllow, autoApprove): those tools run unprompted, with
    # what their names say they do; the server's other tools still ask
    ungated = {cap for tool in approved for cap in directional(tool, caps)}
    for direction, kind in caps:
        agent.add(direction, kind, f"mcp:{server.name}", server.path, server.line,
                  gated=gated and (direction, kind) not in ungated)
    # A declared server whose code is in the tree: the agent has exactly what its tools do, under this client's
    # approval settings for that server (a tool approved by name runs unprompted).
    for code_server in launched_code_servers(system, server) if system else []:
        for tool in code_server.tools:
            for direction, kind, line in code_tool_capabilities(tool):
                agent.add(direction, kind, f"mcp:{server.name}:{tool.name}", tool.path, line,
                          gated=(gated and tool.name not in approved) or tool.gated)


# -- builders per harness ---------------------------------------------------------------------------------------

def _launch_flags(system: ParsedSystem) -> str:
    """Every command line that launches an agent, concatenated, to spot permission-bypass flags."""
    return "\n".join(text for _p, _l, text, _c in system.command_sources())


def _claude_agent(system: ParsedSystem, graph: CapabilityGraph) -> None:
    servers = [s for s in system.mcp_servers if s.client == "claude-code" and not s.disabled]
    has_md = any(f.name in ("CLAUDE.md", "CLAUDE.local.md") for f in system.instructions)
    if not (system.claude_settings or servers or has_md or system.claude_allow or system.skills or system.plugins):
        return
    first = system.claude_settings[0].file if system.claude_settings else None
    path = first.path if first else (servers[0].path if servers else (
        system.claude_allow[0].path if system.claude_allow else "CLAUDE.md"))
    agent = graph.agent("claude-code", "claude-code", path, None)
    allow = system.claude_allow
    rules = [a.rule.strip() for a in allow]
    modes = {s.default_mode for s in system.claude_settings}
    bypass = "bypassPermissions" in modes or "--dangerously-skip-permissions" in _launch_flags(system)
    sandboxed = any(as_dict(s.data.get("sandbox")).get("enabled") is True for s in system.claude_settings)
    disabled = {str(n) for s in system.claude_settings for n in as_list(s.data.get("disabledMcpjsonServers"))}
    agent.add(SOURCE, PRIVATE, "workspace files", path, None)
    blanket = [a for a in allow if CLAUDE_BLANKET_BASH.match(a.rule.strip())]
    agent.add(SINK, "shell", blanket[0].rule if blanket else "Bash", blanket[0].path if blanket else path,
              blanket[0].line if blanket else None, gated=not (bypass or blanket), contained=sandboxed)
    agent.add(SINK, "write-files", "Edit/Write", path, None,
              gated=not (bypass or "acceptEdits" in modes or any(r.startswith(("Edit", "Write")) for r in rules)))
    web = [a for a in allow if re.match(r"^(WebFetch|WebSearch)(\((\*|domain:\*)\))?$", a.rule.strip())]
    if bypass or web:
        where = (web[0].path, web[0].line) if web else (path, None)
        agent.add(SOURCE, "web", "WebFetch", *where)
        agent.add(SINK, "network", "WebFetch", *where)
    for item in allow:
        rule, line = item.rule.strip(), item.line
        match = re.match(r"^Bash\((.+)\)$", rule)
        if match and not blanket:
            for sink in command_sinks(match.group(1)):
                agent.add(SINK, sink, rule, item.path, line, contained=sandboxed)
        domain = re.match(r"^WebFetch\(domain:([^)]+)\)$", rule)
        if domain and USER_CONTENT_HOSTS.search(domain.group(1)):
            agent.add(SOURCE, "web", rule, item.path, line)  # anyone can publish a page on these hosts
        tool = re.match(r"^mcp__([^_]+(?:_[^_]+)*?)__([A-Za-z0-9_-]+)$", rule)
        if tool:
            # a pre-approved tool of a server configured elsewhere (user scope): it still runs unprompted
            if READ_TOOL.search(tool.group(2)) or WRITE_TOOL.search(tool.group(2)):
                for direction, kind in directional(tool.group(2), classify(tool.group(1))):
                    agent.add(direction, kind, rule, item.path, line)
    for server in servers:
        if server.name in disabled:
            continue
        pre_approved = any(r in ("mcp__*", f"mcp__{server.name}", f"mcp__{server.name}__*") for r in rules)
        _add_server(agent, server, gated=not (bypass or pre_approved or "*" in server.auto_approve), system=system)
    _skill_scripts(system, agent, ungated_shell=bypass or bool(blanket), contained=sandboxed)


def _skill_scripts(system: ParsedSystem, agent: Agent, *, ungated_shell: bool, contained: bool) -> None:
    """A skill that tells the agent to run its scripts gives the agent what those scripts do. The agent runs them
    through Bash: unprompted when shell is open, or when an allow rule (the skill's own allowed-tools included)
    names the script."""
    for skill in system.skills:
        for script, _mention in skill.scripts:
            base = posixpath.basename(script)
            named = any(base in rule.rule for rule in system.claude_allow if rule.rule.strip().startswith("Bash("))
            gated = not (ungated_shell or named)
            via = f"skill:{skill.name} {script}"
            for path, kind, line, detail in skill.effects:
                if path != script:
                    continue
                caps = [(SINK, sink) for sink in command_sinks(detail)] if kind == "command" else \
                    _EFFECT_CAPS.get(kind, [])
                for direction, cap_kind in caps:
                    agent.add(direction, cap_kind, via, path, line, gated=gated,
                              contained=contained and direction == SINK)


def _codex_agent(system: ParsedSystem, graph: CapabilityGraph) -> None:
    servers = [s for s in system.mcp_servers if s.client == "codex" and not s.disabled]
    has_md = any(f.name == "AGENTS.md" for f in system.instructions)
    if not (system.codex_configs or has_md):
        return
    config = system.codex_configs[0] if system.codex_configs else None
    path = config.file.path if config else "AGENTS.md"
    agent = graph.agent("codex", "codex", path, None)
    flags = _launch_flags(system)
    policies = {str(v) for c in system.codex_configs for _w, v in c.effective("approval_policy")}
    modes = {str(v) for c in system.codex_configs for _w, v in c.effective("sandbox_mode")}
    yolo = re.search(r"--dangerously-bypass-approvals-and-sandbox|--yolo\b", flags) is not None
    never = "never" in policies or yolo or "--full-auto" in flags or re.search(r"-a\s+never|--ask-for-approval\s+never", flags)
    full_access = "danger-full-access" in modes or yolo or "--sandbox danger-full-access" in flags
    network = full_access or any(
        as_dict(c.data.get("sandbox_workspace_write")).get("network_access") is True for c in system.codex_configs)
    agent.add(SOURCE, PRIVATE, "workspace files", path, None)
    agent.add(SINK, "shell", "shell", path, config.file.line_of("approval_policy") if config else None,
              gated=not never, contained=not full_access)
    agent.add(SINK, "write-files", "apply_patch", path, None, gated=not never, contained=not full_access)
    if network:
        agent.add(SINK, "network", "sandbox network", path, config.file.line_of("network_access") if config else None,
                  gated=not never)
    if any(as_dict(c.data.get("tools")).get("web_search") is True or c.data.get("web_search") in (True, "live")
           for c in system.codex_configs):
        agent.add(SOURCE, "web", "web_search", path, config.file.line_of("web_search") if config else None)
    for server in servers:
        _add_server(agent, server, gated=not never, system=system)


def _mcp_client_agents(system: ParsedSystem, graph: CapabilityGraph) -> None:
    auto_vscode = any(s.get("chat.tools.autoApprove") is True or s.get("chat.tools.global.autoApprove") is True
                      for _f, s in system.vscode_settings)
    by_client: dict[str, list[McpServer]] = {}
    for server in system.mcp_servers:
        if server.client not in ("claude-code", "codex") and not server.disabled:
            by_client.setdefault(server.client, []).append(server)
    for client, servers in sorted(by_client.items()):
        agent = graph.agent(client, client, servers[0].path, None)
        agent.add(SOURCE, PRIVATE, "workspace files", servers[0].path, None)
        for server in servers:
            _add_server(agent, server, gated=not ("*" in server.auto_approve or (client == "vscode" and auto_vscode)),
                        system=system)


# Claude's GitHub App token (obtained through OIDC when no github_token is given) carries the app's own write
# access to contents, issues and pull requests, whatever the workflow's permissions block says.
_APP_TOKEN_ACTION = re.compile(r"^anthropics/claude-code-action(@|$)", re.I)


def _token_writes(workflow, step) -> tuple[frozenset[str], str]:  # noqa: ANN001 - Workflow, WorkflowStep
    """(scopes the agent's token may write, what grants them). Without a permissions block the repository default
    applies, read-only on repositories made since 2023; privilege.workflow-write-all reports that case itself."""
    scopes = workflow.job_write_scopes(step.job) or frozenset()
    if (_APP_TOKEN_ACTION.search(step.uses) and "id-token" in scopes and not step.with_.get("github_token")):
        return scopes | {"contents", "issues", "pull-requests"}, "Claude GitHub App token"
    return scopes, "write-all" if "*" in scopes else "permissions"


_TOKEN_PUSH = re.compile(r"Bash\(\s*(git\s+push|gh\s+(pr\s+(create|merge)|api|repo|release))|"
                         r"mcp__github\w*__(push_files|create_or_update_file|create_branch|merge_\w+|commit_files)", re.I)
_TOKEN_COMMENT = re.compile(r"Bash\(\s*gh\s+(issue|pr|api)\b(?!\s+(view|list|diff|status|checks)\b)|"
                            r"mcp__github\w*__\w*(comment|create_issue|create_pull_request|review)\w*", re.I)


def _command_rules(system: ParsedSystem, name: str) -> list[str]:
    """The allowed-tools of the project's slash command a CI step runs (``/triage-issue``): pre-approved for that run."""
    if not name:
        return []
    wanted = (f".claude/commands/{name}.md", f".claude/commands/{name.replace(':', '/')}.md")
    return [rule.rule for rule in system.claude_allow if rule.path.endswith(wanted)]


def _workflow_agents(system: ParsedSystem, graph: CapabilityGraph) -> None:
    for workflow in system.workflows:
        for step in workflow.agent_steps:
            agent = graph.agent(f"workflow:{step.path}#{step.job}", "github-actions", step.path, step.line)
            config_text = " ".join(str(v) for v in step.with_.values()) + " " + step.run
            if not trusted_triggers_only(step):
                for trigger in workflow.untrusted_triggers:
                    agent.add(SOURCE, UNTRUSTED_EVENTS[trigger], f"on: {trigger}", step.path,
                              workflow.file.line_of(trigger))
            agent.add(SOURCE, PRIVATE, "repository checkout", step.path, step.line)
            if "secrets." in config_text or any("secrets." in str(v) for v in step.env.values()):
                agent.add(SOURCE, PRIVATE, "workflow secrets", step.path, step.line)
            bypass = re.search(r"--dangerously-skip-permissions|--dangerously-bypass-approvals-and-sandbox|--yolo|"
                               r"danger-full-access|--full-auto|bypassPermissions", config_text) is not None
            tools = " ".join([allowed_tools(step), *_command_rules(system, slash_command(step))])
            shell = bypass or BLANKET_SHELL.search(tools) is not None
            fetch = re.search(r"\bWebFetch\b", tools) is not None
            # The agent reaches the network only through a shell or a web fetch it is allowed to use; a read-only
            # agent (Read, Grep, Glob) has no way out but what its token lets it write.
            agent.add(SINK, "shell", "agent step", step.path, step.line, gated=not shell)
            agent.add(SINK, "network", "runner egress", step.path, step.line, gated=not (shell or fetch))
            writes, granted_by = _token_writes(workflow, step)
            line = workflow.file.line_of("write") or step.line
            # a write scope is a way out only through a tool that writes with the token: an open shell (gh, git,
            # curl), the action's own comment and commit tools when it answers a mention, or rules naming gh,
            # git push or GitHub MCP write tools. Repository scripts a rule names are fixed programs, not channels.
            own_tools = shell or tag_mode(step)
            if writes & {"*", "contents"} and (own_tools or _TOKEN_PUSH.search(tools)):
                agent.add(SINK, "git-push", f"contents: write ({granted_by})", step.path,
                          workflow.file.line_of("contents") or line)
            if writes & {"*", "issues", "pull-requests", "discussions"} and (own_tools or _TOKEN_COMMENT.search(tools)):
                agent.add(SINK, "messaging", f"public comments ({granted_by})", step.path, line)
            budget = bool(re.search(r"max[-_]turns|--max-turns", config_text)) or workflow.job_timeout(step.job)
            agent.budget = budget


_EFFECT_CAPS = {
    "shell": [(SINK, "shell")], "code-exec": [(SINK, "shell")], "network": [(SINK, "network")],
    "web-fetch": [(SOURCE, "web"), (SINK, "network")], "api-write": [(SINK, "api-write")], "email-send": [(SINK, "email-send")],
    "email-read": [(SOURCE, "email"), (SOURCE, PRIVATE)], "messaging": [(SINK, "messaging")],
    "payments": [(SINK, "payments")], "database-read": [(SOURCE, PRIVATE)], "database-write": [(SINK, "database-write")],
    "database-drop": [(SINK, "database-drop")], "delete": [(SINK, "delete")], "write-files": [(SINK, "write-files")],
}


def _import_candidates(module_path: str, imported: tuple[str, int, str]) -> list[str]:
    """Paths (or path suffixes) of the files an import can refer to, most specific first."""
    dotted_module, level, name = imported
    base = dotted_module.replace(".", "/")
    if level:
        parent = posixpath.dirname(module_path)
        for _ in range(level - 1):
            parent = posixpath.dirname(parent)
        base = posixpath.join(parent, base) if base else parent
    bases = ([f"{base}/{name}" if base else name] if name else []) + ([base] if base else [])
    return [candidate for b in bases for candidate in (f"{b}.py", f"{b}/__init__.py")]


class _ToolIndex:
    """Finds the tool an agent's ``tools=[...]`` entry refers to: same module, then what the module imports, then the
    nearest module defining that name. Unrelated projects in one tree never lend each other tools."""

    def __init__(self, system: ParsedSystem) -> None:
        self.by_path: dict[str, dict[str, object]] = {}
        for module in system.python_modules:
            table: dict[str, object] = {tool.name: tool for tool in module.tools}
            for alias, tool_name in module.tool_aliases.items():
                if tool_name in table:
                    table.setdefault(alias, table[tool_name])
            self.by_path[module.path] = table

    @staticmethod
    def _nearest(module_path: str, found: list[tuple[str, object]]) -> tuple[object | None, int]:
        """The one tool whose file shares the longest directory prefix with ``module_path`` (None on a tie)."""
        nearest, best = [], -1
        for path, tool in found:
            shared = len(posixpath.commonpath([posixpath.dirname(path), posixpath.dirname(module_path)]))
            if shared > best:
                nearest, best = [tool], shared
            elif shared == best:
                nearest.append(tool)
        return (nearest[0] if len(nearest) == 1 else None), best

    def resolve(self, module, reference: str):  # noqa: ANN001, ANN201 - PyModule -> PyTool | None
        head, _, last = reference.rpartition(".")
        local = self.by_path.get(module.path, {})
        if last in local:
            return local[last]
        defining = [(path, table[last]) for path, table in sorted(self.by_path.items()) if last in table]
        imported = module.imports.get(head.split(".")[0] if head else last)
        if imported:
            candidates = _import_candidates(module.path, imported)
            exact = imported[1] > 0  # relative imports name one file; absolute ones may sit under any source root
            matching = [(path, tool) for path, tool in defining
                        if any(path == c or (not exact and path.endswith("/" + c)) for c in candidates)]
            tool, _shared = self._nearest(module.path, matching)
            if tool is not None:
                return tool
        tool, shared = self._nearest(module.path, defining)
        return tool if shared > 0 else None


def _python_agents(system: ParsedSystem, graph: CapabilityGraph) -> None:
    index = _ToolIndex(system)
    used: set[int] = set()
    all_agents = [a for m in system.python_modules for a in m.agents]
    for module in system.python_modules:
        for py_agent in module.agents:
            agent = graph.agent(f"python:{py_agent.path}:{py_agent.name}", py_agent.framework, py_agent.path, py_agent.line)
            agent.budget = not (py_agent.unbounded or module.has_unbounded_run or
                                (py_agent.variable and py_agent.variable in module.unbounded_targets))
            gated_all = py_agent.gated
            for reference in py_agent.tool_names:
                resolved = index.resolve(module, reference)
                if resolved is None:  # a library tool (ShellTool, TavilySearchResults, GmailToolkit...)
                    name = reference.rsplit(".", 1)[-1]
                    for direction, kind in directional(name, classify(name)):
                        agent.add(direction, kind, name, py_agent.path, py_agent.line, gated=gated_all)
                    continue
                used.add(id(resolved))
                _add_tool(agent, resolved, gated=gated_all or resolved.gated)
            for other in py_agent.handoffs:
                other_name = other.rsplit(".", 1)[-1]
                targets = [a for a in all_agents if other_name in (a.name, a.variable)]
                same_module = [a for a in targets if a.path == py_agent.path]
                for target in (same_module or targets)[:1]:
                    agent.links.add(f"python:{target.path}:{target.name}")
    served = {(t.path, t.name) for m in system.python_modules for s in m.servers for t in s.tools}
    for module in system.python_modules:
        for tool in module.tools:
            # an MCP tool of a server read from code is a capability of that server's node, not counted twice
            if tool.framework == "mcp" and (tool.path, tool.name) in served:
                continue
            if id(tool) not in used:
                agent = graph.agent(f"python-tools:{tool.path}", "python-tools", tool.path, tool.line)
                _add_tool(agent, tool, gated=tool.gated)


def _add_tool(agent: Agent, tool, *, gated: bool) -> None:  # noqa: ANN001 - PyTool
    for effect in tool.effects:
        if effect.kind == "command":
            for sink in command_sinks(effect.detail):
                agent.add(SINK, sink, tool.name, tool.path, effect.line, gated=gated)
        for direction, kind in _EFFECT_CAPS.get(effect.kind, []):
            agent.add(direction, kind, tool.name, tool.path, effect.line, gated=gated)
    reads = {e.kind for e in tool.effects} & {"api-read", "web-fetch", "database-read", "email-read", "read-files"}
    if reads or (not tool.effects and not (WRITE_TOOL.search(tool.name) and not READ_TOOL.search(tool.name))):
        # what the tool reads is named in its name, docstring and URLs; a pure writer (send_email) reads nothing
        for direction, kind in classify(tool.descriptor, sinks=False):
            agent.add(direction, kind, tool.name, tool.path, tool.line, gated=gated)


_MANIFEST_CAPS = {
    "read-files": [(SOURCE, PRIVATE)], "write-files": [(SINK, "write-files")], "shell": [(SINK, "shell")],
    "code-exec": [(SINK, "shell")], "network": [(SINK, "network")],
    "email": [(SOURCE, "email"), (SOURCE, PRIVATE), (SINK, "email-send")],
    "messaging": [(SOURCE, "chat"), (SINK, "messaging")], "git-push": [(SINK, "git-push")],
    "payments": [(SINK, "payments")], "database-read": [(SOURCE, PRIVATE)],
    "database-write": [(SINK, "database-write")], "deploy": [(SINK, "deploy")],
    "browser": [(SOURCE, "web"), (SINK, "network")], "delete": [(SINK, "delete")],
}


def _manifest_agent(system: ParsedSystem, graph: CapabilityGraph) -> None:
    manifest = system.manifest
    if not manifest:
        return
    path = system.manifest_path
    harness = as_dict(manifest.get("harness"))
    agent = graph.agent("manifest", as_str(harness.get("name")) or "manifest", path, None)
    default_gated = harness.get("approval_mode") != "never"
    egress = as_dict(manifest.get("egress"))
    contained_network = egress.get("policy") in ("none", "allowlist") and "*" not in as_list(egress.get("allow"))
    for tool in as_list(manifest.get("tools")):
        tool = as_dict(tool)
        name = as_str(tool.get("name"))
        approval = tool.get("approval")
        gated = approval in ("always", "on-risk") if approval else default_gated
        caps = [c for cap in as_list(tool.get("capabilities")) for c in _MANIFEST_CAPS.get(str(cap), [])]
        caps += classify(name + " " + as_str(tool.get("description")), sinks=not caps)
        for direction, kind in caps:
            contained = contained_network and kind in ("network", "email-send", "messaging")
            agent.add(direction, kind, name, path, system.manifest_line(f'"{name}"'), gated=gated, contained=contained)
    for server in as_list(manifest.get("mcp_servers")):
        server = as_dict(server)
        text = " ".join([as_str(server.get("name")), as_str(server.get("command")), as_str(server.get("url")),
                         " ".join(str(t) for t in as_list(server.get("tools")))])
        gated = server.get("auto_approve") is not True and default_gated
        for direction, kind in classify(text):
            agent.add(direction, kind, f"mcp:{as_str(server.get('name'))}", path,
                      system.manifest_line(f'"{as_str(server.get("name"))}"'), gated=gated,
                      contained=contained_network and kind == "network")
    for source in as_list(manifest.get("data_sources")):
        source = as_dict(source)
        name = as_str(source.get("name"))
        if source.get("trust") in ("untrusted", "public") or source.get("writable_by_outsiders") is True:
            kinds = [k for d, k in classify(name + " " + as_str(source.get("kind")), sinks=False) if k != PRIVATE]
            agent.add(SOURCE, kinds[0] if kinds else "untrusted", name, path, system.manifest_line(f'"{name}"'))
        else:
            agent.add(SOURCE, PRIVATE, name, path, system.manifest_line(f'"{name}"'))
    memory = as_dict(manifest.get("memory"))
    if memory.get("writable_by_untrusted") is True:
        agent.add(SOURCE, "memory", as_str(memory.get("store")) or "memory", path,
                  system.manifest_line('"writable_by_untrusted"'))


# What reaching a flow sink gives whoever controls the tool's input.
_FLOW_CAPS = {
    "shell": [(SINK, "shell")], "code-exec": [(SINK, "shell")], "sql": [(SINK, "database-write"), (SOURCE, PRIVATE)],
    "file-read": [(SOURCE, PRIVATE)], "file-write": [(SINK, "write-files")], "file-delete": [(SINK, "delete")],
    "deserialise": [(SINK, "shell")], "ssrf": [(SOURCE, "web"), (SINK, "network")], "template": [(SINK, "shell")],
    "package-install": [(SINK, "shell")],  # installing a package runs its install scripts
}
_CODE_EFFECT_CAPS = {**_EFFECT_CAPS, "read-files": [(SOURCE, PRIVATE)], "destructive": [(SINK, "delete")],
                     "api-read": [], "command": [], "env-to-child": []}


def code_tool_capabilities(tool) -> list[tuple[str, str, int]]:  # noqa: ANN001 - ToolDef
    """(direction, kind, line) for one tool of the code model: its effects, its flows, the data it returns."""
    caps: list[tuple[str, str, int]] = []
    for effect in tool.effects:
        if effect.kind == "command":
            caps += [(SINK, sink, effect.line) for sink in command_sinks(effect.detail)]
        caps += [(d, k, effect.line) for d, k in _CODE_EFFECT_CAPS.get(effect.kind, [])]
    for flow in tool.flows:
        caps += [(d, k, flow.line) for d, k in _FLOW_CAPS.get(flow.sink, [])]
        if flow.source.startswith("fetched:"):
            caps.append((SOURCE, "web", flow.line))
    if tool.sensitive:
        caps.append((SOURCE, PRIVATE, tool.sensitive[0].line))
    if tool.kind == "resource":
        caps.append((SOURCE, PRIVATE, tool.line))
    reads = {e.kind for e in tool.effects} & {"api-read", "web-fetch", "database-read", "email-read", "read-files"}
    if reads:
        # what a reading tool reads is named in its name and description (a ticket, a pull request, a mailbox), and
        # by the fixed API host it reads from (api.github.com serves issues and private repositories)
        hosts = " ".join(sorted({e.detail for e in tool.effects if e.kind == "api-read"}))[:300]
        caps += [(d, k, tool.line) for d, k in classify(f"{tool.name} {tool.description[:300]} {hosts}", sinks=False)]
    return caps


def launched_code_servers(system: ParsedSystem, declared: McpServer) -> list:
    """The servers read from code that a declared stdio server's command starts: its command names the server's file
    (``python server.py``, ``node build/index.js``) or the directory holding it (``uv run --directory srv ...``)."""
    if not declared.command:
        return []
    words = [w for w in re.split(r"[\s\"'=]+", declared.command) if w]
    found = []
    for server in system.code_servers:
        directory = posixpath.dirname(server.path)
        stem = posixpath.splitext(server.path)[0]
        for word in words:
            word = re.sub(r"^(\$\{?\w+\}?|\.)?/+", "", word).rstrip("/")
            if not word:
                continue
            if word == server.path or server.path.endswith("/" + word) or word.endswith("/" + server.path) or (
                    directory and (word == directory or word.endswith("/" + directory))) or (
                    "." in word and (stem == word.replace(".", "/") or stem.endswith("/" + word.replace(".", "/")))):
                # the last: python -m package.server
                found.append(server)
                break
    return found


def _code_server_agents(system: ParsedSystem, graph: CapabilityGraph) -> None:
    """Each MCP server read from code is a node with its tools' capabilities. Its sinks count as approved per call:
    MCP clients ask before each tool call unless configured otherwise, and a client configuration in the tree that
    launches the server carries its tools into that client's agent with the client's real approval settings."""
    for server in system.code_servers:
        agent = graph.agent(f"mcp-server:{server.id}", f"mcp-server/{server.language}", server.path, server.line)
        for tool in server.tools:
            for direction, kind, line in code_tool_capabilities(tool):
                agent.add(direction, kind, f"{tool.kind}:{tool.name}", tool.path, line, gated=True)


def build_graph(system: ParsedSystem) -> CapabilityGraph:
    graph = CapabilityGraph()
    _claude_agent(system, graph)
    _codex_agent(system, graph)
    _mcp_client_agents(system, graph)
    _workflow_agents(system, graph)
    _python_agents(system, graph)
    _code_server_agents(system, graph)
    _manifest_agent(system, graph)
    return graph
