"""Auto-approval and disabled permissions: settings and flags that take the human out of the loop."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.graph import CLAUDE_BLANKET_BASH, READ_TOOL, WRITE_TOOL
from triage.parsers.ci import BLANKET_SHELL, allowed_tools
from triage.parsers.base import as_dict, as_list

_DANGEROUS_CAPS = {"shell", "code-exec", "write-files", "git-push", "payments", "deploy", "delete", "database-write",
                   "email", "messaging", "network"}


def _manifest_permissions(context: AnalysisContext) -> dict:
    return as_dict((context.system.manifest or {}).get("permissions"))


@check("approval.bypass-permissions", title="Claude Code runs in bypassPermissions mode",
       severity="high", categories=("privilege_scope",),
       remediation='Remove "defaultMode": "bypassPermissions"; use the default mode with narrow allow rules, or '
                   "acceptEdits inside a sandbox.",
       rationale="Every tool call, including shell and MCP tools, runs without a prompt.")
def bypass_permissions(context: AnalysisContext) -> Iterator[Hit]:
    for settings in context.system.claude_settings:
        if settings.default_mode == "bypassPermissions":
            yield Hit(settings.file.path, settings.file.line_of("defaultMode"), '"defaultMode": "bypassPermissions"')
    mode = _manifest_permissions(context).get("mode")
    if mode == "bypassPermissions":
        yield Hit(context.system.manifest_path, context.system.manifest_line('"bypassPermissions"'), "permissions.mode: bypassPermissions")


@check("approval.skip-permissions-flag", title="An agent is launched with --dangerously-skip-permissions",
       severity="high", categories=("privilege_scope",),
       remediation="Drop the flag; pre-approve only the specific commands the job needs (--allowedTools) and run "
                   "the agent in a container without credentials or network.",
       rationale="The flag disables every permission prompt for that run.")
def skip_permissions_flag(context: AnalysisContext) -> Iterator[Hit]:
    for path, line, text, _context in context.system.command_sources():
        if "--dangerously-skip-permissions" in text:
            yield Hit(path, line, text)
    for workflow in context.system.workflows:
        for step in workflow.steps:
            for key, value in sorted(step.with_.items()):
                if "--dangerously-skip-permissions" in str(value):
                    yield Hit(step.path, workflow.file.line_of("--dangerously-skip-permissions") or step.line,
                              f"{key}: {value}")


@check("approval.codex-approval-never", title="Codex never asks for approval",
       severity="high", categories=("privilege_scope",),
       remediation='Use approval_policy = "on-request" (or "untrusted") and keep the workspace-write sandbox.',
       rationale="With approval_policy never the model's commands run without a human seeing them.")
def codex_approval_never(context: AnalysisContext) -> Iterator[Hit]:
    for config in context.system.codex_configs:
        for where, value in config.effective("approval_policy"):
            if value == "never":
                yield Hit(config.file.path, config.line_for(where, "approval_policy", "never"),
                          f"{where + '.' if where else ''}approval_policy = \"never\"")
    for path, line, text, _context in context.system.command_sources():
        if re.search(r"\bcodex\b.*(--full-auto|-a\s+never|--ask-for-approval\s+never)", text):
            yield Hit(path, line, text)


@check("approval.codex-full-access", title="Codex sandbox disabled (danger-full-access or bypass flag)",
       severity="high", categories=("privilege_scope",),
       remediation='Use sandbox_mode = "workspace-write" with network_access off; never ship '
                   "--dangerously-bypass-approvals-and-sandbox.",
       rationale="Without the sandbox, commands can read the whole host and reach the network.")
def codex_full_access(context: AnalysisContext) -> Iterator[Hit]:
    for config in context.system.codex_configs:
        for where, value in config.effective("sandbox_mode"):
            if value == "danger-full-access":
                yield Hit(config.file.path, config.line_for(where, "sandbox_mode", "danger-full-access"),
                          f"{where + '.' if where else ''}sandbox_mode = \"danger-full-access\"")
    for path, line, text, _context in context.system.command_sources():
        if re.search(r"--dangerously-bypass-approvals-and-sandbox|\bcodex\b.*--yolo\b|--sandbox[ =]danger-full-access", text):
            yield Hit(path, line, text)


_COMMAND_ALLOW_LIST = re.compile(r"ALLOW(ED)?_?(SHELL_)?(COMMANDS|CMDS|EXECUTABLES)$", re.I)


@check("approval.blanket-shell-allow", title="All shell commands are pre-approved",
       severity="high", categories=("privilege_scope",),
       remediation='Replace "Bash" / "Bash(*)" with the exact commands needed, e.g. "Bash(npm run test:*)".',
       rationale="A blanket Bash allow rule makes every command, including curl and rm, run unprompted.")
def blanket_shell_allow(context: AnalysisContext) -> Iterator[Hit]:
    for allow in context.system.claude_allow:
        if CLAUDE_BLANKET_BASH.match(allow.rule.strip()):
            yield Hit(allow.path, allow.line, f'allow: "{allow.rule}"')
    for rule in as_list(_manifest_permissions(context).get("allow")):
        if isinstance(rule, str) and CLAUDE_BLANKET_BASH.match(rule.strip()):
            yield Hit(context.system.manifest_path, context.system.manifest_line(rule), f"permissions.allow: {rule}")
    for workflow in context.system.workflows:
        for step in workflow.agent_steps:
            tools = allowed_tools(step)
            if BLANKET_SHELL.search(tools):
                yield Hit(step.path, workflow.file.line_of("Bash") or step.line, f"allowed tools: {tools}")
    for server in context.system.mcp_servers:
        # shell servers read their command allow-list from the environment (ALLOW_COMMANDS, ALLOWED_COMMANDS)
        for name, value in sorted(server.env.items()):
            if _COMMAND_ALLOW_LIST.search(name) and str(value).strip().lower() in ("*", ".*", "all", "any"):
                yield Hit(server.path, server.line, f"{server.name}: {name}={value} (every command)")
    for policy in context.system.sandbox_policies:
        for grant in policy.grants:
            if grant.kind == "any-command":
                yield Hit(grant.path, grant.line, f"sandbox policy: {grant.evidence}")


# A rule naming only a program, with every argument allowed: Bash(python:*), Bash(kubectl *), Bash(git:*).
_WHOLE_PROGRAM_RULE = re.compile(r"^Bash\(\s*([\w.+-]+)\s*(?::\s*\*|\s\*)\s*\)$")
# Programs that run whatever code or command they are given: a rule over every argument is the blanket shell.
ANY_COMMAND_PROGRAMS = frozenset({
    "python", "python2", "python3", "node", "deno", "bun", "ruby", "perl", "php", "bash", "sh", "zsh", "fish", "dash",
    "pwsh", "powershell", "cmd", "npx", "uvx", "pipx", "bunx", "env", "xargs", "sudo", "su", "doas", "eval", "exec",
    "nohup", "timeout", "nice", "uv", "npm", "pnpm", "yarn", "docker", "podman", "kubectl", "ssh"})
# Programs whose subcommands include irreversible or outward changes (push --force, delete, destroy, apply,
# publish, upload): every argument pre-approved means those too, unprompted.
DESTRUCTIVE_PROGRAMS = frozenset({
    "git", "gh", "glab", "terraform", "tofu", "pulumi", "helm", "aws", "gcloud", "gsutil", "az", "doctl", "flyctl",
    "heroku", "vercel", "netlify", "wrangler", "rm", "rsync", "scp", "curl", "wget", "psql", "mysql", "mongosh",
    "redis-cli", "sqlite3", "dropdb", "cargo", "twine", "make", "systemctl", "crontab", "chmod", "chown", "dd", "mv"})


@check("approval.broad-command-allow", title="Every use of a powerful program is pre-approved",
       severity="medium", categories=("privilege_scope", "irreversible_action"),
       remediation='Pre-approve the exact subcommands needed (e.g. "Bash(git status)", "Bash(kubectl get:*)"); '
                   "leave pushes, deletes, applies and interpreters to ask each time.",
       rationale="A rule that allows a program with any arguments runs all of its subcommands unprompted: for an "
                 "interpreter or launcher that is every command, for git, kubectl or terraform it includes force "
                 "pushes, deletes and applies.")
def broad_command_allow(context: AnalysisContext) -> Iterator[Hit]:
    rules = [(allow.rule, allow.path, allow.line) for allow in context.system.claude_allow]
    rules += [(rule, context.system.manifest_path, context.system.manifest_line(rule))
              for rule in as_list(_manifest_permissions(context).get("allow")) if isinstance(rule, str)]
    for rule, path, line in rules:
        match = _WHOLE_PROGRAM_RULE.match(rule.strip())
        program = match.group(1).lower() if match else ""
        if program in ANY_COMMAND_PROGRAMS:
            yield Hit(path, line, f'allow: "{rule}" (runs any command it is given)', severity="high")
        elif program in DESTRUCTIVE_PROGRAMS:
            yield Hit(path, line, f'allow: "{rule}" (every {program} subcommand, destructive ones included)')


@check("approval.auto-enable-project-mcp", title="Every MCP server in the project is enabled without review",
       severity="medium", categories=("privilege_scope", "provenance"),
       remediation="Remove enableAllProjectMcpServers; list the reviewed servers in enabledMcpjsonServers.",
       rationale="Anyone who can change .mcp.json (a PR, a dependency) adds a server that starts with no prompt.")
def auto_enable_project_mcp(context: AnalysisContext) -> Iterator[Hit]:
    for settings in context.system.claude_settings:
        if settings.data.get("enableAllProjectMcpServers") is True:
            yield Hit(settings.file.path, settings.file.line_of("enableAllProjectMcpServers"),
                      '"enableAllProjectMcpServers": true')


@check("approval.mcp-auto-approve", title="MCP tools are approved in advance",
       severity="medium", categories=("privilege_scope",),
       remediation="Approve MCP tools per call, or pre-approve only read-only tools by name.",
       rationale="Pre-approved MCP tools act on the model's say-so, including on injected instructions.")
def mcp_auto_approve(context: AnalysisContext) -> Iterator[Hit]:
    for server in context.system.mcp_servers:
        if server.auto_approve and not server.disabled:
            # "*" approves every tool; a list approves those tools (Cline alwaysAllow/autoApprove), and a list of
            # tools named only for reading (search, list_*, get_*) is what the remediation asks for: low
            readers = all(READ_TOOL.search(t) and not WRITE_TOOL.search(t) for t in server.auto_approve)
            severity = "high" if "*" in server.auto_approve else ("low" if readers else None)
            yield Hit(server.path, server.line, f"{server.name}: auto-approves {', '.join(server.auto_approve)[:80]}",
                      severity=severity)
    for allow in context.system.claude_allow:
        rule = allow.rule.strip()
        rest = rule[5:] if rule.startswith("mcp__") else None
        if rest is not None and (rest == "*" or "__" not in rest or rest.endswith("__*")):
            yield Hit(allow.path, allow.line, f'allow: "{rule}" (every tool)')
    for server in as_list((context.system.manifest or {}).get("mcp_servers")):
        if as_dict(server).get("auto_approve") is True:
            yield Hit(context.system.manifest_path, context.system.manifest_line("auto_approve"), f"mcp_servers[{as_dict(server).get('name')}].auto_approve")


@check("approval.vscode-auto-approve", title="VS Code agent mode auto-approves every tool",
       severity="high", categories=("privilege_scope",),
       remediation='Remove "chat.tools.autoApprove" (and chat.tools.global.autoApprove) from workspace settings.',
       rationale="Workspace settings travel with the repository; anyone who opens it runs tools unprompted.")
def vscode_auto_approve(context: AnalysisContext) -> Iterator[Hit]:
    for file, settings in context.system.vscode_settings:
        for key in ("chat.tools.autoApprove", "chat.tools.global.autoApprove"):
            if settings.get(key) is True:
                yield Hit(file.path, file.line_of(key), f'"{key}": true')


_APPROVING_OUTPUT = re.compile(r"(\"?decision\"?\s*:\s*\\?\"?approve|permissionDecision\\?\"?\s*:\s*\\?\"?allow|"
                               r"\"?behavior\"?\s*:\s*\\?\"?allow)", re.I)


_READ_ONLY_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "NotebookRead", "TodoRead", "TodoWrite"})


@check("approval.hook-auto-approves", title="A hook approves tool calls automatically",
       severity="high", categories=("privilege_scope",),
       remediation="Let PreToolUse hooks only deny or ask; never return an unconditional allow/approve.",
       rationale="A hook that answers 'allow' silently replaces the permission prompt.")
def hook_auto_approves(context: AnalysisContext) -> Iterator[Hit]:
    for hook in context.system.hooks:
        if hook.event in ("PreToolUse", "PermissionRequest") and _APPROVING_OUTPUT.search(hook.command):
            # a hook matched only to tools that read (Read|Grep|Glob) approves what the default mode allows anyway
            read_only = bool(hook.matcher) and all(part.strip() in _READ_ONLY_TOOLS for part in hook.matcher.split("|"))
            yield Hit(hook.path, hook.line, f"{hook.event} ({hook.matcher or 'every tool'}): {hook.command}",
                      severity="low" if read_only else None)


@check("approval.manifest-no-approval", title="The manifest declares dangerous tools that never need approval",
       severity="high", categories=("privilege_scope",),
       remediation='Set approval to "always" (or "on-risk") for shell, write, payment, deploy and messaging tools.',
       rationale="The builder states that consequential tools run unattended.")
def manifest_no_approval(context: AnalysisContext) -> Iterator[Hit]:
    manifest = context.system.manifest or {}
    harness_never = as_dict(manifest.get("harness")).get("approval_mode") == "never"
    for tool in as_list(manifest.get("tools")):
        tool = as_dict(tool)
        caps = {str(c) for c in as_list(tool.get("capabilities"))} & _DANGEROUS_CAPS
        approval = tool.get("approval") or ("never" if harness_never else None)
        if caps and approval == "never":
            yield Hit(context.system.manifest_path, context.system.manifest_line(f'"{tool.get("name")}"'),
                      f"tool {tool.get('name')}: {', '.join(sorted(caps))} with approval never")
