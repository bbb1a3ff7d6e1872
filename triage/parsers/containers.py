"""Dockerfiles and docker-compose files."""

from __future__ import annotations

from dataclasses import dataclass

from triage.parsers.base import SourceFile, as_dict


@dataclass(frozen=True)
class DockerInstruction:
    line: int
    keyword: str  # upper-case
    args: str


def is_dockerfile(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in ("Dockerfile", "Containerfile") or name.startswith("Dockerfile.") or name.endswith(".Dockerfile")


def is_compose(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith((".yml", ".yaml")) and (name.startswith(("docker-compose", "compose.", "compose-")))


def parse_dockerfile(file: SourceFile) -> list[DockerInstruction]:
    """Instructions with continuation lines joined; comments dropped."""
    instructions: list[DockerInstruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(file.lines, start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        text = " ".join(pending)
        pending = []
        keyword, _, args = text.partition(" ")
        instructions.append(DockerInstruction(start, keyword.upper(), args.strip()))
    return instructions


def compose_services(data: object) -> dict[str, dict]:
    return {str(k): as_dict(v) for k, v in sorted(as_dict(as_dict(data).get("services")).items(), key=lambda kv: str(kv[0]))}
