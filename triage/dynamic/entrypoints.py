"""Inside the sandbox: MCP servers found in code and packaging, for submissions that declare none in a config.

Static triage's parsers already read the MCP servers a tree defines (:class:`triage.parsers.tool_model.CodeServer`:
FastMCP / ``mcp.server`` in Python, ``McpServer`` / ``Server`` in TypeScript and JavaScript, with their transport).
Here each becomes a launch line with the evidence for it, strongest first:

* Python: ``if __name__ == "__main__"`` in the defining file; a ``[project.scripts]`` entry whose module is that
  file or its package; a ``__main__.py`` beside it (``python -m package``); a FastMCP server with none of these is
  started the way ``fastmcp run file.py`` would;
* Node: ``package.json`` ``bin``, ``main`` or ``scripts.start`` pointing at the file (or at the ``dist/`` file it is
  built into); else the file itself when it connects a ``StdioServerTransport``.

Nothing is executed here; :mod:`triage.dynamic.launch` turns the launch line into an argv on the vetted runtime.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from triage.dynamic.launch import JS_SUFFIXES, TS_SUFFIXES, Project, _source_of_build


@dataclass
class CodeEntry:
    name: str
    path: str  # the file defining the server
    line: int
    language: str
    transport: str
    command: str = ""  # the launch line, relative to ``cwd``; "" when nothing says how it starts
    cwd: str = ""
    evidence: list[dict] = field(default_factory=list)  # {"path", "line", "why"}


def code_entries(code_servers: list, project: Project) -> list[CodeEntry]:
    """One entry per file that defines MCP servers (a process serves what its file defines)."""
    by_file: dict[str, list] = {}
    for server in code_servers:
        by_file.setdefault(server.path, []).append(server)
    entries = []
    for path, servers in sorted(by_file.items()):
        first = min(servers, key=lambda s: s.line)
        transport = next((s.transport for s in servers if s.transport != "unknown"), "unknown")
        defined = {"path": path, "line": first.line,
                   "why": f"defines MCP server '{first.name}' ({first.framework}, transport {transport})"}
        entry = CodeEntry(name=first.name, path=path, line=first.line, language=first.language, transport=transport,
                          evidence=[defined])
        if first.language == "python":
            _python_start(entry, servers, project)
        else:
            _node_start(entry, project)
        entries.append(entry)
    return _without_built_twins(entries)


def _python_start(entry: CodeEntry, servers: list, project: Project) -> None:
    path = entry.path
    if any(s.entry.startswith("python ") for s in servers):
        line = _line_of(project, path, "__main__")
        entry.command, entry.cwd = f"python {posixpath.basename(path)}", posixpath.dirname(path)
        entry.evidence.append({"path": path, "line": line, "why": "runs the server under if __name__ == \"__main__\""})
        return
    module_parts = _module_parts(path, project)
    for name, (target, where, line) in sorted(project.project_scripts().items()):
        module = target.split(":", 1)[0].strip()
        if module_parts and (module in module_parts):
            entry.command, entry.cwd = name, posixpath.dirname(where)
            entry.evidence.append({"path": where, "line": line, "why": f"[project.scripts] {name} = \"{target}\""})
            return
    package = posixpath.dirname(path)
    if package and project.exists(f"{package}/__main__.py"):
        dotted = module_parts[-1].rsplit(".", 1)[0] if module_parts and "." in module_parts[-1] else \
            posixpath.basename(package)
        entry.command, entry.cwd = f"python -m {dotted}", ""
        entry.evidence.append({"path": f"{package}/__main__.py", "line": 1,
                               "why": f"the package has a __main__.py (python -m {dotted})"})
        return
    if any(s.framework == "fastmcp" for s in servers):
        entry.command, entry.cwd = f"fastmcp run {posixpath.basename(path)}", posixpath.dirname(path)
        entry.evidence.append({"path": path, "line": entry.line,
                               "why": "a FastMCP server with no __main__ block or script: started as "
                                      "`fastmcp run` would start it (stdio)"})


def _module_parts(path: str, project: Project) -> list[str]:
    """The dotted names the file imports as, from its top-level package down (``pkg.server`` and ``pkg``)."""
    directory, stem = posixpath.split(posixpath.splitext(path)[0])
    parts = [] if stem == "__init__" else [stem]
    while directory and project.exists(f"{directory}/__init__.py"):
        directory, name = posixpath.split(directory)
        parts.insert(0, name)
    names = [".".join(parts[:index]) for index in range(len(parts), 0, -1)]
    return names


def _node_start(entry: CodeEntry, project: Project) -> None:
    path = entry.path
    found = project.package_json_for(posixpath.dirname(path))
    if found is not None:
        file, data = found
        base = posixpath.dirname(file.path)
        candidates = []
        bins = data.get("bin")
        if isinstance(bins, str):
            candidates.append(("bin", bins))
        elif isinstance(bins, dict):
            candidates += [(f"bin.{k}", v) for k, v in bins.items() if isinstance(v, str)]
        if isinstance(data.get("main"), str):
            candidates.append(("main", data["main"]))
        scripts = data.get("scripts") if isinstance(data.get("scripts"), dict) else {}
        for key, target in candidates:
            resolved = posixpath.normpath(posixpath.join(base or ".", target))
            if resolved == path or _source_of_build(resolved, project) == path:
                runner = "node" if resolved == path and path.endswith(JS_SUFFIXES) else "tsx"
                entry.command, entry.cwd = f"{runner} {posixpath.relpath(path, base or '.')}", base
                entry.evidence.append({"path": file.path, "line": file.line_of(f'"{key.split(".")[0]}"'),
                                       "why": f"package.json {key} is {target}"})
                return
        start = scripts.get("start")
        if isinstance(start, str) and posixpath.basename(path) in start or isinstance(start, str) and \
                posixpath.splitext(posixpath.basename(path))[0] in start:
            entry.command, entry.cwd = "npm start", base
            entry.evidence.append({"path": file.path, "line": file.line_of('"start"'),
                                   "why": f"package.json scripts.start is {start}"})
            return
    if entry.transport == "stdio":
        runner = "tsx" if path.endswith(TS_SUFFIXES) else "node"
        entry.command, entry.cwd = f"{runner} {posixpath.basename(path)}", posixpath.dirname(path)
        entry.evidence.append({"path": path, "line": _line_of(project, path, "StdioServerTransport"),
                               "why": "connects the server to a StdioServerTransport"})


def _without_built_twins(entries: list[CodeEntry]) -> list[CodeEntry]:
    """A committed ``dist/index.js`` and its ``src/index.ts`` define the same server: keep the one packaging names
    (else the source, which is what the reviewer reads)."""
    kept = []
    for entry in entries:
        twin = next((other for other in entries if other is not entry and other.name == entry.name and
                     posixpath.dirname(other.path).split("/")[:-1] == posixpath.dirname(entry.path).split("/")[:-1]
                     and other.language != "python" and entry.language != "python"), None)
        if twin is not None and (len(twin.evidence) > len(entry.evidence) or
                                 len(twin.evidence) == len(entry.evidence) and twin.path.endswith(TS_SUFFIXES)
                                 and not entry.path.endswith(TS_SUFFIXES)):
            continue
        kept.append(entry)
    return kept


def _line_of(project: Project, path: str, needle: str) -> int | None:
    file = project.files.get(path)
    return file.line_of(needle) if file is not None else None
