"""What a tool's declared input schema and annotations promise, read from zod shapes and JSON schemas.

An input the schema confines to a number, a boolean, a fixed set of values, or a string matching an anchored
pattern cannot carry "../", a quote or a shell metacharacter: the SDK validates arguments against the schema before
the handler runs, so such an input is no taint source. ``readOnlyHint`` is the author's statement that the tool does
not change its environment.
"""

from __future__ import annotations

import re

from triage.parsers.js_ast import ModuleInfo, Node, call_args, object_pairs, text, unwrap

# zod constructors whose values are never free text
CONFINED_TYPES = frozenset({"number", "boolean", "bigint", "enum", "nativeEnum", "literal", "date", "nan"})
# zod string refinements that admit only a fixed alphabet
CONFINED_FORMATS = frozenset({"uuid", "cuid", "cuid2", "ulid", "datetime", "date", "time", "ip", "ipv4", "ipv6",
                              "base64", "nanoid", "int"})
JSON_CONFINED_TYPES = frozenset({"integer", "number", "boolean"})
MAX_CHAIN = 12


def _anchored(pattern: str) -> bool:
    """A pattern that must match the whole value and admits no path separator or quote by construction."""
    body = pattern.strip("/")
    return body.startswith("^") and (body.endswith("$") or re.search(r"\$/[a-z]*$", pattern) is not None) and \
        ".*" not in body and "\\S" not in body and "[^" not in body


def _zod_confined(node: Node | None) -> bool:
    """``z.number().int()``, ``z.enum([...])``, ``z.string().regex(/^[a-z]+$/)``, ``z.string().uuid()``."""
    node = unwrap(node)
    for _ in range(MAX_CHAIN):
        if node is None or node.type != "call_expression":
            return False
        function = unwrap(node.child_by_field_name("function"))
        if function is None or function.type != "member_expression":
            return False
        method = text(function.child_by_field_name("property"))
        obj = unwrap(function.child_by_field_name("object"))
        if method in CONFINED_FORMATS and obj is not None and obj.type == "call_expression":
            return True
        if method == "regex":
            args = call_args(node)
            if args and unwrap(args[0]) is not None and unwrap(args[0]).type == "regex" and _anchored(text(args[0])):
                return True
        if obj is not None and obj.type == "identifier":  # the root: z.number(...)
            return method in CONFINED_TYPES
        node = obj
    return False


def _json_confined(node: Node | None, info: ModuleInfo) -> bool:
    """``{ type: "integer" }``, ``{ enum: [...] }``, ``{ type: "string", pattern: "^[a-z]+$" }``."""
    node = info.resolve(node)
    if node is None or node.type != "object":
        return False
    fields = {key: value for key, value, _pair in object_pairs(node)}
    if "enum" in fields or "const" in fields:
        return True
    if info.const_text(fields.get("type")) in JSON_CONFINED_TYPES:
        return True
    pattern = info.const_text(fields.get("pattern"))
    return bool(pattern) and _anchored(pattern)


def confined_inputs(schema: Node | None, info: ModuleInfo, depth: int = 0) -> set[str]:
    """Names of the inputs a tool's schema confines (see the module docstring)."""
    node = info.resolve(schema)
    if node is None or depth > 4:
        return set()
    if node.type == "call_expression":  # z.object({...}) and wrappers of it
        function = unwrap(node.child_by_field_name("function"))
        args = call_args(node)
        if args and unwrap(args[0]) is not None and info.resolve(args[0]) is not None and \
                info.resolve(args[0]).type == "object":
            return confined_inputs(args[0], info, depth + 1)
        if function is not None and function.type == "member_expression":
            return confined_inputs(function.child_by_field_name("object"), info, depth + 1)
        return set()
    if node.type != "object":
        return set()
    properties = info.resolve(next((v for k, v, _p in object_pairs(node) if k == "properties"), None))
    if properties is not None and properties.type == "object":
        return {key for key, value, _pair in object_pairs(properties) if key and _json_confined(value, info)}
    return {key for key, value, _pair in object_pairs(node)
            if key and value is not None and _zod_confined(info.resolve(value))}


def read_only_hint(annotations: Node | None, info: ModuleInfo) -> bool:
    """``annotations: { readOnlyHint: true }`` (or the annotations object itself)."""
    node = info.resolve(annotations)
    for key, value, _pair in object_pairs(node):
        if key == "readOnlyHint" and value is not None and text(value) == "true":
            return True
        if key == "annotations" and value is not None:
            return read_only_hint(value, info)
    return False

