"""Starts a submitted Python server on the vetted runtime only (run as ``python -S pystart.py ...``).

``-S`` keeps the interpreter's own site-packages (and the platform's) off ``sys.path``; this puts back exactly
the server's directory, the vetted runtime set and our observation hooks, then runs the server the way its launch
line says:

    pystart.py <runtime dir> script <path> [args...]      python path args
    pystart.py <runtime dir> module <name> [args...]      python -m name args
    pystart.py <runtime dir> call <module:function> [args...]   a [project.scripts] entry
    pystart.py <runtime dir> serve <path>[:object] [args...]    fastmcp run / mcp run path[:object]
"""

import os
import sys


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    runtime, mode, target, *args = sys.argv[1:]
    sys.path[:] = [p for p in sys.path if p != here]
    import site

    site.addsitedir(runtime)  # its .pth files too, but nothing of the interpreter's own site-packages
    sys.path.insert(0, here)
    import sitecustomize  # noqa: F401 - the observation hooks (-S means site did not import them)

    sys.path.remove(here)
    import runpy

    if mode in ("script", "serve"):
        path = target.rsplit(":", 1)[0] if mode == "serve" and not os.path.isfile(target) else target
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    else:
        sys.path.insert(0, os.getcwd())
    sys.argv = [target, *args]
    if mode == "script":
        runpy.run_path(target, run_name="__main__")
    elif mode == "module":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    elif mode == "call":
        import importlib

        module, _, function = target.partition(":")
        result = getattr(importlib.import_module(module), function.strip() or "main")()
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(result)
        sys.exit(result if isinstance(result, int) else 0)
    elif mode == "serve":
        name = target.rsplit(":", 1)[1] if ":" in target and not os.path.isfile(target) else ""
        namespace = runpy.run_path(path, run_name="__assay_server__")
        server = namespace.get(name) if name else next(
            (value for value in namespace.values() if type(value).__name__ in ("FastMCP", "MCPServer")), None)
        if server is None:
            sys.exit(f"no MCP server object {name or '(FastMCP or MCPServer instance)'} in {path}")
        server.run()
    else:
        sys.exit(f"unknown start mode {mode}")


if __name__ == "__main__":
    main()
