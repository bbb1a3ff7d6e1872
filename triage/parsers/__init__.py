"""Format parsers: turn an untrusted tree into structured, normalised facts for the capability graph and checks.

A malformed file never raises: it is recorded in ``ParsedSystem.problems`` and skipped.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from triage.parsers import (agent_configs, ci, containers, js_code, js_secrets, mcp, packages, plugins, policies,
                            python_code, python_imports, skills)
from triage.parsers import manifest as manifest_format
from triage.parsers.base import (MalformedFile, SourceFile, Tree, as_dict, as_list, load_json, load_toml, load_tree,
                                 load_yaml)
from triage.parsers.js_project import JsProject, settle_yaml_loads
from triage.parsers.tool_model import CodeServer, ToolDef
from triage.parsers.prefetch import Prefetched, prefetch_code

__all__ = ["ParsedSystem", "parse_tree", "parse_root", "SourceFile"]

SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".ps1")
SCRIPT_NAMES = frozenset({"Makefile", "Justfile", "justfile", "Procfile"})


@dataclass
class ParsedSystem:
    tree: Tree
    claude_settings: list[agent_configs.ClaudeSettings] = field(default_factory=list)
    claude_allow: list[agent_configs.AllowRule] = field(default_factory=list)  # settings + command front matter
    codex_configs: list[agent_configs.CodexConfig] = field(default_factory=list)
    vscode_settings: list[tuple[SourceFile, dict]] = field(default_factory=list)
    mcp_servers: list[mcp.McpServer] = field(default_factory=list)
    mcp_config_files: list[tuple[SourceFile, str]] = field(default_factory=list)  # (file, client)
    hooks: list[agent_configs.Hook] = field(default_factory=list)
    instructions: list[SourceFile] = field(default_factory=list)
    workflows: list[ci.Workflow] = field(default_factory=list)
    dockerfiles: list[tuple[SourceFile, list[containers.DockerInstruction]]] = field(default_factory=list)
    compose_files: list[tuple[SourceFile, dict]] = field(default_factory=list)
    python_modules: list[python_code.PyModule] = field(default_factory=list)
    # The MCP tool model read from code (Python and JavaScript/TypeScript): servers with their tools, and
    # agent-framework tools that no MCP server serves.
    code_servers: list[CodeServer] = field(default_factory=list)
    code_tools: list[ToolDef] = field(default_factory=list)
    package_jsons: list[tuple[SourceFile, dict]] = field(default_factory=list)
    pyprojects: list[tuple[SourceFile, dict]] = field(default_factory=list)
    requirements: list[SourceFile] = field(default_factory=list)
    env_files: list[SourceFile] = field(default_factory=list)
    scripts: list[SourceFile] = field(default_factory=list)
    manifest: dict | None = None
    manifest_path: str = manifest_format.SUBMITTED_MANIFEST_PATH
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Agent Skills (SKILL.md, *.skill.md) with the scripts they run; their text is also in ``instructions`` and their
    # allowed-tools in ``claude_allow``.
    skills: list[skills.Skill] = field(default_factory=list)
    # Claude Code plugins: (plugin folder, plugin.json data); their hooks and MCP servers are in ``hooks`` and
    # ``mcp_servers`` like the project's own.
    plugins: list[tuple[str, SourceFile, dict]] = field(default_factory=list)
    plugin_roots: list[str] = field(default_factory=list)
    # path (or folder ending in "/") -> hooks | mcp | command | agent, as a plugin.json names them
    plugin_component_files: dict[str, str] = field(default_factory=dict)
    marketplace_entries: list[plugins.MarketplaceEntry] = field(default_factory=list)
    sandbox_policies: list[policies.SandboxPolicy] = field(default_factory=list)
    # The tree's JS/TS modules, read on demand when a tool handler calls into one of them.
    js_project: JsProject | None = field(default=None, repr=False, compare=False)
    # (path, line, slot, value): string literals the syntax tree shows reaching a credential slot of an options
    # object (``auth: { pass: SMTP_PASS }``), for the secrets checks, which mask them.
    code_credentials: list[tuple[str, int, str, str]] = field(default_factory=list, repr=False)

    @property
    def files(self) -> dict[str, SourceFile]:
        return self.tree.files

    def manifest_line(self, needle: str) -> int | None:
        """Line of ``needle`` in the manifest when it is a file in the tree; None for a submitted manifest."""
        file = self.tree.files.get(self.manifest_path)
        return file.line_of(needle) if file and needle else None

    def command_sources(self) -> list[tuple[str, int | None, str, str]]:
        """(path, line, command text, context) for every command the system runs or pre-approves."""
        found: list[tuple[str, int | None, str, str]] = []
        for hook in self.hooks:
            found.append((hook.path, hook.line, hook.command, "hook"))
        for server in self.mcp_servers:
            if server.command:
                found.append((server.path, server.line, server.command, "mcp-command"))
        for workflow in self.workflows:
            for step in workflow.steps:
                if step.run:
                    found.append((step.path, step.line, step.run, "workflow-run"))
        for file, instructions in self.dockerfiles:
            for instruction in instructions:
                if instruction.keyword in ("RUN", "CMD", "ENTRYPOINT"):
                    found.append((file.path, instruction.line, instruction.args, "dockerfile"))
        for file, data in self.package_jsons:
            for name, script in packages.package_scripts(data).items():
                found.append((file.path, file.line_of(f'"{name}"'), script, "package-script"))
        run_by_hooks = {(hook.path, hook.line) for hook in self.hooks}  # reported once, as the hook it is
        for file in self.scripts:
            for number, line in enumerate(file.lines, start=1):
                if (file.path, number) in run_by_hooks:
                    continue
                if line.strip() and not line.lstrip().startswith("#"):
                    found.append((file.path, number, line.strip(), "script"))
        return found


def _claude_settings_by_shape(file: SourceFile) -> object | None:
    """A ``settings.json`` outside ``.claude/`` (say, a user-level one submitted alone) that has Claude Code's
    settings schema is read as one (its parsed data, returned); anything else of that name stays an ordinary
    file (None)."""
    if file.name not in ("settings.json", "settings.local.json") or agent_configs.is_vscode_settings(file.path):
        return None
    try:
        data = load_json(file.text)
    except MalformedFile:
        return None
    return data if agent_configs.has_claude_settings_shape(data) else None


def _add_claude_settings(system: ParsedSystem, file: SourceFile, data: object) -> None:
    settings = agent_configs.ClaudeSettings(file, _dict(data))
    system.claude_settings.append(settings)
    system.claude_allow.extend(agent_configs.settings_allow_rules(settings))
    system.hooks.extend(agent_configs.claude_hooks(settings))
    # Claude Code also reads MCP servers declared inline in settings
    system.mcp_servers.extend(mcp.servers_from_config(settings.data, client="claude-code", file=file))


def _parse_file(system: ParsedSystem, file: SourceFile, code: Prefetched) -> None:
    path = file.path
    name = file.name
    client = mcp.mcp_client_for(path)
    if system.plugin_component_files.get(path) == "mcp" and not client:
        _parse_plugin_mcp_file(system, file)
    elif agent_configs.is_claude_settings(path):
        _add_claude_settings(system, file, load_json(file.text))
    elif not client and (shaped := _claude_settings_by_shape(file)) is not None:
        _add_claude_settings(system, file, shaped)
    elif client:
        data = load_json(file.text)
        system.mcp_config_files.append((file, client))
        system.mcp_servers.extend(mcp.servers_from_config(data, client=client, file=file))
    elif agent_configs.is_codex_config(path):
        config = agent_configs.CodexConfig(file, load_toml(file.text))
        system.codex_configs.append(config)
        system.mcp_servers.extend(mcp.servers_from_codex(config.data, file=file))
        system.hooks.extend(agent_configs.codex_hooks(config))
    elif agent_configs.is_vscode_settings(path):
        system.vscode_settings.append((file, _dict(load_json(file.text))))
    elif plugins.is_plugin_manifest(path):
        _parse_plugin(system, file)
    elif plugins.is_marketplace(path):
        system.marketplace_entries.extend(plugins.marketplace_entries(load_json(file.text), file))
    elif _is_plugin_hooks_file(system, path):
        root = plugins.root_for(path, system.plugin_roots)
        if root is not None:
            data = _dict(load_json(file.text))
        else:  # a hooks/hooks.json outside any plugin: read only when it has the plugin shape
            try:
                data = as_dict(load_json(file.text))
            except MalformedFile:
                data = {}
        system.hooks.extend(agent_configs.plugin_hooks(data.get("hooks"), file,
                                                       root if root is not None else _parent(_parent(path))))
    elif skills.is_skill(path):
        skill = skills.parse_skill(file, system.files)
        system.skills.append(skill)
        system.claude_allow.extend(skill.allowed)
        system.instructions.append(file)
    elif agent_configs.is_claude_command(path) or plugins.in_plugin_folder(path, system.plugin_roots, ("commands",)) \
            or _plugin_component(system, path) == "command":
        # a slash command's body is the prompt it sends; its allowed-tools run unprompted while it runs
        system.claude_allow.extend(agent_configs.front_matter_allowed_tools(file))
        system.instructions.append(file)
    elif agent_configs.is_subagent(path) or plugins.in_plugin_folder(path, system.plugin_roots, ("agents",)) \
            or _plugin_component(system, path) == "agent":
        system.instructions.append(file)
    elif agent_configs.is_instructions(path, system.files):
        system.instructions.append(file)
    elif ci.is_workflow(path):
        workflow = ci.parse_workflow(load_yaml(file.text), file)
        if workflow:
            system.workflows.append(workflow)
    elif containers.is_dockerfile(path):
        system.dockerfiles.append((file, containers.parse_dockerfile(file)))
    elif containers.is_compose(path):
        system.compose_files.append((file, _dict(load_yaml(file.text))))
    elif manifest_format.is_manifest_file(path):
        found = manifest_format.normalise_manifest(load_json(file.text))
        if found and system.manifest is None:
            system.manifest, system.manifest_path = found, path
    elif packages.is_package_json(path):
        system.package_jsons.append((file, _dict(load_json(file.text))))
    elif packages.is_pyproject(path):
        system.pyprojects.append((file, load_toml(file.text)))
    elif packages.is_requirements(path):
        system.requirements.append(file)
    elif name == ".env" or name.startswith(".env.") and not name.endswith((".example", ".sample", ".template")):
        system.env_files.append(file)
    elif policies.is_policy_candidate(path) and _parse_policy(system, file):
        pass
    elif name.endswith(SCRIPT_SUFFIXES) or name in SCRIPT_NAMES or path.startswith((".githooks/", ".husky/")):
        system.scripts.append(file)
    elif name.endswith(".py"):
        module = code.get(path, file.text, python_code.parse_python)
        if module is None:
            system.problems.append((path, "not valid Python; skipped"))
        else:
            system.python_modules.append(module)
            system.code_servers.extend(module.servers)
            system.code_tools.extend(module.code_tools)
    elif js_code.is_js_source(path):
        if system.js_project is None:
            system.js_project = JsProject(system.files)
        system.code_credentials.extend((path, *hit) for hit in js_secrets.credential_literals(file.text, path))
        found = code.get(path, file.text, lambda text, where: js_code.parse_js(text, where, system.js_project))
        if found is None:
            system.problems.append((path, "not valid JavaScript/TypeScript; skipped"))
        else:
            system.code_servers.extend(found.servers)
            system.code_tools.extend(found.code_tools)


def _plugin_component(system: ParsedSystem, path: str) -> str:
    """What a plugin's manifest names this file as (hooks, mcp, command, agent), directly or by its folder."""
    if path in system.plugin_component_files:
        return system.plugin_component_files[path]
    if not path.endswith(".md"):
        return ""
    folder = path.rpartition("/")[0] + "/"
    return system.plugin_component_files.get(folder, "")


