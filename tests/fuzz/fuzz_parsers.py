"""Fuzz target: the config parsers, through their public entry point triage.parsers.parse_tree, over a small
in-memory tree (JSON-with-comments settings and MCP configs, TOML, YAML workflows and compose files,
Dockerfiles, package manifests, requirements, Python via ast, hook scripts). parse_tree records a file it
cannot parse as a problem (MalformedFile) and carries on, so *any* exception escaping it is a finding."""

from __future__ import annotations

import sys

import atheris

sys.path.insert(0, __file__.rsplit("/", 3)[0])
from tests.fuzz._common import setup_django, split_files  # noqa: E402

setup_django()

with atheris.instrument_imports(include=["triage.parsers", "json5", "yaml"]):
    from triage.parsers import parse_tree
    from triage.parsers.base import tree_from_memory

# Where the parsers look: a fuzzed path that matches none of them would only exercise the fallback.
PATHS = [".claude/settings.json", ".mcp.json", ".codex/config.toml", ".vscode/settings.json",
         ".claude/commands/deploy.md", "CLAUDE.md", ".github/workflows/agent.yml", "Dockerfile",
         "docker-compose.yml", "assay-manifest.json", "package.json", "pyproject.toml", "requirements.txt",
         ".env", "scripts/hook.sh", "agent/main.py", ".cursor/mcp.json", "AGENTS.md"]


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris's name
    if b"\x00" in data:
        files = split_files(data)
    else:  # a bare document: the first byte picks the file it is parsed as
        files = {PATHS[data[0] % len(PATHS)] if data else PATHS[0]: data[1:]}
    tree = tree_from_memory(files, {path: len(content) for path, content in files.items()})
    system = parse_tree(tree)
    for path, problem in system.problems:
        assert isinstance(problem, str) and path in files


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
