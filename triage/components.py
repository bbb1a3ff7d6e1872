"""The component inventory of a submitted system: what a claim's scope can name, and which components a finding
belongs to.

Read from the parsed system and the capability graph (no parser of its own), inside the sandbox like the rest of
the analysis. Every component has a stable id ``<kind>:<name>`` (kinds and their labels: intake.scope), a label a
person reads, and the files it lives in with the line where it is declared there when known. Ids are built from
submitted names, so they are bounded and stripped of control characters here and checked again outside the
sandbox (:func:`inventory_checked`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the policy imports this module for finding_components; it needs no parser loaded
    from triage.graph import CapabilityGraph
    from triage.parsers import ParsedSystem

MAX_COMPONENTS = 3000
MAX_NAME = 160
MAX_LABEL = 200
MAX_PATHS = 50
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Kinds a finding in one of their files belongs to whatever its line: the file configures all of it.
_WHOLE_FILE_KINDS = ("agent", "harness-config", "workflow", "skill")
_NODE_PREFIXES = ("mcp-server:", "python-tools:")
KNOWN_KINDS = ("agent", "harness-config", "mcp-server", "tool", "hook", "workflow", "container", "skill", "file")


def _name(value: object) -> str:
    text = _UNPRINTABLE.sub("", str(value or "")).strip()
    return text[:MAX_NAME] or "unnamed"


class _Inventory:
    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def add(self, kind: str, name: str, label: str, path: str, line: int | None = None) -> None:
        component_id = f"{kind}:{_name(name)}"
        item = self.items.get(component_id)
        if item is None:
            if len(self.items) >= MAX_COMPONENTS:
                return
            item = self.items[component_id] = {"id": component_id, "kind": kind,
                                               "label": _UNPRINTABLE.sub("", label)[:MAX_LABEL], "paths": [],
                                               "lines": {}}
        if path and path not in item["paths"] and len(item["paths"]) < MAX_PATHS:
            item["paths"].append(path)
        if path and line is not None and path not in item["lines"]:
            item["lines"][path] = line

    def sorted(self) -> list[dict]:
        return [self.items[key] for key in sorted(self.items)]


def inventory_of(system: ParsedSystem, graph: CapabilityGraph, files: Iterable[str]) -> list[dict]:
    """Every component of the system, sorted by id. ``files`` are the paths of the unpacked tree."""
    from triage.parsers.base import as_dict

    inventory = _Inventory()
    for agent in graph.sorted_agents():
        if agent.id.startswith(_NODE_PREFIXES):
            continue  # graph nodes for a code server or loose tools: their components are the server and tools
        paths = [agent.path] + sorted({c.path for c in agent.capabilities} - {agent.path})
        for path in paths:
            inventory.add("agent", agent.id, f"{agent.harness} agent {agent.id}", path)
    for settings in system.claude_settings:
        inventory.add("harness-config", settings.file.path, f"Claude Code settings ({settings.file.path})",
                      settings.file.path)
    for file, client in system.mcp_config_files:
        inventory.add("harness-config", file.path, f"{client} MCP configuration ({file.path})", file.path)
    for config in system.codex_configs:
        inventory.add("harness-config", config.file.path, f"Codex configuration ({config.file.path})",
                      config.file.path)
    for file, _data in system.vscode_settings:
        inventory.add("harness-config", file.path, f"VS Code settings ({file.path})", file.path)
    for server in system.mcp_servers:
        inventory.add("mcp-server", server.name, f"MCP server {_name(server.name)} ({server.client})", server.path,
                      server.line)
    for server in system.code_servers:
        inventory.add("mcp-server", server.name, f"MCP server {_name(server.name)} (code, {server.language})",
                      server.path, server.line)
        for tool in server.tools:
            inventory.add("tool", f"{_name(server.name)}/{_name(tool.name)}",
                          f"{tool.kind} {_name(tool.name)} of MCP server {_name(server.name)}", tool.path, tool.line)
    served = {(t.path, t.name) for server in system.code_servers for t in server.tools}
    for tool in system.code_tools:
        if tool.server or (tool.path, tool.name) in served:
            continue
        inventory.add("tool", f"{tool.path}/{_name(tool.name)}", f"{tool.framework} tool {_name(tool.name)}",
                      tool.path, tool.line)
    for module in system.python_modules:
        for tool in module.tools:
            if (tool.path, tool.name) in served:
                continue
            inventory.add("tool", f"{tool.path}/{_name(tool.name)}", f"{tool.framework} tool {_name(tool.name)}",
                          tool.path, tool.line)
    _manifest_components(system, inventory)
    numbered: dict[str, int] = {}
    for hook in sorted(system.hooks, key=lambda h: (h.event, h.path, h.line or 0, h.command)):
        numbered[hook.event] = numbered.get(hook.event, 0) + 1
        command = _name(hook.command)[:60]
        inventory.add("hook", f"{_name(hook.event)}/{numbered[hook.event]}",
                      f"{hook.harness} {_name(hook.event)} hook: {command}", hook.path, hook.line)
    for workflow in system.workflows:
        path = workflow.file.path
        inventory.add("workflow", path, f"CI workflow {path}", path)
    for file, _instructions in system.dockerfiles:
        inventory.add("container", file.path, f"Container image {file.path}", file.path)
    for file, data in system.compose_files:
        inventory.add("container", file.path, f"Compose file {file.path}", file.path)
        for service in sorted(as_dict(data.get("services"))):
            inventory.add("container", f"{file.path}/{service}", f"Compose service {_name(service)}", file.path,
                          file.line_of(f"{service}:"))
    for skill in system.skills:
        inventory.add("skill", skill.name, f"Skill {_name(skill.name)}", skill.path)
        for script, _line in skill.scripts:
            inventory.add("skill", skill.name, f"Skill {_name(skill.name)}", script)
    for path in sorted(files):
        inventory.add("file", path, path, path)
    return inventory.sorted()


def _manifest_components(system: ParsedSystem, inventory: _Inventory) -> None:
    from triage.parsers.base import as_dict, as_list, as_str

    manifest = system.manifest
    if not manifest:
        return
    path = system.manifest_path
    for tool in as_list(manifest.get("tools")):
        name = as_str(as_dict(tool).get("name"))
        if name:
            inventory.add("tool", f"manifest/{_name(name)}", f"Tool {_name(name)} (manifest)", path,
                          system.manifest_line(f'"{name}"'))
    for server in as_list(manifest.get("mcp_servers")):
        name = as_str(as_dict(server).get("name"))
        if name:
            inventory.add("mcp-server", name, f"MCP server {_name(name)} (manifest)", path,
                          system.manifest_line(f'"{name}"'))


def _nearest(items: Sequence[dict], path: str, line: int | None) -> tuple[list[dict], bool]:
    """Of the components of one kind declared in one file, the one a line belongs to: the last declared at or
    before it, and True (certain). Without a line, or without every declaration's line, all of them and False."""
    declared = [item for item in items if path in item["lines"]]
    if line is None or len(declared) != len(items):
        return list(items), False
    before = [item for item in declared if item["lines"][path] <= line]
    if not before:
        return [], True  # the line comes before every declaration: it belongs to none of them
    return [max(before, key=lambda item: item["lines"][path])], True


