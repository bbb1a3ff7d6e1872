"""Harness configuration: Claude Code settings and hooks, OpenAI Codex config, VS Code settings, instruction files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from triage.parsers.base import SourceFile, as_dict, as_list, as_str

# Files an agent harness loads into the model's context by name wherever it finds them in the project: Claude Code
# (CLAUDE.md), Codex and others (AGENTS.md, AGENT.md), Gemini CLI (GEMINI.md), Cursor, Windsurf and Cline rules files,
# GitHub Copilot, Goose (.goosehints), and the persona files of OpenClaw-style workspaces (SOUL.md, IDENTITY.md).
INSTRUCTION_NAMES = frozenset({"CLAUDE.md", "CLAUDE.local.md", "AGENTS.md", "AGENT.md", "GEMINI.md", ".cursorrules",
                               ".windsurfrules", ".clinerules", ".roorules", "copilot-instructions.md", ".goosehints",
                               "SOUL.md", "IDENTITY.md"})
# Generic names a persona workspace also loads (TOOLS.md, USER.md...): instructions only beside a SOUL.md or
# IDENTITY.md, since a README-like TOOLS.md elsewhere is nobody's system prompt.
WORKSPACE_COMPANIONS = frozenset({"TOOLS.md", "USER.md", "HEARTBEAT.md", "BOOTSTRAP.md"})
# Folders whose markdown files are rules the harness loads: (folder as it appears in the path, suffixes).
INSTRUCTION_DIRS = ((".cursor/rules/", (".md", ".mdc")), (".windsurf/rules/", (".md",)), (".clinerules/", (".md", ".txt")),
                    (".roo/rules/", (".md", ".txt")), (".kiro/steering/", (".md",)),
                    (".github/instructions/", (".instructions.md",)), (".github/prompts/", (".prompt.md",)),
                    (".github/chatmodes/", (".chatmode.md",)), (".github/agents/", (".agent.md",)),
                    (".continue/rules/", (".md",)), (".amazonq/rules/", (".md",)), (".trae/rules/", (".md",)),
                    (".junie/", ("guidelines.md",)))


@dataclass(frozen=True)
class Hook:
    harness: str  # claude-code | codex | manifest | git
    event: str
    command: str
    path: str
    line: int | None
    matcher: str = ""
    root: str = ""  # the plugin folder ${CLAUDE_PLUGIN_ROOT} names, for hooks a plugin ships ("" = the tree root)


@dataclass
class ClaudeSettings:
    file: SourceFile
    data: dict

    @property
    def permissions(self) -> dict:
        return as_dict(self.data.get("permissions"))

    @property
    def default_mode(self) -> str:
        return as_str(self.permissions.get("defaultMode"))

    def rules(self, kind: str) -> list[str]:
        return [r for r in as_list(self.permissions.get(kind)) if isinstance(r, str)]


@dataclass
class CodexConfig:
    file: SourceFile
    data: dict

    def line_for(self, where: str, *needles: str) -> int | None:
        """Line of ``needles`` inside the ``[where]`` table (top level when ``where`` is empty)."""
        start = 0
        if where:
            header = self.file.line_of(f"[{where}]")
            if header is None:
                return self.file.line_of(*needles)
            start = header
        for number, line in enumerate(self.file.lines[start:], start=start + 1):
            if not where and line.lstrip().startswith("["):
                break
            if all(n in line for n in needles):
                return number
        return self.file.line_of(*needles)

    def effective(self, key: str) -> list[tuple[str, object]]:
        """(where, value) for ``key`` at top level and in every profile: any profile may be the one used."""
        found = []
        if key in self.data:
            found.append(("", self.data[key]))
        for name, profile in sorted(as_dict(self.data.get("profiles")).items()):
            if isinstance(profile, dict) and key in profile:
                found.append((f"profiles.{name}", profile[key]))
        return found


@dataclass(frozen=True)
class AllowRule:
    """A Claude Code permission rule that runs a tool without asking: from settings, or from the ``allowed-tools``
    front matter of a slash command or skill (which pre-approves those tools whenever it is invoked)."""

    rule: str
    path: str
    line: int | None


def is_claude_command(path: str) -> bool:
    return path.endswith(".md") and ".claude/commands/" in f"/{path}"


def is_subagent(path: str) -> bool:
    """A Claude Code subagent definition: its body is that agent's system prompt."""
    return path.endswith(".md") and ".claude/agents/" in f"/{path}"


def front_matter(file: SourceFile) -> tuple[dict, int]:
    """The YAML front matter of a markdown file and the 1-based line its body starts on; ({}, 1) without one."""
    from triage.parsers.base import MalformedFile, load_yaml

    text = file.text
    if not text.startswith("---"):
        return {}, 1
    end = text.find("\n---", 3)
    if end < 0:
        return {}, 1
    try:
        meta = as_dict(load_yaml(text[3:end]))
    except MalformedFile:
        return {}, 1
    return meta, text.count("\n", 0, end) + 3