# A policy document names at least two of these sections as keys; files without them are never YAML-parsed.
_POLICY_SECTION_KEY = re.compile(r"^\s*[\"']?(network|egress|outbound|filesystem|fs|files|mounts|commands|exec|"
                                 r"process|processes|binaries|programs|shell|tools)[\w-]*[\"']?\s*:", re.I | re.M)
MAX_POLICY_BYTES = 128 * 1024


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _is_plugin_hooks_file(system: ParsedSystem, path: str) -> bool:
    """A plugin's hooks/hooks.json (the default place, or one its plugin.json names)."""
    return path == "hooks/hooks.json" or path.endswith("/hooks/hooks.json") or \
        system.plugin_component_files.get(path) == "hooks"


def _parse_plugin(system: ParsedSystem, file: SourceFile) -> None:
    data = _dict(load_json(file.text))
    root = plugins.plugin_root_of(file.path)
    system.plugins.append((root, file, data))
    for hooks in as_list(data.get("hooks")):
        if isinstance(hooks, dict):  # inline: {"hooks": {event: [...]}} or the event table itself
            table = hooks.get("hooks") if isinstance(hooks.get("hooks"), dict) else hooks
            system.hooks.extend(agent_configs.plugin_hooks(table, file, root))
    servers = data.get("mcpServers")
    if isinstance(servers, dict):
        block = servers if "mcpServers" not in servers else servers["mcpServers"]
        system.mcp_servers.extend(mcp.servers_from_config({"mcpServers": block}, client="claude-code", file=file))


