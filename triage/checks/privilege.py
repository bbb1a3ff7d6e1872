"""Privilege scope: containers, CI tokens and file scopes wider than the agent needs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.parsers.base import as_dict, as_list, as_str


def _compose_services(context: AnalysisContext):  # noqa: ANN202
    from triage.parsers.containers import compose_services

    for file, data in context.system.compose_files:
        for name, service in compose_services(data).items():
            yield file, name, service


def _container_commands(context: AnalysisContext) -> Iterator[tuple[str, int | None, str]]:
    for path, line, text, _how in context.system.command_sources():
        if re.search(r"\b(docker|podman)\s+(run|create)\b", text):
            yield path, line, text


@check("privilege.docker-socket", title="The Docker socket is mounted into a container",
       severity="critical", categories=("privilege_scope",),
       remediation="Do not mount /var/run/docker.sock; use a rootless, scoped builder or a separate sandbox service.",
       rationale="Access to the Docker socket is root on the host.")
def docker_socket(context: AnalysisContext) -> Iterator[Hit]:
    for file, name, service in _compose_services(context):
        for volume in as_list(service.get("volumes")):
            text = volume if isinstance(volume, str) else str(as_dict(volume).get("source", ""))
            if "docker.sock" in text:
                yield Hit(file.path, file.line_of("docker.sock"), f"service {name}: volume {text}")
    for path, line, text in _container_commands(context):
        if "docker.sock" in text:
            yield Hit(path, line, text)


@check("privilege.privileged-container", title="A container runs privileged or with all capabilities",
       severity="high", categories=("privilege_scope",),
       remediation="Remove privileged: true / --privileged and broad cap_add; keep seccomp and AppArmor profiles on.",
       rationale="A privileged container can take over the host kernel.")
def privileged_container(context: AnalysisContext) -> Iterator[Hit]:
    for file, name, service in _compose_services(context):
        if service.get("privileged") is True:
            yield Hit(file.path, file.line_of("privileged"), f"service {name}: privileged: true")
        caps = {str(c).upper() for c in as_list(service.get("cap_add"))}
        if caps & {"ALL", "SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN"}:
            yield Hit(file.path, file.line_of("cap_add"), f"service {name}: cap_add {sorted(caps)}")
        for option in as_list(service.get("security_opt")):
            if "unconfined" in str(option):
                yield Hit(file.path, file.line_of("unconfined"), f"service {name}: security_opt {option}")
    for path, line, text in _container_commands(context):
        if re.search(r"--privileged|--cap-add[= ](ALL|SYS_ADMIN)|unconfined", text):
            yield Hit(path, line, text)


@check("privilege.host-namespaces", title="A container shares the host's network or process namespace",
       severity="medium", categories=("privilege_scope", "exfiltration"),
       remediation="Use a private network with an egress proxy instead of network_mode: host; drop pid/ipc: host.",
       rationale="Host networking bypasses container egress controls and exposes loopback services.")
def host_namespaces(context: AnalysisContext) -> Iterator[Hit]:
    for file, name, service in _compose_services(context):
        for key in ("network_mode", "pid", "ipc"):
            if service.get(key) == "host":
                yield Hit(file.path, file.line_of(key), f"service {name}: {key}: host")
    for path, line, text in _container_commands(context):
        if re.search(r"--(network|net|pid|ipc)[= ]host", text):
            yield Hit(path, line, text)


@check("privilege.workflow-write-all", title="A workflow that runs an agent has a write-all or default token",
       severity="high", categories=("privilege_scope",),
       remediation="Declare least-privilege permissions (contents: read, and only the write scopes the job needs).",
       rationale="The agent can use the token to push, publish or change settings on an attacker's instruction.")
def workflow_write_all(context: AnalysisContext) -> Iterator[Hit]:
    for workflow in context.system.workflows:
        for job in sorted({s.job for s in workflow.agent_steps}):
            permissions = workflow.job_permissions(job)
            if permissions == "write-all":
                yield Hit(workflow.file.path, workflow.file.line_of("write-all"), f"job {job}: permissions: write-all")
            elif permissions is None:
                yield Hit(workflow.file.path, None, f"job {job}: no permissions block (repository default token)",
                          severity="medium")


_PR_HEAD = re.compile(r"github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|refs/pull/")


@check("privilege.pr-target-checkout", title="pull_request_target checks out and runs pull-request code",
       severity="critical", categories=("privilege_scope", "untrusted_input"),
       remediation="Use pull_request for untrusted code, or check out the base ref only; never run PR code with "
                   "secrets or a write token.",
       rationale="pull_request_target runs with secrets and a write token; checking out the PR head hands both to "
                 "the PR author.")
def pr_target_checkout(context: AnalysisContext) -> Iterator[Hit]:
    for workflow in context.system.workflows:
        if "pull_request_target" not in workflow.triggers:
            continue
        for step in workflow.steps:
            if step.uses.startswith("actions/checkout") and _PR_HEAD.search(str(step.with_.get("ref", ""))):
                yield Hit(step.path, workflow.file.line_of("ref:") or step.line,
                          f"job {step.job}: checkout ref {step.with_.get('ref')}")


# The root, every home, or one user's whole home directory (~/.ssh, ~/.aws and browser profiles included).
_BROAD = re.compile(r"^(/|~|~/|\$HOME|\$\{HOME\}|%USERPROFILE%|/home(/[^/\s]+)?|/Users(/[^/\s]+)?|/root|\*\*|/\*\*|//\*\*|"
                    r"~/\*\*|C:\\\\?|C:[\\/]+Users([\\/]+[^\\/\s]+)?)[\\/]?$", re.I)


@check("privilege.broad-write-scope", title="The agent may write far outside its workspace",
       severity="high", categories=("privilege_scope",),
       remediation="Limit writes to the project directory; give filesystem servers the project path only.",
       rationale="Writes to the home directory or / let an agent plant shell profiles, SSH keys or hooks.")
def broad_write_scope(context: AnalysisContext) -> Iterator[Hit]:
    for allow in context.system.claude_allow:
        match = re.match(r"^(Edit|Write)\((.*)\)$", allow.rule.strip())
        if match and _BROAD.match(match.group(2).strip()):
            yield Hit(allow.path, allow.line, f'allow: "{allow.rule}"')
    for settings in context.system.claude_settings:
        for directory in as_list(settings.permissions.get("additionalDirectories")):
            if isinstance(directory, str) and _BROAD.match(directory.strip()):
                yield Hit(settings.file.path, settings.file.line_of("additionalDirectories"),
                          f"additionalDirectories: {directory}")
    for server in context.system.mcp_servers:
        if re.search(r"filesystem", server.command) and any(_BROAD.match(a) for a in server.command.split()[1:]):
            yield Hit(server.path, server.line, f"{server.name}: {server.command}")
    for path in as_list(as_dict((context.system.manifest or {}).get("permissions")).get("write_paths")):
        if isinstance(path, str) and _BROAD.match(path.strip()):
            yield Hit(context.system.manifest_path, context.system.manifest_line("write_paths"), f"permissions.write_paths: {path}")
    for policy in context.system.sandbox_policies:
        for grant in policy.grants:
            if grant.kind == "write-anywhere":
                yield Hit(grant.path, grant.line, f"sandbox policy: {grant.evidence}")


_SECRET_DENY = re.compile(r"\.env|secret|\.pem|\.key|id_rsa|id_ed25519|credential|\.ssh|\.aws", re.I)


_WIDENING_MODES = ("acceptEdits", "bypassPermissions")
_FILE_OR_SHELL_RULE = re.compile(r"^(Bash|Edit|Write|MultiEdit|NotebookEdit|Read)\b")


def _widening(settings) -> list[str]:  # noqa: ANN001 - ClaudeSettings
    """What a settings file lets the agent do unprompted beyond the defaults: allow rules, an edit-accepting or
    bypass mode, extra directories. A file that only configures hooks, MCP servers or deny rules widens nothing."""
    found = [f"allow {rule}" for rule in settings.rules("allow")]
    if settings.default_mode in _WIDENING_MODES:
        found.append(f"defaultMode {settings.default_mode}")
    found += [f"additionalDirectories {d}" for d in as_list(settings.permissions.get("additionalDirectories"))
              if isinstance(d, str)]
    return found


@check("privilege.no-secret-deny-rules", title="No deny rules keep the agent away from .env files and keys",
       severity="medium", categories=("privilege_scope", "private_data"),
       remediation='Add deny rules such as "Read(./.env)", "Read(./.env.*)", "Read(./secrets/**)", "Read(~/.ssh/**)".',
       rationale="Without them an agent that works unprompted reads credentials as readily as code, and may quote "
                 "them anywhere.")
def no_secret_deny_rules(context: AnalysisContext) -> Iterator[Hit]:
    settings = context.system.claude_settings
    widened = [(s, item) for s in settings for item in _widening(s)]
    if not widened:
        return  # the default mode asks before every edit and command: nothing runs unprompted to guard
    denies = [r for s in settings for r in s.rules("deny")]
    if any(_SECRET_DENY.search(r) for r in denies):
        return
    # files or shell pre-approved: the agent can read .env or cat a key without a prompt
    touches = [item for _s, item in widened if not item.startswith("allow ")
               or _FILE_OR_SHELL_RULE.match(item[len("allow "):].strip())]
    first = widened[0][0]
    yield Hit(first.file.path, first.file.line_of("permissions") or 1,
              f"deny rules: {', '.join(denies)[:80] or 'none'}; unprompted: {', '.join(i for _s, i in widened)[:80]}",
              severity=None if touches else "low")


@check("privilege.container-root", title="The agent's container runs as root",
       severity="low", categories=("privilege_scope",),
       remediation="Add a non-root USER to the final stage of the Dockerfile.",
       rationale="Root inside the container turns any escape or mount mistake into root on the host.")
def container_root(context: AnalysisContext) -> Iterator[Hit]:
    for file, instructions in context.system.dockerfiles:
        users = [i for i in instructions if i.keyword == "USER"]
        last_from = max((i.line for i in instructions if i.keyword == "FROM"), default=0)
        final_users = [u for u in users if u.line > last_from]
        if not instructions:
            continue
        if not final_users or as_str(final_users[-1].args).split(":")[0] in ("root", "0"):
            yield Hit(file.path, final_users[-1].line if final_users else last_from or 1,
                      f"USER {final_users[-1].args}" if final_users else "no USER instruction in the final stage")
