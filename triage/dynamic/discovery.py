"""Inside the sandbox: unpack the submission and say, for each MCP server it has (declared in a config or the
manifest, or defined in code), how it would start offline on the vetted runtime and why the stage believes so.

Nothing of the submission is executed here; this is parsing and file checks only.
"""

from __future__ import annotations

from pathlib import Path

from triage.dynamic.launch import Project, resolve_launch
from triage.dynamic.observe import ROOT
from triage.dynamic.runtime import VettedRuntime

# --- discovery ------------------------------------------------------------------------------------

def unpack_submission(plan: dict, dest: Path) -> list:
    from dataclasses import fields

    from intake.archives import UnpackLimits, new_budget, unpack

    known = {f.name for f in fields(UnpackLimits)}
    limits = UnpackLimits(**{k: int(v) for k, v in (plan.get("limits") or {}).items() if k in known})
    budget = new_budget(limits)
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for source in plan["sources"]:
        files += unpack(source=Path(source["path"]), dest=dest, limits=limits, kind=source["kind"],
                        name=source.get("name"), budget=budget)
    return files


def _manifest(plan: dict, root: Path) -> dict | None:
    if isinstance(plan.get("manifest"), dict):
        return plan["manifest"]
    from triage.sandbox_entry import _manifest_from_root

    return _manifest_from_root(root)


def launch_plan(*, command: str, transport: str, url: str, disabled: bool, root: Path,
                project: Project | None = None, cwd: str = "") -> dict:
    """How to start a declared server offline on the vetted runtime (``{"argv", "runtime", "entry", "cwd",
    "python_set"}``), or why it cannot be (``{"reason"}``)."""
    if disabled:
        return {"reason": "disabled in its configuration"}
    if url or transport not in ("stdio", ""):
        return {"reason": f"uses the {transport or 'remote'} transport{' at ' + url if url else ''}: needs the network"}
    return resolve_launch(command, project or project_of(root), cwd=cwd)


def project_of(root: Path, runtime_root: str | None = None) -> Project:
    """The tree at ``root`` as launch resolution reads it (for a caller without a parsed system)."""
    from triage.parsers import parse_root

    return _project(parse_root(root), root, runtime_root)


def _project(system, root: Path, runtime_root: str | None) -> Project:  # noqa: ANN001 - ParsedSystem
    from triage.dynamic.runtime import runtime_dir

    runtime = VettedRuntime.load(runtime_root if runtime_root is not None else runtime_dir())
    return Project(root=root, files=system.files, runtime=runtime, pyprojects=system.pyprojects,
                   package_jsons=system.package_jsons)


def discover(plan: dict, root: Path = ROOT) -> dict:
    """Every MCP server the submission has: declared in a config or the manifest, or defined in code (with the
    packaging that says how it starts). Each has how it would be started and the evidence, or why it cannot be."""
    unpack_submission(plan, root)
    return servers_in(root, manifest=_manifest(plan, root), runtime_root=plan.get("runtime_dir"))


def servers_in(root: Path, *, manifest: dict | None = None, runtime_root: str | None = None) -> dict:
    """The discovery result for an unpacked tree at ``root`` (``{"ok", "servers", "manifest_tools", ...}``)."""
    from triage.parsers import parse_root
    from triage.parsers.base import as_dict, as_list, as_str

    system = parse_root(root, manifest=manifest)
    project = _project(system, root, runtime_root)
    servers, seen = [], set()
    manifest_servers = {as_str(as_dict(s).get("name")): as_dict(s)
                        for s in as_list((system.manifest or {}).get("mcp_servers"))}
    for server in system.mcp_servers:
        if server.name in seen:
            continue
        seen.add(server.name)
        declared = manifest_servers.get(server.name, {})
        servers.append({"name": server.name, "path": server.path, "line": server.line, "env": server.env,
                        "origin": "config", "launch": server.command, "transport": server.transport or "stdio",
                        "evidence": [{"path": server.path, "line": server.line,
                                      "why": f"declared in {server.client} configuration"}],
                        "declared_tools": sorted(str(t) for t in as_list(declared.get("tools"))) if declared else None,
                        **launch_plan(command=server.command, transport=server.transport, url=server.url,
                                      disabled=server.disabled, root=root, project=project)})
    for name, entry in sorted(manifest_servers.items()):
        if not name or name in seen:
            continue
        seen.add(name)
        line = system.manifest_line(f'"{name}"')
        servers.append({"name": name, "path": system.manifest_path, "line": line, "env": {}, "origin": "manifest",
                        "launch": as_str(entry.get("command")), "transport": as_str(entry.get("transport")) or "stdio",
                        "evidence": [{"path": system.manifest_path, "line": line, "why": "declared in the manifest"}],
                        "declared_tools": sorted(str(t) for t in as_list(entry.get("tools"))),
                        **launch_plan(command=as_str(entry.get("command")), transport=as_str(entry.get("transport")),
                                      url=as_str(entry.get("url")), disabled=False, root=root, project=project)})
    servers += _code_servers(system, project, servers, seen)
    manifest_tools = sorted({as_str(as_dict(t).get("name")) for t in as_list((system.manifest or {}).get("tools"))}
                            - {""})
    return {"ok": True, "servers": servers, "manifest_tools": manifest_tools,
            "runtime_built": project.runtime.built}


def _code_servers(system, project: Project, declared: list[dict], seen: set) -> list[dict]:  # noqa: ANN001
    """Servers defined in code that no config or manifest entry already starts."""
    from triage.dynamic.entrypoints import code_entries

    started_files = {d.get("entry") for d in declared if d.get("entry")}
    found = []
    for entry in code_entries(system.code_servers, project):
        if entry.path in started_files:
            continue
        name = entry.name if entry.name not in seen else f"{entry.name} ({entry.path})"
        seen.add(name)
        record = {"name": name, "path": entry.path, "line": entry.line, "env": {}, "origin": "code",
                  "launch": entry.command, "transport": entry.transport, "evidence": entry.evidence,
                  "declared_tools": None}
        if entry.transport in ("http", "sse"):
            record["reason"] = (f"serves over the {'streamable HTTP' if entry.transport == 'http' else 'SSE'} "
                                "transport; only stdio servers are started by the dynamic stage so far")
        elif not entry.command:
            record["reason"] = ("defines an MCP server, but nothing in the tree says how it starts (no "
                                "if __name__ == \"__main__\", [project.scripts], __main__.py, package.json "
                                "bin/main/start, or stdio transport)")
        else:
            record |= resolve_launch(entry.command, project, cwd=entry.cwd)
        found.append(record)
    return found
