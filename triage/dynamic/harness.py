"""The dynamic stage's program INSIDE the sandbox: discover MCP servers, or run one and watch what it does.

Started by :mod:`triage.dynamic.stage` through :func:`triage.sandbox.sandbox_run` (the same sandbox as static
triage: no network, read-only runtime, private ``/scratch``). It never imports Django and sees nothing of the
platform. Input is one JSON plan on stdin; output is one JSON document on stdout.

``{"mode": "discover", ...}`` unpacks the submission and lists its MCP server declarations with a launch plan
or the reason they cannot start offline. ``{"mode": "run", "server": {...}, "canary": "..."}`` unpacks again
into a private work tree, plants the canary in private data, starts the one server with tighter limits than our
own, speaks MCP to it over its stdio with the maintained MCP Python SDK (``mcp.ClientSession`` over a bounded
transport of ours), lists tools, prompts and resources, calls each tool once with crafted untrusted input, lists
the tools again, and reports the observed effects: connections captured on our own loopback, files written or
deleted, subprocesses, and the protocol transcript.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

from triage.dynamic.discovery import unpack_submission, discover
from triage.dynamic.observe import (DB_ENV, EFFECTS_LOG, HOME, PRIVATE, ROOT, TMP, CaptureListener, ForkWatchdog,
                                    database_census, kill_strays, observed_effects, other_processes, plant_canary,
                                    plant_database, shown_path, snapshot)
from triage.dynamic.session import BoundedStdio, session_run

OBSERVE_SITE = Path(__file__).resolve().parent / "observe_site"


def _link_node_modules(runtime_dir: str | None) -> None:
    """Node resolves bare imports by walking up from the importing file: a ``node_modules`` link at the root of the
    private work tree points every file of the submission at the vetted runtime (unless it ships its own)."""
    if not runtime_dir:
        return
    modules = Path(runtime_dir) / "node" / "node_modules"
    link = ROOT / "node_modules"
    if modules.is_dir() and not link.exists() and not link.is_symlink():
        link.symlink_to(modules, target_is_directory=True)


def _one_session(server: dict, *, env: dict, cwd: Path, budget: dict, canary: str, scripted: list | None,
                 list_only: bool = False) -> tuple[BoundedStdio | None, dict]:
    """Start the server, speak MCP to it for one bounded session, stop it. (None, {"reason"}) if it cannot start."""
    import anyio

    transport = BoundedStdio(list(server["argv"]), env=env, cwd=cwd, limits=budget)
    try:
        transport.start()
    except OSError as exc:
        return None, {"reason": f"failed to start ({exc.strerror or exc})"}
    watchdog = ForkWatchdog(transport, threshold=int(budget.get("process_threshold", 24)))
    watchdog.start()
    session: dict = {}

    async def main() -> None:
        nonlocal session
        with anyio.move_on_after(float(budget.get("session_seconds", 30))) as scope:
            session = await session_run(transport, canary=canary, budget=budget, scripted=scripted,
                                        list_only=list_only)
        if scope.cancelled_caught:
            transport.kill("exceeded the session time limit; stopped")

    try:
        anyio.run(main)
    except MemoryError:
        transport.kill("exhausted memory; stopped")
    transport.kill()
    watchdog.stop()
    return transport, session


def run_server(plan: dict) -> dict:
    server, canary, budget = plan["server"], plan["canary"], plan.get("budget") or {}
    unpack_submission(plan, ROOT)
    for path in (HOME, PRIVATE, TMP, EFFECTS_LOG.parent):
        path.mkdir(parents=True, exist_ok=True)
    database = plant_database(canary)
    planted = [*plant_canary(canary), str(database)]
    listener = CaptureListener()
    before = snapshot(ROOT, HOME, PRIVATE, TMP)
    databases_before = database_census(ROOT, HOME, PRIVATE, TMP)
    baseline_processes = other_processes()
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(HOME), "TMPDIR": str(TMP),
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
           "API_TOKEN": canary, "GITHUB_TOKEN": canary}
    for key in DB_ENV:
        env[key] = str(database)
    for key, value in (server.get("env") or {}).items():
        # Secrets the config expects from the environment get the canary: that is the private data to protect.
        env[str(key)] = canary if "${" in str(value) or not str(value) else str(value)
    if server.get("runtime") in ("python", "node"):
        env["_ASSAY_OBSERVE_LOG"] = str(EFFECTS_LOG)
        env["_ASSAY_OBSERVE_PORT"] = str(listener.port)
    if server.get("runtime") == "node":
        env["NODE_OPTIONS"] = f"--require {OBSERVE_SITE / 'preload.js'}"
        env["TSX_DISABLE_CACHE"] = "1"
        _link_node_modules(plan.get("runtime_dir"))
    if server.get("runtime") == "python":
        # The vetted fastmcp's own start-up (an update check against PyPI, a banner) is ours, not the submitter's:
        # switched off so that every connection attempt seen is the server's.
        env.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
        env.setdefault("FASTMCP_SHOW_SERVER_BANNER", "false")
    # Python servers start through pystart.py, which puts the vetted runtime and our hooks on sys.path itself.
    cwd = (ROOT / str(server.get("cwd") or "")).resolve()
    if not cwd.is_relative_to(ROOT) or not cwd.is_dir():
        cwd = ROOT
    started = time.monotonic()
    transport, session = _one_session(server, env=env, cwd=cwd, budget=budget, canary=canary,
                                      scripted=plan.get("calls"))
    if transport is None:
        return {"ok": True, "started": False, "reason": session["reason"]}
    if session.get("protocol_version") and not transport.stopped and plan.get("calls") is None:
        # A second session on the same scratch state: a server that changes what it offers once it has run
        # (a rug pull across a restart, e.g. after writing a marker file) shows it here.
        again, relisted = _one_session(server, env=env, cwd=cwd, budget=budget, canary=canary, scripted=[],
                                       list_only=True)
        if again is not None and relisted.get("protocol_version") and not again.stopped:
            session["relisted"] = {key: relisted.get(key) for key in ("instructions", "tools", "prompts",
                                                                     "resources")}
            session["restart_s"] = relisted.get("start_s")
    duration = time.monotonic() - started
    time.sleep(0.1)  # let capture handlers finish their last reads
    leftover = other_processes() - baseline_processes
    kill_strays()
    stderr = transport.stderr.decode("utf-8", "replace")
    generic = not transport.stopped or transport.stopped.startswith(("exited", "protocol failure"))
    if generic and "MemoryError" in stderr:
        transport.stopped = "exhausted its memory limit; stopped"
    elif generic and ("BlockingIOError" in stderr or "Resource temporarily unavailable" in stderr):
        transport.stopped = "hit the process limit (fork storm); stopped"
    return {
        "ok": True, "started": bool(session.get("protocol_version")), "stopped": transport.stopped,
        "stderr_tail": stderr[-2000:], "duration_s": round(duration, 3),
        "stdout_bytes": transport.stdout_bytes, "leftover_processes": max(leftover, 0),
        "planted": [shown_path(p) for p in planted],
        "observation": {"python": "python-audit-hooks", "node": "node-preload"}.get(server.get("runtime"),
                                                                                    "filesystem-only"),
        "transcript": transport.transcript, **session,
        "effects": observed_effects(before, canary, listener, databases_before),
    }


def main() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sys.setrecursionlimit(2000)
    plan = json.loads(sys.stdin.read())
    if plan.get("mode") != "discover":
        # Importing the SDK is the slowest step of a run; overlap it with unpacking and planting.
        threading.Thread(target=__import__, args=("mcp",), daemon=True).start()
    try:
        result = discover(plan) if plan.get("mode") == "discover" else run_server(plan)
    except Exception as exc:  # noqa: BLE001 - the host needs one line, not a traceback
        from intake.archives import UnsafeInput

        if isinstance(exc, (UnsafeInput, OSError)):
            result = {"ok": False, "error": str(exc)[:300]}
        else:
            raise
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), default=str)
    if plan.get("canary"):
        # The secret itself never leaves the sandbox: evidence says where it went, not what it was.
        text = text.replace(plan["canary"], "[canary]")
    sys.stdout.write(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
