"""The vetted, offline runtime submitted servers run on, and the versions of what a run ran on.

``infra/build-dynamic-runtime.sh`` builds it into ``var/dynamic-runtime`` from committed lock files with hashes
(never at triage time); the stage mounts it read-only into the sandbox at the same path. It holds:

* ``python/<set>/``: pip target directories, tried in order (``mcp1``: the v1 SDK most published servers are
  written against; ``mcp2``: the v2 SDK), each with ``fastmcp``, ``httpx``, ``requests``, ``pydantic``,
  ``aiosqlite`` and their dependencies;
* ``node/node_modules``: ``@modelcontextprotocol/sdk``, ``zod``, ``express`` and the ``tsx`` TypeScript runner;
* ``runtime.json``: what is inside (versions, Node's built-in module names).

A server may import only the standard library, its own files and this runtime; anything else is a ``not_run``
naming the missing package (checked statically, before anything starts), never a download.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PYTHON_SETS = ("mcp1", "mcp2")  # preference order when a server's imports resolve in more than one


def runtime_dir() -> Path:
    """Where the built runtime is (``ASSAY_DYNAMIC_RUNTIME`` overrides the project's ``var/dynamic-runtime``)."""
    from triage.sandbox import PROJECT_ROOT

    configured = os.environ.get("ASSAY_DYNAMIC_RUNTIME", "")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "var" / "dynamic-runtime"


@dataclass
class VettedRuntime:
    """What the runtime at ``root`` holds; an absent or unbuilt runtime holds nothing (every import is missing)."""

    root: Path
    info: dict = field(default_factory=dict)
    _python_names: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, root: Path | str | None) -> VettedRuntime:
        root = Path(root) if root else Path("/nonexistent")
        try:
            info = json.loads((root / "runtime.json").read_text())
        except (OSError, ValueError):
            info = {}
        return cls(root=root, info=info if isinstance(info, dict) else {})

    @property
    def built(self) -> bool:
        return bool(self.info)

    # -- Python ------------------------------------------------------------------------------------------------------
    def python_sets(self) -> list[tuple[str, Path]]:
        found = self.info.get("python") if isinstance(self.info.get("python"), dict) else {}
        return [(name, self.root / "python" / name) for name in PYTHON_SETS if name in found]

    def python_has(self, set_name: str, module: str) -> bool:
        """Whether ``module`` (dotted) can be imported from the set: its top-level name and, for a submodule, the
        file or package of each further part (an attribute imported ``from`` a module is checked by the caller)."""
        base = self.root / "python" / set_name
        parts = module.split(".")
        if parts[0] not in self._top_level(set_name):
            return False
        path = base
        for part in parts:
            if (path / part).is_dir():
                path = path / part
                continue
            return (path / f"{part}.py").is_file() or any(path.glob(f"{part}.*.so"))
        return True

    def _top_level(self, set_name: str) -> frozenset[str]:
        if set_name not in self._python_names:
            names = set()
            try:
                entries = list((self.root / "python" / set_name).iterdir())
            except OSError:
                entries = []
            for entry in entries:
                if entry.name.endswith((".dist-info", ".data")) or entry.name in ("bin", "__pycache__"):
                    continue
                names.add(entry.name.split(".", 1)[0] if entry.is_file() else entry.name)
            self._python_names[set_name] = frozenset(names)
        return self._python_names[set_name]

    def python_version(self, set_name: str, distribution: str) -> str:
        return str(((self.info.get("python") or {}).get(set_name) or {}).get(distribution.lower(), ""))

    # -- Node --------------------------------------------------------------------------------------------------------
    @property
    def node_modules(self) -> Path:
        return self.root / "node" / "node_modules"

    def node_has(self, package: str) -> bool:
        return package in ((self.info.get("node") or {}).get("packages") or {})

    def node_builtin(self, name: str) -> bool:
        builtins = (self.info.get("node") or {}).get("builtins") or []
        return name.removeprefix("node:") in builtins or name.removeprefix("node:").split("/")[0] in builtins

    def tsx_loader(self) -> Path | None:
        loader = self.node_modules / "tsx" / "dist" / "loader.mjs"
        return loader if loader.is_file() else None


@functools.lru_cache(maxsize=8)
def runtime_versions(backend: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "mcp_sdk": _package_version("mcp")}
    vetted = VettedRuntime.load(runtime_dir())
    for set_name, _path in vetted.python_sets():
        versions[f"vetted_{set_name}"] = (f"mcp {vetted.python_version(set_name, 'mcp')}, "
                                          f"fastmcp {vetted.python_version(set_name, 'fastmcp')}")
    if vetted.built:
        packages = (vetted.info.get("node") or {}).get("packages") or {}
        versions["vetted_node"] = ", ".join(f"{name} {packages.get(name, '')}" for name in
                                            ("@modelcontextprotocol/sdk", "zod", "express", "tsx"))
        versions["vetted_stamp"] = str(vetted.info.get("stamp", ""))[:16]
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


STDLIB = frozenset(sys.stdlib_module_names)