def finding_components(finding: dict, inventory: Sequence[dict], *, definite: bool = False) -> set[str]:
    """The ids of the components a finding (CONTRACT shape, with ``agent``/``agents``/``tool``/``server`` from its
    extra data when present) belongs to: its file, the components declared in that file around its line, and the
    agents, tools and servers it names. Empty for a whole-system finding.

    When a line cannot tell which of several components of one kind declared in a file it belongs to (a submitted
    manifest has no lines), it belongs to all of them; ``definite=True`` leaves those out, for exclusions: an
    out-of-scope tool must not take the manifest's other components out of scope with it."""
    path = finding.get("path") or ""
    line = finding.get("line") if isinstance(finding.get("line"), int) else None
    tool = finding.get("tool") if isinstance(finding.get("tool"), str) else ""
    found: set[str] = set()
    if path:
        found.add(f"file:{path}")
        by_kind: dict[str, list[dict]] = {}
        for item in inventory:
            if path in item.get("paths", ()) and item.get("kind") != "file":
                by_kind.setdefault(item["kind"], []).append(item)
        for kind, items in by_kind.items():
            if kind == "tool" and tool:
                continue  # the finding names its tool: that one (below), not its neighbours
            if kind in _WHOLE_FILE_KINDS:
                chosen, certain = items, True
            else:
                chosen, certain = _nearest(items, path, line)
            if certain or not definite:
                found |= {item["id"] for item in chosen}
    for agent in [finding.get("agent")] + list(finding.get("agents") or []):
        if not isinstance(agent, str) or not agent:
            continue
        if agent.startswith("mcp-server:"):  # the graph's node for a server read from code: "<path>#<name>"
            found.add(f"mcp-server:{_name(agent.rsplit('#', 1)[-1])}")
        elif agent.startswith("python-tools:"):
            found.add(f"file:{agent.split(':', 1)[1]}")
        else:
            found.add(f"agent:{_name(agent)}")
    if tool:
        found |= {item["id"] for item in inventory if item.get("kind") == "tool"
                  and item["id"].rsplit("/", 1)[-1] == _name(tool) and (not path or path in item.get("paths", ()))}
    server = finding.get("server")
    if isinstance(server, str) and server:
        found.add(f"mcp-server:{_name(server.rsplit('#', 1)[-1])}")
    return found


def inventory_checked(raw: object) -> list[dict]:
    """The inventory the sandbox returned, re-validated (it was computed from hostile input): a list of
    ``{"id", "kind", "label", "paths", "lines"}`` with bounded strings; anything else raises ValueError."""
    if not isinstance(raw, list) or len(raw) > MAX_COMPONENTS:
        raise ValueError("component inventory is not a bounded list")
    checked = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("component is not an object")
        component_id, kind, label = item.get("id"), item.get("kind"), item.get("label")
        paths, lines = item.get("paths"), item.get("lines") or {}
        if not (isinstance(component_id, str) and isinstance(kind, str) and isinstance(label, str)
                and kind in KNOWN_KINDS and component_id.startswith(kind + ":")
                and len(component_id) <= len(kind) + 1 + 2 * MAX_NAME + 1 and len(label) <= MAX_LABEL
                and not _UNPRINTABLE.search(component_id)):
            raise ValueError("component has a malformed id, kind or label")
        if not (isinstance(paths, list) and len(paths) <= MAX_PATHS and all(isinstance(p, str) and len(p) <= 4096
                                                                            for p in paths)):
            raise ValueError("component has malformed paths")
        if not (isinstance(lines, dict) and all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                                for k, v in lines.items())):
            raise ValueError("component has malformed lines")
        checked.append({"id": component_id, "kind": kind, "label": label, "paths": list(paths),
                        "lines": {k: v for k, v in lines.items() if k in paths}})
    return sorted(checked, key=lambda c: c["id"])
