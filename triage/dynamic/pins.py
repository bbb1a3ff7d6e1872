"""Pinning a server's exposed tool set, and the drift between two pins (rug pulls).

The pin is SHA-256 over a canonical JSON listing of every tool's name, description and input schema, sorted by
name, so the same tools give the same pin whatever order the server lists them in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


def canonical_tools(tools: list[dict]) -> list[dict]:
    return sorted(({"name": str(t.get("name", "")), "description": str(t.get("description", "")),
                    "input_schema": t.get("input_schema") or {}} for t in tools), key=lambda t: t["name"])


def tool_set_pin(tools: list[dict]) -> str:
    text = json.dumps(canonical_tools(tools), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def tool_digests(tools: list[dict]) -> dict[str, str]:
    """Per-tool digests, kept with the pin so a later run can say *which* tool changed."""
    return {t["name"]: tool_set_pin([t])[7:23] for t in canonical_tools(tools)}


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def describe(self) -> str:
        parts = [f"{label} {', '.join(names[:10])}" for label, names in
                 (("added", self.added), ("removed", self.removed), ("changed", self.changed)) if names]
        return "; ".join(parts)


def tool_set_drift(before: dict[str, str], after: dict[str, str]) -> Drift:
    """Compare two ``tool_digests`` maps."""
    return Drift(added=sorted(set(after) - set(before)), removed=sorted(set(before) - set(after)),
                 changed=sorted(name for name in set(before) & set(after) if before[name] != after[name]))


def offer_digests(*, instructions: str = "", tools: list[dict] = (), prompts: list[dict] = (),
                  resources: list[dict] = ()) -> dict[str, str]:
    """Digests of everything a server offers a model, keyed ``tool x`` / ``prompt x`` / ``resource x`` (and
    ``instructions``), so that two listings compare item by item whatever their order."""
    def digest(item: object) -> str:
        text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    found = {f"tool {name}": value for name, value in tool_digests(list(tools)).items()}
    found |= {f"prompt {p.get('name', '')}": digest([p.get("description", ""), p.get("arguments") or []])
              for p in prompts}
    found |= {f"resource {r.get('name', '')}": digest([r.get("uri", ""), r.get("description", "")])
              for r in resources}
    if instructions:
        found["instructions"] = digest(instructions)
    return found
