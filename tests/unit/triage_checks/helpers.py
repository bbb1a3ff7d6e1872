"""Small helpers to lay out an agent system on disk for a test."""

from __future__ import annotations

import json
from pathlib import Path


def lay_out(root: Path, files: dict[str, str | dict | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, dict):
            path.write_text(json.dumps(content, indent=2))
        else:
            path.write_text(content)
    return root


def checks_of(findings) -> set[str]:  # noqa: ANN001
    return {f.check for f in findings}
