"""Inside the sandbox: unpack the submission and say, for each declared MCP server, how it can start offline.

Nothing of the submission is executed here; this is parsing and file checks only.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from triage.dynamic.observe import ROOT

NETWORK_COMMANDS = {
    "npx": "fetches the server package from the npm registry at start",
    "bunx": "fetches the server package from a registry at start",
    "pnpx": "fetches the server package from a registry at start",
    "uvx": "fetches the server package from PyPI at start",
    "pipx": "fetches the server package from PyPI at start",
    "uv": "resolves and installs dependencies at start",
    "docker": "pulls and runs a container image",
    "podman": "pulls and runs a container image",
    "deno": "fetches remote modules at start",
    "curl": "downloads code at start",
    "wget": "downloads code at start",
}
PYTHON_NAMES = {"python", "python3"} | {f"python3.{minor}" for minor in range(6, 20)}
NODE_NAMES = {"node", "nodejs"}


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


def launch_plan(*, command: str, transport: str, url: str, disabled: bool, root: Path) -> dict:
    """How to start a declared server offline, or why it cannot be: ``{"argv": [...], "runtime"}`` or ``{"reason"}``."""
    if disabled:
        return {"reason": "disabled in its configuration"}
    if url or transport not in ("stdio", ""):
        return {"reason": f"uses the {transport or 'remote'} transport{' at ' + url if url else ''}: needs the network"}
    try:
        argv = shlex.split(command)
    except ValueError:
        return {"reason": "its command line cannot be parsed"}
    if not argv:
        return {"reason": "declares no command"}
    program = argv[0]
    name = program.rsplit("/", 1)[-1]
    if name in NETWORK_COMMANDS:
        return {"reason": f"'{name}' {NETWORK_COMMANDS[name]}: needs the network"}
    if name in PYTHON_NAMES:
        return _python_plan(argv[1:], root)
    if name in NODE_NAMES:
        return _node_plan(argv[1:], root)
    local = _inside(root, program)
    if local is not None and local.is_file():
        if local.suffix == ".py" or local.read_bytes()[:64].startswith(b"#!") and b"python" in local.read_bytes()[:64]:
            return _python_plan([program, *argv[1:]], root)
        if local.suffix in (".js", ".mjs", ".cjs"):
            return _node_plan([program, *argv[1:]], root)
        return {"reason": f"'{program}' is not a Python or Node entry point; native programs are not run"}
    return {"reason": f"command '{name}' is not present offline in the submitted files"}


def _inside(root: Path, relative: str) -> Path | None:
    if relative.startswith("/"):
        return None
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root.resolve()) else None


def _python_plan(args: list[str], root: Path) -> dict:
    args = [a for a in args if a not in ("-I", "-S", "-E", "-s")]  # our observation hooks come in through site
    flags = []
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c"):
        flags.append(args.pop(0))
    if not args:
        return {"reason": "python is started without a script or module"}
    if args[0] == "-c":
        return {"reason": "inline python (-c) is not a vendored entry point"}
    if args[0] == "-m":
        if len(args) < 2:
            return {"reason": "python -m without a module"}
        module = args[1]
        module_path = root / module.replace(".", "/")
        vendored = [p for p in (module_path.with_suffix(".py"), module_path / "__main__.py") if p.is_file()]
        if not (vendored or _module_in_runtime(module)):
            return {"reason": f"module '{module}' is not vendored in the submitted files"}
        return {"argv": [sys.executable, *flags, "-m", module, *args[2:]], "runtime": "python",
                "entry": _entry(root, vendored[0]) if vendored else ""}
    script = _inside(root, args[0])
    if script is None or not script.is_file():
        return {"reason": f"script '{args[0]}' is not in the submitted files"}
    return {"argv": [sys.executable, *flags, str(script), *args[1:]], "runtime": "python",
            "entry": _entry(root, script)}


def _entry(root: Path, path: Path) -> str:
    """The entry point as a path inside the tree, so the gate can tie static flows in its code to the server."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return ""


def _module_in_runtime(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None and module.split(".")[0] == "mcp"
    except (ImportError, ValueError):
        return False


def _node_plan(args: list[str], root: Path) -> dict:
    node = next((p for p in ("/usr/bin/node", "/usr/local/bin/node") if Path(p).is_file()), None)
    if node is None:
        return {"reason": "node is not installed in the sandbox runtime"}
    args = [a for a in args if not a.startswith("-")]
    if not args:
        return {"reason": "node is started without a script"}
    script = _inside(root, args[0])
    if script is None or not script.is_file():
        return {"reason": f"script '{args[0]}' is not in the submitted files"}
    return {"argv": [node, "--max-old-space-size=256", str(script), *args[1:]], "runtime": "node",
            "entry": _entry(root, script)}


def discover(plan: dict, root: Path = ROOT) -> dict:
    from triage.parsers import parse_root
    from triage.parsers.base import as_dict, as_list, as_str

    unpack_submission(plan, root)
    manifest = _manifest(plan, root)
    system = parse_root(root, manifest=manifest)
    servers, seen = [], set()
    manifest_servers = {as_str(as_dict(s).get("name")): as_dict(s)
                        for s in as_list((system.manifest or {}).get("mcp_servers"))}
    for server in system.mcp_servers:
        if server.name in seen:
            continue
        seen.add(server.name)
        declared = manifest_servers.get(server.name, {})
        servers.append({"name": server.name, "path": server.path, "line": server.line, "env": server.env,
                        "declared_tools": sorted(str(t) for t in as_list(declared.get("tools"))) if declared else None,
                        **launch_plan(command=server.command, transport=server.transport, url=server.url,
                                      disabled=server.disabled, root=root)})
    for name, entry in sorted(manifest_servers.items()):
        if not name or name in seen:
            continue
        seen.add(name)
        servers.append({"name": name, "path": system.manifest_path, "line": system.manifest_line(f'"{name}"'),
                        "env": {}, "declared_tools": sorted(str(t) for t in as_list(entry.get("tools"))),
                        **launch_plan(command=as_str(entry.get("command")), transport=as_str(entry.get("transport")),
                                      url=as_str(entry.get("url")), disabled=False, root=root)})
    manifest_tools = sorted({as_str(as_dict(t).get("name")) for t in as_list((system.manifest or {}).get("tools"))}
                            - {""})
    return {"ok": True, "servers": servers, "manifest_tools": manifest_tools}
