"""Agent Skills: ``SKILL.md`` (in .claude/skills/<name>/, skills/<name>/, a plugin's skills/) and ``*.skill.md``.

A skill is YAML front matter (name, description, allowed-tools) and a markdown body. The harness shows the
description to the model at all times and loads the body when the skill is used, so both are instruction text;
``allowed-tools`` pre-approves those tools while the skill runs. Scripts the body tells the agent to run are linked to
the skill so what they do counts as what the skill can do.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field

from triage.parsers.agent_configs import AllowRule, front_matter, front_matter_allowed_tools
from triage.parsers.base import SourceFile, as_str

# A path to a script as written in markdown prose or a code block: `scripts/fetch.py`, ${CLAUDE_SKILL_DIR}/run.sh.
_SCRIPT_PATH = re.compile(r"(?<![\w/.-])((?:\$\{?\w+\}?/|\{baseDir\}/|\./)?[\w.-]+(?:/[\w.-]+)*\.(?:py|sh|bash|js|mjs|cjs|ts))\b")
_ROOT_VARIABLE = re.compile(r"^(\$\{?(CLAUDE_SKILL_DIR|SKILL_DIR|CLAUDE_PLUGIN_ROOT)\}?|\{baseDir\}|\.)/")
MAX_SCRIPTS = 20
MAX_LINES = 5000
MAX_LINE_CHARS = 2000


@dataclass
class Skill:
    name: str
    description: str
    path: str  # the SKILL.md / *.skill.md file
    folder: str  # the skill's folder ("" at the tree root)
    allowed: list[AllowRule] = field(default_factory=list)
    scripts: list[tuple[str, int]] = field(default_factory=list)  # (script path in the tree, line of the mention)
    # What the linked scripts do: (script path, effect kind as python_code names it, line, detail)
    effects: list[tuple[str, str, int, str]] = field(default_factory=list)


def is_skill(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name == "SKILL.md" or (name.endswith(".skill.md") and len(name) > len(".skill.md"))


def parse_skill(file: SourceFile, files: dict[str, SourceFile]) -> Skill:
    meta, body_line = front_matter(file)
    folder = posixpath.dirname(file.path)
    name = as_str(meta.get("name")) or (posixpath.basename(folder) if file.name == "SKILL.md" else file.name[:-9])
    skill = Skill(name, as_str(meta.get("description")), file.path, folder, front_matter_allowed_tools(file))
    skill.scripts = _scripts(file, files, folder, body_line)
    for script, _line in skill.scripts:
        skill.effects += script_effects(files[script])
    return skill


MAX_SCRIPT_CALLS = 2000


def script_effects(file: SourceFile) -> list[tuple[str, str, int, str]]:
    """What a script does, read without running it: each call of a Python script (the same effect table as agent
    tools), each command line of a shell script. JavaScript is left to the code model."""
    from triage.parsers.python_code import call_effects

    found: list[tuple[str, str, int, str]] = []
    if file.name.endswith(".py"):
        try:
            tree = ast.parse(file.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)][:MAX_SCRIPT_CALLS]
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
            found += [(file.path, e.kind, e.line, e.detail) for e in call_effects(call)]
    elif file.name.endswith((".sh", ".bash")):
        for number, line in enumerate(file.lines, start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                found.append((file.path, "command", number, stripped[:200]))
    return found


def _scripts(file: SourceFile, files: dict[str, SourceFile], folder: str, body_line: int) -> list[tuple[str, int]]:
    """Scripts in the tree that the body names, resolved against the skill's folder (then the tree root)."""
    found: list[tuple[str, int]] = []
    for number, line in enumerate(file.lines[body_line - 1:MAX_LINES], start=body_line):
        for reference in _SCRIPT_PATH.findall(line[:MAX_LINE_CHARS]):  # bounded: hostile lines can be megabytes
            relative = _ROOT_VARIABLE.sub("", reference)
            for candidate in (posixpath.normpath(posixpath.join(folder, relative)) if folder else relative, relative):
                if candidate in files and candidate != file.path and all(c != candidate for c, _l in found):
                    found.append((candidate, number))
                    break
            if len(found) >= MAX_SCRIPTS:
                return found
    return found
