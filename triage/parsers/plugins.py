"""Claude Code plugins and marketplaces.

A plugin is a folder with ``.claude-plugin/plugin.json`` (name, version, and optionally ``hooks`` / ``mcpServers``,
each inline or a path to a JSON file, and ``commands`` / ``agents`` folders). By default the harness also loads the
plugin's ``hooks/hooks.json``, ``.mcp.json``, ``commands/*.md``, ``agents/*.md`` and ``skills/*/SKILL.md``. Hook and
server commands may name files through ``${CLAUDE_PLUGIN_ROOT}``, the plugin's folder once installed.

A marketplace (``.claude-plugin/marketplace.json``) lists plugins and where each is fetched from: a folder in the same
repository, a GitHub repository, a git URL or an npm package.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from triage.parsers.base import SourceFile, as_dict, as_list, as_str

PLUGIN_MANIFEST = ".claude-plugin/plugin.json"
MARKETPLACE = ".claude-plugin/marketplace.json"
_ROOT_VARIABLE = re.compile(r"\$\{CLAUDE_PLUGIN_ROOT\}|\$CLAUDE_PLUGIN_ROOT\b")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+){0,2}([-+][\w.]+)?$")
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][\w.]+)?$")


def is_plugin_manifest(path: str) -> bool:
    return path == PLUGIN_MANIFEST or path.endswith("/" + PLUGIN_MANIFEST)


def is_marketplace(path: str) -> bool:
    return path == MARKETPLACE or path.endswith("/" + MARKETPLACE)


def plugin_root_of(manifest_path: str) -> str:
    return posixpath.dirname(posixpath.dirname(manifest_path))


def plugin_roots(paths: list[str]) -> list[str]:
    return sorted({plugin_root_of(p) for p in paths if is_plugin_manifest(p)})


def root_for(path: str, roots: list[str]) -> str | None:
    """The innermost plugin folder holding ``path``, or None."""
    best = None
    for root in roots:
        if root == "" or path.startswith(root + "/"):
            if best is None or len(root) > len(best):
                best = root
    return best


def in_plugin_folder(path: str, roots: list[str], folders: tuple[str, ...]) -> bool:
    """True for a markdown file directly in one of the plugin's component ``folders`` (commands/, agents/)."""
    root = root_for(path, roots)
    if root is None or not path.endswith(".md"):
        return False
    relative = path[len(root) + 1:] if root else path
    return any(relative.startswith(folder.rstrip("/") + "/") for folder in folders)


def resolve(reference: str, root: str) -> str:
    """A path as a plugin writes it (``./hooks/x.json``, ``${CLAUDE_PLUGIN_ROOT}/x``) as a path in the tree."""
    relative = _ROOT_VARIABLE.sub("", reference).lstrip("/")
    joined = posixpath.normpath(posixpath.join(root, relative)) if root else posixpath.normpath(relative)
    return "" if joined.startswith("..") else joined


def expand_root(text: str, root: str) -> str:
    """``${CLAUDE_PLUGIN_ROOT}`` replaced by the plugin's folder, so commands name files as the tree has them."""
    return _ROOT_VARIABLE.sub(root or ".", text)


@dataclass(frozen=True)
class MarketplaceEntry:
    name: str
    path: str  # the marketplace file
    line: int | None
    origin: str  # local | github | git | npm | unknown
    location: str  # folder, owner/repo, URL or package name
    pin: str  # commit, ref, version, or ""

    @property
    def pinning(self) -> str:
        """commit | version-tag | branch | none (local folders are part of the reviewed tree: commit)."""
        if self.origin == "local" or _COMMIT.match(self.pin):
            return "commit"
        if not self.pin or self.pin in ("latest", "*", "main", "master", "HEAD"):
            return "none"
        if self.origin == "npm":
            return "version-tag" if _EXACT_VERSION.match(self.pin) else "none"
        return "version-tag" if _VERSION_TAG.match(self.pin) else "branch"


def marketplace_entries(data: object, file: SourceFile) -> list[MarketplaceEntry]:
    entries = []
    for plugin in as_list(as_dict(data).get("plugins")):
        plugin = as_dict(plugin)
        name = as_str(plugin.get("name"))
        if not name:
            continue
        line = file.line_of(f'"{name}"')
        source = plugin.get("source")
        if isinstance(source, str):
            # a string is a folder in this repository; only a URL-shaped one is fetched from elsewhere
            remote = re.search(r"://|^git@|\.git(#|$)", source) is not None
            origin = "git" if remote else "local"
            location, pin = source, ""
            if remote and "#" in source:
                location, _, pin = source.partition("#")
        else:
            source = as_dict(source)
            kind = as_str(source.get("source")) or ("github" if source.get("repo") else "url" if source.get("url") else "")
            origin = {"github": "github", "url": "git", "git": "git", "npm": "npm"}.get(kind, "unknown")
            location = as_str(source.get("repo") or source.get("url") or source.get("package") or source.get("path"))
            pin = as_str(source.get("sha") or source.get("commit") or source.get("ref") or source.get("version"))
            if kind in ("", "local", "directory"):
                origin = "local" if location else "unknown"
            elif not location:
                origin = "unknown"  # names no repository, URL or package: nothing to fetch, nothing to judge
        entries.append(MarketplaceEntry(name, file.path, line, origin, location, pin))
    return entries