def front_matter_allowed_tools(file: SourceFile) -> list[AllowRule]:
    meta, _body = front_matter(file)
    value = meta.get("allowed-tools", meta.get("allowed_tools"))
    if isinstance(value, str):
        rules = re.findall(r"[^,(\s][^,(]*(?:\([^)]*\))?", value)
    else:
        rules = [r for r in as_list(value) if isinstance(r, str)]
    return [AllowRule(r.strip(), file.path, file.line_of(r.strip())) for r in rules if r.strip()]


def settings_allow_rules(settings: ClaudeSettings) -> list[AllowRule]:
    return [AllowRule(rule, settings.file.path, settings.file.line_of(f'"{rule}"')) for rule in settings.rules("allow")]


def is_claude_settings(path: str) -> bool:
    return path.endswith((".claude/settings.json", ".claude/settings.local.json")) or path in (
        ".claude/settings.json", ".claude/settings.local.json")


CLAUDE_PERMISSION_KEYS = frozenset({"allow", "deny", "ask", "defaultMode", "additionalDirectories"})
CLAUDE_HOOK_EVENTS = frozenset({"PreToolUse", "PostToolUse", "UserPromptSubmit", "Notification", "Stop",
                                "SubagentStop", "PreCompact", "SessionStart", "SessionEnd"})


def has_claude_settings_shape(data: object) -> bool:
    """A settings file Claude Code would read, recognised by its schema wherever it sits (a user-level
    ``~/.claude/settings.json`` submitted on its own arrives as a bare ``settings.json``): a ``permissions``
    object of Claude's rule lists or mode, a ``hooks`` object keyed by Claude's hook events, or its MCP switches."""
    if not isinstance(data, dict):
        return False
    permissions = data.get("permissions")
    if isinstance(permissions, dict) and CLAUDE_PERMISSION_KEYS & set(permissions):
        return True
    hooks = data.get("hooks")
    if isinstance(hooks, dict) and CLAUDE_HOOK_EVENTS & set(hooks):
        return True
    return "enableAllProjectMcpServers" in data or "enabledMcpjsonServers" in data


def is_codex_config(path: str) -> bool:
    return path == ".codex/config.toml" or path.endswith("/.codex/config.toml") or path.endswith("codex/config.toml")


def is_vscode_settings(path: str) -> bool:
    return path == ".vscode/settings.json" or path.endswith("/.vscode/settings.json")


def is_instructions(path: str, files: dict | None = None) -> bool:
    """Files a harness loads as standing instructions. ``files`` (the tree) lets a persona workspace's companion
    files count only beside its SOUL.md / IDENTITY.md."""
    directory, _, name = path.rpartition("/")
    if name in INSTRUCTION_NAMES:
        return True
    if name in WORKSPACE_COMPANIONS and files is not None:
        prefix = directory + "/" if directory else ""
        return f"{prefix}SOUL.md" in files or f"{prefix}IDENTITY.md" in files
    rooted = f"/{path}"
    return any(f"/{folder}" in rooted and name.endswith(suffixes) for folder, suffixes in INSTRUCTION_DIRS)


def claude_hooks(settings: ClaudeSettings) -> list[Hook]:
    return _hook_groups("claude-code", settings.data.get("hooks"), settings.file)


def _hook_groups(harness: str, hooks_table: object, file: SourceFile, root: str = "") -> list[Hook]:
    """Claude Code and Codex share one shape: {event: [{matcher, hooks: [{type: command, command}]}]}."""
    hooks = []
    for event, groups in sorted(as_dict(hooks_table).items()):
        for group in as_list(groups):
            group = as_dict(group)
            for hook in as_list(group.get("hooks")):
                command = as_str(as_dict(hook).get("command"))
                if command:
                    # JSON files hold the command escaped ("\"" for quotes); look for both spellings
                    line = file.line_of(command[:60]) or file.line_of(json.dumps(command)[1:61])
                    hooks.append(Hook(harness, str(event), command, file.path, line, as_str(group.get("matcher")),
                                      root))
    return hooks


def plugin_hooks(hooks_table: object, file: SourceFile, root: str) -> list[Hook]:
    """Hooks a Claude Code plugin ships (hooks/hooks.json or plugin.json "hooks"): the settings shape, run by the
    harness with ${CLAUDE_PLUGIN_ROOT} set to the plugin's folder."""
    return _hook_groups("claude-code", hooks_table, file, root)


def codex_hooks(config: CodexConfig) -> list[Hook]:
    hooks = _hook_groups("codex", config.data.get("hooks"), config.file)
    parts = [p for p in as_list(config.data.get("notify")) if isinstance(p, str)]
    if parts:
        hooks.append(Hook("codex", "notify", " ".join(parts), config.file.path, config.file.line_of("notify")))
    return hooks
