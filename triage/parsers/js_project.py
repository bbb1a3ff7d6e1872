"""The JavaScript/TypeScript files of one analysed tree, so that a tool handler's call into the project's own modules
(``import { buildReport } from "./reports.js"``) is followed like a call to a helper in the same file.

A module is read (parsed and its top level scanned) only when a handler calls into it, at most once per tree; files
the tree does not hold (packages, anything outside it) are never looked for elsewhere.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from triage.parsers.js_ast import ModuleInfo, Node, scan_module
from triage.parsers.tool_model import Flow, Step

SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx")
MAX_MODULE_CHARS = 512 * 1024
MAX_MODULES = 200  # modules read per tree: a bound on the work, whatever the import graph


class JsProject:
    def __init__(self, files: Mapping[str, object]) -> None:
        self.files = files  # path -> SourceFile (anything with .text) or str
        self._modules: dict[str, tuple[ModuleInfo, Node] | None] = {}

    def _text(self, path: str) -> str | None:
        entry = self.files.get(path)
        if entry is None:
            return None
        return entry if isinstance(entry, str) else getattr(entry, "text", None)

    def resolve(self, importer: str, spec: str) -> str | None:
        """The tree path a relative import names: ``./db.js`` from ``src/index.ts`` is ``src/db.ts`` when that is
        the file there (TypeScript sources are imported by their emitted ``.js`` name)."""
        if not spec.startswith("."):
            return None
        base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
        if base.startswith("../") or base == "..":
            return None
        stem, ext = posixpath.splitext(base)
        candidates = [base] if ext in SUFFIXES else []
        if ext in SUFFIXES:
            candidates += [stem + suffix for suffix in SUFFIXES]
        candidates += [base + suffix for suffix in SUFFIXES] + [f"{base}/index{suffix}" for suffix in SUFFIXES]
        return next((c for c in candidates if c in self.files), None)

    def module(self, path: str) -> ModuleInfo | None:
        if path in self._modules:
            found = self._modules[path]
            return found[0] if found else None
        self._modules[path] = None
        source = self._text(path)
        if source is None or len(source) > MAX_MODULE_CHARS or len(self._modules) > MAX_MODULES:
            return None
        from triage.parsers.js_code import _parser  # the grammar loader lives with the extractor

        parser, scan = _parser(path)
        try:
            tree = parser.parse(source.encode("utf-8", "replace"))
            info, _news, _calls = scan_module(tree.root_node, path, scan)
        except (ValueError, MemoryError, RecursionError):
            return None
        self._modules[path] = (info, tree.root_node)  # the root keeps the tree (and its nodes) alive
        return info

    def link_instances(self, importer: ModuleInfo) -> None:
        """Objects the project's modules make and export (``export const db = new Database(...)``) are known by
        the name they are imported under, with the package that made them."""
        for local, (spec, name) in sorted(importer.imports_from.items()):
            if name == "*":
                continue
            path = self.resolve(importer.path, spec)
            info = self.module(path) if path is not None else None
            exported = local if name == "default" else name
            made_by = info.instances.get(exported) if info is not None else None
            if not made_by:
                continue
            importer.instances.setdefault(local, made_by)
            if exported in info.instance_args:
                importer.instance_args.setdefault(local, info.instance_args[exported])
            importer.import_sources.update(source for source in info.import_sources
                                           if made_by == source or made_by.startswith(source + "."))

    def exported(self, importer: ModuleInfo, local: str, member: str = "") -> tuple[Node, ModuleInfo] | None:
        """The function a name imported from the project stands for, with the module it lives in."""
        origin = importer.imports_from.get(local)
        if origin is None:
            return None
        spec, name = origin
        if name == "*":
            if not member:
                return None
            name = member
        elif member:
            return None
        path = self.resolve(importer.path, spec)
        info = self.module(path) if path is not None else None
        if info is None:
            return None
        if name == "default":
            name = local  # export default function buildReport(...): declared under its own name, usually
        function = info.functions.get(name)
        return (function, info) if function is not None else None


def _major(spec: object) -> int | None:
    match = re.search(r"\d+", spec) if isinstance(spec, str) else None
    return int(match.group(0)) if match else None


def _declared(manifests: Iterable[tuple[object, dict]], package: str) -> list[tuple[str, int | None]]:
    """(folder, major version) of each package.json that depends on ``package``."""
    found = []
    for file, data in manifests:
        for section in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
            deps = data.get(section) if isinstance(data, dict) else None
            if isinstance(deps, dict) and package in deps:
                found.append((posixpath.dirname(getattr(file, "path", "")), _major(deps[package])))
                break
    return found


def settle_yaml_loads(tools: Iterable[object], manifests: Iterable[tuple[object, dict]]) -> None:
    """Keep a ``js-yaml.load(input)`` flow (no schema given) only where the nearest package.json declaring js-yaml
    asks for a version before 4, whose default schema builds functions from ``!!js/function`` tags; from 4 on the
    default schema is safe, and with no declaration the version is unknown (the flow is dropped, not guessed)."""
    from triage.parsers.js_sinks import YAML_DEFAULT_LOAD

    declared = sorted(_declared(manifests, "js-yaml"), key=lambda item: -len(item[0]))
    for tool in tools:
        flows = getattr(tool, "flows", [])
        if not any(flow.call == YAML_DEFAULT_LOAD for flow in flows):
            continue
        folder = posixpath.dirname(tool.path)
        major = next((m for root, m in declared if not root or folder == root or folder.startswith(root + "/")), None)
        if major is None or major >= 4:
            tool.flows = [flow for flow in flows if flow.call != YAML_DEFAULT_LOAD]
        else:
            tool.flows = [_explained(flow, major) if flow.call == YAML_DEFAULT_LOAD else flow for flow in flows]


def _explained(flow: Flow, major: int) -> Flow:
    why = f" [js-yaml {major}.x: the default schema builds !!js/function values]"
    last = flow.steps[-1] if flow.steps else Step(flow.line, flow.call)
    return replace(flow, steps=(*flow.steps[:-1], Step(last.line, last.text + why)))