def _plugin_component_files(tree: Tree) -> tuple[list[str], dict[str, str]]:
    """Plugin folders, and the hook / MCP files their plugin.json points to (read in the main pass)."""
    roots = plugins.plugin_roots(list(tree.files))
    named: dict[str, str] = {}
    for root in roots:
        file = tree.files.get(f"{root}/{plugins.PLUGIN_MANIFEST}" if root else plugins.PLUGIN_MANIFEST)
        try:
            data = as_dict(load_json(file.text)) if file else {}
        except MalformedFile:
            continue
        for key, kind in (("hooks", "hooks"), ("mcpServers", "mcp"), ("commands", "command"), ("agents", "agent")):
            for value in as_list(data.get(key)):
                resolved = plugins.resolve(value, root) if isinstance(value, str) else ""
                if not resolved:
                    continue
                if resolved in tree.files and resolved.endswith((".json", ".md")):
                    named.setdefault(resolved, kind)
                elif kind in ("command", "agent"):  # a folder of them
                    named.setdefault(resolved.rstrip("/") + "/", kind)
    return roots, named


def _parse_plugin_mcp_file(system: ParsedSystem, file: SourceFile) -> None:
    data = _dict(load_json(file.text))
    system.mcp_servers.extend(mcp.servers_from_config(data, client="claude-code", file=file))


