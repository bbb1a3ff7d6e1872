"""The values the JavaScript/TypeScript taint walk carries: a taint, the result of analysing a handler, a frame."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from triage.parsers.js_ast import Node, kids, property_key, text
from triage.parsers.tool_model import Effect, Flow, Sensitive, Step

MAX_STEPS = 8


@dataclass(frozen=True)
class Taint:
    source: str
    # value | members (an arguments object) | parsed (a zod safeParse result: .data is the arguments) |
    # request | params | name (the tool name)
    mode: str = "value"
    spliced: bool = False
    steps: tuple[Step, ...] = ()

    @property
    def live(self) -> bool:
        return self.mode in ("value", "members")

    def step(self, at: int, what: str) -> Taint:
        if not self.live or len(self.steps) >= MAX_STEPS:
            return self
        return Taint(self.source, self.mode, self.spliced, (*self.steps, Step(at, " ".join(what.split())[:120])))


NAME_MARKER = Taint("", "name")


@dataclass
class Result:
    flows: list[Flow] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    sensitive: list[Sensitive] = field(default_factory=list)
    gated: bool = False
    returns: list[Taint] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # members read off an arguments object, in order

    def merge(self, other: Result, prefix: tuple[Step, ...] = ()) -> None:
        for flow in other.flows:
            steps = (*prefix, *flow.steps)[-MAX_STEPS - 2:] if prefix else flow.steps
            self.flows.append(replace(flow, steps=steps))
        self.effects.extend(other.effects)
        self.sensitive.extend(other.sensitive)
        self.inputs.extend(other.inputs)
        self.gated = self.gated or other.gated


@dataclass
class Frame:
    env: dict[str, Taint]
    local: dict[str, Node]  # local name -> the expression it was bound to (for env: shorthands, map dispatch)
    result: Result
    depth: int  # helper nesting
    focus: str | None = None  # the tool whose dispatch branch is analysed (low-level servers)
    killed: set[str] = field(default_factory=set)
    functions: dict[str, Node] = field(default_factory=dict)  # functions declared inside the handler
    confined: frozenset[str] = frozenset()  # inputs the schema confines (never a source, whatever is rebound)
    read_only: str = ""  # why SQL run from here on cannot write: "BEGIN TRANSACTION READ ONLY (l.52)"; "" if it can
    # file variable -> the taint of the content written to it (fs.writeFile(file, downloaded)): loading that file as
    # code runs the content
    written: dict[str, Taint] = field(default_factory=dict)


def member_of(taint: Taint | None, prop: str) -> Taint | None:
    if taint is None:
        return None
    mode = taint.mode
    if mode == "request":
        return Taint("", "params") if prop == "params" else None
    if mode == "params":
        if prop == "arguments":
            return Taint("arguments", "members")
        return NAME_MARKER if prop == "name" else None
    if mode == "parsed":
        return Taint(taint.source, "members") if prop == "data" else None
    if mode == "members":  # one input of the arguments object: the input is the source, its own steps follow
        return Taint(prop or taint.source, "value", False)
    if mode == "value":
        return taint if prop not in ("length", "size") else None
    return None


def pattern_keys(pattern: Node) -> list[str]:
    keys = []
    for child in kids(pattern):
        if child.type == "shorthand_property_identifier_pattern":
            keys.append(text(child))
        elif child.type == "pair_pattern":
            keys.append(property_key(child.child_by_field_name("key")))
        elif child.type == "object_assignment_pattern":
            keys.append(text(child.child_by_field_name("left")))
    return keys


def element_of(taint: Taint | None) -> Taint | None:
    if taint is None or not taint.live:
        return None
    return Taint(taint.source, "value", taint.spliced, taint.steps)


def relocated(summary: Result, at: int, path: str) -> Result:
    """A summary of a helper in another file, placed at the line of the call (the tool's file is where findings are
    reported); each item says where in the other file it comes from."""
    def steps(items: tuple[Step, ...]) -> tuple[Step, ...]:
        return tuple(Step(at, f"{s.text} ({path}:{s.line})") for s in items)

    moved = Result(gated=summary.gated, inputs=list(summary.inputs))
    moved.effects = [replace(e, line=at, detail=f"{e.detail} ({path}:{e.line})") for e in summary.effects]
    moved.flows = [replace(f, line=at, steps=steps(f.steps)) for f in summary.flows]
    moved.sensitive = [replace(x, line=at, detail=f"{x.detail} ({path}:{x.line})") for x in summary.sensitive]
    moved.returns = [replace(t, steps=steps(t.steps)) for t in summary.returns]
    return moved
