"""A claim's scope as components: which entries name which components of the case's inventory.

The inventory (``Submission.component_inventory``) is produced by triage from the uploaded artifacts and the
manifest (triage.components, triage.scope_inventory); this module only reads it, so intake's validation never runs
analysis. A scope entry is a component id (``mcp-server:github``) or a glob over ids (``mcp-server:*``,
``file:tools/**``: ``*`` stays within one path segment, ``**`` crosses them). Anything else, or an entry that
matches no component, is a problem with suggestions of the nearest components.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# kind -> what the wizard calls a group of them, in the order it shows them
COMPONENT_KINDS: dict[str, str] = {
    "agent": "Agents", "harness-config": "Harness configuration", "mcp-server": "MCP servers", "tool": "Tools",
    "hook": "Hooks", "workflow": "CI workflows", "container": "Containers", "skill": "Skills", "file": "Files",
}
# Words people write for each kind ("the .mcp.json servers", "Claude Code harness", "settings permissions").
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "mcp-server": ("mcp", "server", "servers", "connector", "connectors", ".mcp.json"),
    "agent": ("agent", "agents", "harness", "claude", "codex", "assistant", "bot", "crew"),
    "harness-config": ("settings", "config", "configuration", "permissions", "permission", "harness", "allow",
                       "settings.json", "config.toml"),
    "tool": ("tool", "tools", "function", "functions"),
    "hook": ("hook", "hooks"),
    "workflow": ("workflow", "workflows", "ci", "actions", "pipeline"),
    "container": ("container", "containers", "docker", "dockerfile", "compose", "image"),
    "skill": ("skill", "skills"),
}
MAX_SUGGESTIONS = 6


@dataclass(frozen=True)
class ScopeProblem:
    entry: str
    field: str  # claim_scope_in | claim_scope_out
    message: str
    suggestions: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"entry": self.entry, "field": self.field, "message": self.message,
                "suggestions": list(self.suggestions)}


def is_component_entry(entry: str) -> bool:
    """``kind:something`` with a kind the inventory knows."""
    kind, sep, rest = entry.strip().partition(":")
    return bool(sep and rest) and kind in COMPONENT_KINDS


@lru_cache(maxsize=512)
def _pattern(entry: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*|\?)", entry.strip())
    regex = "".join({"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part)) for part in parts)
    return re.compile(regex + r"\Z", re.S)


def entry_matches(entry: str, component_id: str) -> bool:
    return is_component_entry(entry) and _pattern(entry.strip()).match(component_id) is not None


def components_matching(entry: str, inventory: Sequence[dict]) -> list[str]:
    return [c["id"] for c in inventory if entry_matches(entry, c["id"])]


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;()\"']+", text.lower()) if w]


def suggestions_for(entry: str, inventory: Sequence[dict]) -> list[str]:
    """The components nearest to what the builder wrote: components living in a path the entry names, kind
    globs for the kinds its words name, then ids and labels spelled alike."""
    text = entry.strip()
    words = _words(text)
    found: list[str] = []

    def add(item: str) -> None:
        if item not in found:
            found.append(item)

    paths = {p for c in inventory for p in c.get("paths", ())}
    for word in [text, *words]:
        bare = word.strip().strip("/")
        if not bare:
            continue
        exact = [p for p in paths if p.lower() == bare.lower()]
        under = sorted(p for p in paths if p.lower().startswith(bare.lower() + "/"))
        for path in exact:
            kinds_named = {k for k, ws in _KIND_WORDS.items() if set(words) & set(ws) and k != "harness-config"}
            for c in inventory:
                if path in c.get("paths", ()) and c["kind"] != "file" and (not kinds_named or c["kind"] in kinds_named):
                    add(c["id"])
            add(f"file:{path}")
        if under:
            add(f"file:{bare}/**")
    present = {c["kind"] for c in inventory}
    for kind, kind_words in _KIND_WORDS.items():
        if kind in present and set(words) & set(kind_words):
            members = [c["id"] for c in inventory if c["kind"] == kind]
            add(f"{kind}:*" if len(members) > 1 else members[0])
    ids = [c["id"] for c in inventory]
    names = {c["id"].partition(":")[2].lower(): c["id"] for c in inventory}
    for close in difflib.get_close_matches(text.lower(), list(names), n=3, cutoff=0.6):
        add(names[close])
    for close in difflib.get_close_matches(text, ids, n=3, cutoff=0.6):
        add(close)
    labels = {c["label"].lower(): c["id"] for c in inventory}
    for close in difflib.get_close_matches(text.lower(), list(labels), n=3, cutoff=0.5):
        add(labels[close])
    return found[:MAX_SUGGESTIONS]


def scope_problems(scope_in: Sequence[str], scope_out: Sequence[str], inventory: Sequence[dict]) -> list[ScopeProblem]:
    """Every scope entry that names no component of the inventory, with suggestions."""
    problems = []
    for field, entries in (("claim_scope_in", scope_in), ("claim_scope_out", scope_out)):
        for entry in entries:
            if is_component_entry(entry) and components_matching(entry, inventory):
                continue
            what = "matches no component of this system" if is_component_entry(entry) else \
                "is not a component id or glob"
            where = "In scope" if field == "claim_scope_in" else "Out of scope"
            problems.append(ScopeProblem(entry=entry, field=field, message=f"{where}: “{entry}” {what}.",
                                         suggestions=tuple(suggestions_for(entry, inventory))))
    return problems


def grouped(inventory: Sequence[dict]) -> list[tuple[str, str, list[dict]]]:
    """(kind, group label, components) in the wizard's order, empty kinds left out."""
    groups = []
    for kind, label in COMPONENT_KINDS.items():
        members = [c for c in inventory if c.get("kind") == kind]
        if members:
            groups.append((kind, label, members))
    return groups
