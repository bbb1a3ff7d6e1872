"""Package manifests: package.json scripts that launch MCP servers or agents, Python requirements and pyproject."""

from __future__ import annotations

import re

from triage.parsers.base import as_dict, as_list

REQUIREMENT_PIN = re.compile(r"(===?|@\s*\S+|--hash)")


def is_package_json(path: str) -> bool:
    return path.rsplit("/", 1)[-1] == "package.json"


def is_requirements(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("requirements") and name.endswith((".txt", ".in"))


def is_pyproject(path: str) -> bool:
    return path.rsplit("/", 1)[-1] == "pyproject.toml"


def package_scripts(data: object) -> dict[str, str]:
    return {str(k): v for k, v in sorted(as_dict(as_dict(data).get("scripts")).items()) if isinstance(v, str)}


def package_dependencies(data: object) -> dict[str, str]:
    deps: dict[str, str] = {}
    for key in ("dependencies", "devDependencies", "optionalDependencies"):
        for name, spec in as_dict(as_dict(data).get(key)).items():
            if isinstance(spec, str):
                deps[str(name)] = spec
    return dict(sorted(deps.items()))


def pyproject_dependencies(data: object) -> list[str]:
    project = as_dict(as_dict(data).get("project"))
    deps = [d for d in as_list(project.get("dependencies")) if isinstance(d, str)]
    for group in as_dict(project.get("optional-dependencies")).values():
        deps.extend(d for d in as_list(group) if isinstance(d, str))
    return deps


def requirement_lines(text: str) -> list[tuple[int, str]]:
    """(line, requirement) for each requirement line, without options, comments or includes."""
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            found.append((number, line))
    return found


def is_pinned_requirement(requirement: str) -> bool:
    return bool(REQUIREMENT_PIN.search(requirement)) or requirement.startswith(("git+", "http")) and "@" in requirement
