"""Versions of what a dynamic run ran on, for the record (a reviewer must be able to say what executed where)."""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess


@functools.lru_cache(maxsize=8)
def runtime_versions(backend: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "mcp_sdk": _package_version("mcp")}
    node = shutil.which("node")
    if node:
        versions["node"] = _command_version([node, "--version"])
    if backend == "gvisor":
        versions["runsc"] = _command_version([shutil.which("runsc") or "runsc", "--version"])
    elif backend == "bubblewrap":
        versions["bwrap"] = _command_version([shutil.which("bwrap") or "bwrap", "--version"])
    return versions


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _command_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.strip().splitlines() or ["unknown"])[0][:120]