def _parse_policy(system: ParsedSystem, file: SourceFile) -> bool:
    """Read a YAML/JSON file as a sandbox policy when its keys say it is one. Any other file is left alone, and a
    malformed one is not reported: nothing said it was a policy."""
    if len(file.text) > MAX_POLICY_BYTES or len({m.lower() for m in _POLICY_SECTION_KEY.findall(file.text)}) < 2:
        return False
    try:
        data = load_json(file.text) if file.name.endswith(".json") else load_yaml(file.text)
    except MalformedFile:
        return False
    policy = policies.parse_policy(data, file)
    if policy is None:
        return False
    system.sandbox_policies.append(policy)
    return True


def _resolve_plugin_roots(system: ParsedSystem) -> None:
    """Commands of hooks and servers a plugin ships name its files through ${CLAUDE_PLUGIN_ROOT}: spell them as
    paths in the tree, so hook scripts are read and server code is linked."""
    for server in system.mcp_servers:
        root = plugins.root_for(server.path, system.plugin_roots)
        if root is not None and "CLAUDE_PLUGIN_ROOT" in server.command:
            server.command = plugins.expand_root(server.command, root)


def _dict(value: object) -> dict:
    if not isinstance(value, dict):
        raise MalformedFile("expected an object at the top level")
    return value


def _manifest_hooks(system: ParsedSystem) -> list[agent_configs.Hook]:
    hooks = []
    for hook in as_list((system.manifest or {}).get("hooks")):
        if isinstance(hook, dict) and isinstance(hook.get("command"), str) and isinstance(hook.get("event"), str):
            hooks.append(agent_configs.Hook("manifest", hook["event"], hook["command"], system.manifest_path,
                                            system.manifest_line(hook["command"][:60])))
    return hooks


_SCRIPT_REFERENCE = re.compile(r"[\w.${}/\"'-]+\.(?:sh|bash|py|js|mjs|ts|ps1)\b")


def _hook_script_lines(system: ParsedSystem, hook: agent_configs.Hook) -> list[agent_configs.Hook]:
    """A hook that runs a script in the tree is that script: each of its command lines, at its own path and line."""
    found = []
    for reference in _SCRIPT_REFERENCE.findall(hook.command):
        relative = reference.replace('"', "").replace("'", "")
        if "CLAUDE_PLUGIN_ROOT" in relative:  # root "" is a plugin at the tree root, still to be expanded
            relative = plugins.expand_root(relative, hook.root)
        relative = re.sub(r"^(\$\{?(CLAUDE_PROJECT_DIR|PWD)\}?|\.)?/+", "", relative)
        relative = posixpath.normpath(relative) if relative else relative
        file = system.files.get(relative)
        if file is None:
            continue
        for number, line in enumerate(file.lines, start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith(("#", "//")):
                found.append(agent_configs.Hook(hook.harness, hook.event, stripped, file.path, number, hook.matcher,
                                                hook.root))
    return found


def _swapped(items: list, old: list, new: list) -> list:
    """``items`` with the run of ``old`` entries (by identity) replaced, in place, by ``new``."""
    if not old:
        return items + new
    gone = {id(item) for item in old}
    out: list = []
    for item in items:
        if id(item) not in gone:
            out.append(item)
        elif item is old[0]:
            out.extend(new)
    return out


def parse_tree(tree: Tree, *, manifest: dict | None = None, parallel: bool = False) -> ParsedSystem:
    """``parallel``: parse the code files on two cores first (see prefetch.py; only where forking is safe)."""
    system = ParsedSystem(tree)
    code = prefetch_code(tree) if parallel else Prefetched()
    system.plugin_roots, system.plugin_component_files = _plugin_component_files(tree)
    if manifest is not None:
        system.manifest = manifest_format.normalise_manifest(manifest)
    for path in sorted(tree.files):
        file = tree.files[path]
        if file.truncated:
            system.problems.append((path, "larger than the per-file limit; only the start was read"))
        try:
            _parse_file(system, file, code)
        except MalformedFile as exc:
            system.problems.append((path, str(exc)))
    texts = {path: file.text for path, file in tree.files.items() if path.endswith(".py")}
    for old_servers, old_tools, module in python_imports.link_imported_code(system.python_modules, texts.get):
        system.code_servers = _swapped(system.code_servers, old_servers, module.servers)
        system.code_tools = _swapped(system.code_tools, old_tools, module.code_tools)
    system.code_tools.extend(python_imports.link_external_tools(system.python_modules))
    settle_yaml_loads([t for s in system.code_servers for t in s.tools] + system.code_tools, system.package_jsons)
    _resolve_plugin_roots(system)
    system.hooks.extend(_manifest_hooks(system))
    system.hooks.extend([line for hook in list(system.hooks) for line in _hook_script_lines(system, hook)])
    return system


def parse_root(root: Path, *, manifest: dict | None = None) -> ParsedSystem:
    return parse_tree(load_tree(root), manifest=manifest)
