"""Small helpers over tree-sitter JavaScript/TypeScript syntax trees, and what one module declares at its top.

Nothing here runs the code: constants are folded only from literals (strings, template literals without
substitutions, ``+`` of those, ``[...].join(sep)``, identifiers bound to them in the same file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Node = Any  # tree_sitter.Node; the module is imported lazily, so no annotation needs it

MAX_FOLD_DEPTH = 8
# Expression wrappers that change nothing about the value (TypeScript casts, parentheses, `await`).
WRAPPERS = frozenset({"parenthesized_expression", "as_expression", "non_null_expression", "satisfies_expression",
                      "await_expression", "type_assertion"})
FUNCTION_TYPES = frozenset({"arrow_function", "function_expression", "function", "function_declaration",
                            "generator_function_declaration", "generator_function", "method_definition"})
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r?\n|.)", re.S)


def text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def line(node: Node) -> int:
    return node.start_point[0] + 1


def short(node: Node, limit: int = 120) -> str:
    return " ".join(text(node).split())[:limit]


def kids(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


def unwrap(node: Node | None) -> Node | None:
    if node is None or node.type not in WRAPPERS:
        return node
    for _ in range(MAX_FOLD_DEPTH):
        if node is None or node.type not in WRAPPERS:
            return node
        inner = kids(node)
        node = (inner[-1] if node.type == "type_assertion" else inner[0]) if inner else None
    return node


def call_args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return []
    if args.type == "template_string":  # a tagged template: the template is the one argument
        return [args]
    return kids(args)


def _unescape(raw: str) -> str:
    def one(match: re.Match) -> str:
        body = match.group(1)
        if body.startswith("u{"):
            return chr(min(int(body[2:-1], 16), 0x10FFFF))
        if body.startswith("u") and len(body) == 5:
            return chr(int(body[1:], 16))
        if body.startswith("x") and len(body) == 3:
            return chr(int(body[1:], 16))
        if body in ("\n", "\r\n"):
            return ""  # a line continuation
        return _ESCAPES.get(body, body)
    return _ESCAPE.sub(one, raw) if "\\" in raw else raw


def string_value(node: Node) -> str:
    """The value of a string literal or a template literal's constant text (substitutions as ``{}``)."""
    parts = []
    for child in node.children:
        kind = child.type
        if kind in ("string_fragment", "escape_sequence"):
            parts.append(_unescape(text(child)))
        elif kind == "template_substitution":
            parts.append("{}")
    return "".join(parts)


def has_substitution(node: Node) -> bool:
    return any(child.type == "template_substitution" for child in node.children)


def property_key(node: Node | None) -> str:
    """The name of an object key: ``path``, ``"path"``, ``[`x`]`` (constant), else ""."""
    if node is None:
        return ""
    if node.type in ("property_identifier", "identifier", "shorthand_property_identifier",
                     "shorthand_property_identifier_pattern", "private_property_identifier", "number"):
        return text(node)
    if node.type == "string":
        return string_value(node)
    if node.type == "computed_property_name":
        inner = kids(node)
        if inner and inner[0].type in ("string", "template_string") and not has_substitution(inner[0]):
            return string_value(inner[0])
    return ""


def object_pairs(node: Node | None) -> list[tuple[str, Node | None, Node]]:
    """(key, value node or None for shorthand, the pair node) of an object literal."""
    if node is None or node.type != "object":
        return []
    found = []
    for child in kids(node):
        if child.type == "pair":
            found.append((property_key(child.child_by_field_name("key")), child.child_by_field_name("value"), child))
        elif child.type == "shorthand_property_identifier":
            found.append((text(child), None, child))
        elif child.type == "method_definition":
            found.append((property_key(child.child_by_field_name("name")), child, child))
    return found


def dotted(node: Node | None, aliases: dict[str, str] | None = None) -> str:
    """``child_process.exec`` for ``cp.exec`` (imports resolved), ``this.db.query``, ``.json`` for a computed base."""
    node = unwrap(node)
    if node is None:
        return ""
    kind = node.type
    if kind == "identifier":
        name = text(node)
        return aliases.get(name, name) if aliases else name
    if kind == "this":
        return "this"
    if kind == "import":  # import(specifier): a dynamic import
        return "import"
    if kind == "member_expression":
        prop = text(node.child_by_field_name("property"))
        base = dotted(node.child_by_field_name("object"), aliases)
        if base.endswith(".promises") or base == "promises":
            base = base[: -len(".promises")] if base != "promises" else "fs"
        return f"{base}.{prop}" if base else f".{prop}"
    if kind == "call_expression":
        function = unwrap(node.child_by_field_name("function"))
        if function is not None and text(function) == "require":
            args = call_args(node)
            if args and args[0].type == "string":
                return module_name(string_value(args[0]))
        return ""
    return ""


def module_name(spec: str) -> str:
    """The canonical name of an imported module: ``node:fs/promises`` -> ``fs``."""
    spec = spec.removeprefix("node:")
    if spec in ("fs/promises", "fs-extra", "graceful-fs", "fs-extra/esm"):
        return "fs"
    if spec in ("child_process", "node:child_process"):
        return "child_process"
    if spec in ("node-fetch", "cross-fetch", "isomorphic-fetch"):
        return "fetch"
    if spec in ("lodash", "lodash-es", "underscore"):
        return "lodash"
    if spec in ("https", "http2"):
        return "http"
    return spec


@dataclass
class ModuleInfo:
    """What one file binds at its top level, for folding constants and following calls to local helpers."""

    path: str
    consts: dict[str, Node] = field(default_factory=dict)  # top-level name -> the value it is bound to
    functions: dict[str, Node] = field(default_factory=dict)  # name or "this.name" -> function node
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> canonical "module.member"
    instances: dict[str, str] = field(default_factory=dict)  # variable -> canonical constructor/factory
    instance_args: dict[str, Node] = field(default_factory=dict)  # variable -> the construction (its options)
    import_sources: set[str] = field(default_factory=set)
    # Names imported from the project's own modules (``import { db } from "./db.js"``): kept as written, like
    # CommonJS ``const { db } = require("./db")``, so that ``db.query`` reads as a database call; never a library.
    local_imports: set[str] = field(default_factory=set)
    imports_from: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, exported | "*")

    def fold(self, node: Node | None, depth: int = 0) -> tuple[str, Node] | None:
        """(constant string, the node holding its text) when ``node`` folds to a constant string."""
        node = unwrap(node)
        if node is None or depth > MAX_FOLD_DEPTH:
            return None
        kind = node.type
        if kind == "string":
            return string_value(node), node
        if kind == "template_string":
            return (string_value(node), node) if not has_substitution(node) else None
        if kind == "binary_expression" and text(node.child_by_field_name("operator")) == "+":
            left = self.fold(node.child_by_field_name("left"), depth + 1)
            right = self.fold(node.child_by_field_name("right"), depth + 1)
            if left and right:
                return left[0] + right[0], left[1]
            return None
        if kind == "identifier":
            bound = self.consts.get(text(node))
            return self.fold(bound, depth + 1) if bound is not None and bound is not node else None
        if kind == "call_expression":
            function = unwrap(node.child_by_field_name("function"))
            args = call_args(node)
            if function is not None and function.type == "member_expression" and \
                    text(function.child_by_field_name("property")) == "join":
                array = self.resolve(function.child_by_field_name("object"))
                sep = self.fold(args[0], depth + 1) if args else (",", node)
                if array is not None and array.type == "array" and sep is not None:
                    parts = [self.fold(e, depth + 1) for e in kids(array)]
                    if all(parts):
                        return sep[0].join(p[0] for p in parts if p), array
            if function is not None and function.type == "identifier" and len(args) == 1 and \
                    args[0].type == "template_string" and not has_substitution(args[0]):
                return string_value(args[0]), args[0]  # dedent`...` and similar tags
            if function is not None and text(function) in ("String", "String.raw") and args:
                return self.fold(args[0], depth + 1)
        return None

    def template_text(self, node: Node) -> str:
        """A template literal's text with constant substitutions folded in and the others as ``{}``."""
        parts = []
        for child in node.children:
            if child.type in ("string_fragment", "escape_sequence"):
                parts.append(_unescape(text(child)))
            elif child.type == "template_substitution":
                inner = kids(child)
                folded = self.fold(inner[0]) if inner else None
                parts.append(folded[0] if folded else "{}")
        return "".join(parts)

    def shape(self, node: Node | None, local: dict[str, Node] | None = None, depth: int = 0) -> str:
        """The text an expression builds, computed parts as ``{}`` (``SELECT * FROM t WHERE a = '{}'``)."""
        node = unwrap(node)
        if node is None or depth > MAX_FOLD_DEPTH:
            return "{}"
        folded = self.fold(node)
        if folded:
            return folded[0]
        if node.type == "template_string":
            return self.template_text(node)
        if node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "+":
            return self.shape(node.child_by_field_name("left"), local, depth + 1) + \
                self.shape(node.child_by_field_name("right"), local, depth + 1)
        if node.type == "identifier" and local and text(node) in local:
            return self.shape(local[text(node)], None, depth + 1)
        return "{}"

    def const_text(self, node: Node | None) -> str:
        folded = self.fold(node)
        return folded[0] if folded else ""

    def resolve(self, node: Node | None, depth: int = 0) -> Node | None:
        """An identifier's bound value (top-level constants), through casts; other nodes as they are."""
        node = unwrap(node)
        while node is not None and node.type == "identifier" and depth < MAX_FOLD_DEPTH:
            bound = self.consts.get(text(node))
            if bound is None:
                return node
            node = unwrap(bound)
            depth += 1
        return node

    def prefix(self, node: Node | None, depth: int = 0) -> str:
        """The constant text an expression starts with (a URL's scheme and host, a command's program)."""
        node = unwrap(node)
        if node is None or depth > MAX_FOLD_DEPTH:
            return ""
        folded = self.fold(node)
        if folded:
            return folded[0]
        if node.type == "template_string":
            out = []
            for child in node.children:
                if child.type in ("string_fragment", "escape_sequence"):
                    out.append(_unescape(text(child)))
                elif child.type == "template_substitution":
                    inner = kids(child)
                    folded = self.fold(inner[0]) if inner else None
                    if not folded:
                        out.append(self.prefix(inner[0], depth + 1) if inner else "")
                        break
                    out.append(folded[0])
            return "".join(out)
        if node.type == "binary_expression" and node.child_by_field_name("operator").type in ("??", "||"):
            # process.env.API_BASE ?? "https://api.example.com": configured, with a literal default
            return self.prefix(node.child_by_field_name("right"), depth + 1)
        if node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "+":
            left = node.child_by_field_name("left")
            folded = self.fold(left)
            return folded[0] + self.prefix(node.child_by_field_name("right"), depth + 1) if folded else \
                self.prefix(left, depth + 1)
        if node.type == "identifier":
            bound = self.consts.get(text(node))
            return self.prefix(bound, depth + 1) if bound is not None else ""
        return ""


def walk(root: Node, limit: int = 200_000):  # noqa: ANN201 - Iterator[Node]
    """Named nodes below ``root`` (pre-order, explicit stack, at most ``limit``)."""
    stack = [root]
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        seen += 1
        yield node
        children = node.named_children
        if children:
            stack.extend(reversed(children))


def function_parts(node: Node) -> tuple[list[Node], Node | None]:
    """(parameter patterns, body) of any function node."""
    params_node = node.child_by_field_name("parameters")
    if params_node is None:
        single = node.child_by_field_name("parameter")  # `x => ...`
        params = [single] if single is not None else []
    else:
        params = []
        for param in kids(params_node):
            if param.type in ("required_parameter", "optional_parameter"):
                pattern = param.child_by_field_name("pattern")
                if pattern is not None:
                    params.append(pattern)
            else:
                params.append(param)
    return params, node.child_by_field_name("body")


def pattern_names(pattern: Node | None) -> list[str]:
    """Names a parameter pattern binds, in order: ``{ path, query: q }`` -> ["path", "query"] (the keys)."""
    if pattern is None:
        return []
    kind = pattern.type
    if kind == "identifier":
        return [text(pattern)]
    if kind == "assignment_pattern":
        return pattern_names(pattern.child_by_field_name("left"))
    if kind == "object_pattern":
        names = []
        for child in kids(pattern):
            if child.type == "shorthand_property_identifier_pattern":
                names.append(text(child))
            elif child.type == "pair_pattern":
                names.append(property_key(child.child_by_field_name("key")))
            elif child.type == "object_assignment_pattern":
                names.append(text(child.child_by_field_name("left")))
        return [n for n in names if n]
    return []


# What the module scan needs, matched by tree-sitter in C (a Python walk over every node costs far more).
SCAN_QUERY = """
(import_statement) @import
(program [(lexical_declaration (variable_declarator) @decl) (variable_declaration (variable_declarator) @decl)])
(program (export_statement declaration: [(lexical_declaration (variable_declarator) @decl)
                                         (variable_declaration (variable_declarator) @decl)]))
(variable_declarator value: [(new_expression) (await_expression)]) @decl
(function_declaration) @func
(generator_function_declaration) @func
(method_definition) @method
(new_expression) @new
(assignment_expression right: [(new_expression) (call_expression)]) @assign
(call_expression function: (member_expression property: (property_identifier) @prop
  (#any-of? @prop "tool" "registerTool" "resource" "registerResource" "prompt" "registerPrompt" "addTool"
   "addResource" "addResourceTemplate" "addPrompt" "setRequestHandler"))) @call
(call_expression function: (identifier) @fn (#eq? @fn "tool")) @call
"""


def scan_module(root: Node, path: str, query_cursor: Any) -> tuple[ModuleInfo, list[Node], list[Node]]:
    """Top-level bindings, imports and functions; plus every ``new`` and every registration-like call."""
    info = ModuleInfo(path)
    captures = query_cursor.captures(root)
    ordered = sorted({(node.start_byte, kind): node for kind in ("import", "decl", "func", "method", "assign")
                      for node in captures.get(kind, [])}.items())
    ordered = [(start, kind, node) for (start, kind), node in ordered]
    for _start, kind, node in ordered:
        if kind == "import":
            _import(info, node)
        elif kind == "decl":
            _declarator(info, node)
        elif kind == "func":
            name = text(node.child_by_field_name("name"))
            if name:
                info.functions.setdefault(name, node)
        elif kind == "method":
            name = property_key(node.child_by_field_name("name"))
            if name:
                info.functions.setdefault(f"this.{name}", node)
        else:
            left = node.child_by_field_name("left")
            right = unwrap(node.child_by_field_name("right"))
            if left is not None and right is not None:
                _instance(info, text(left), right)
    news = sorted(captures.get("new", []), key=lambda n: n.start_byte)
    calls = sorted(captures.get("call", []), key=lambda n: n.start_byte)
    return info, news, calls


def _import(info: ModuleInfo, node: Node) -> None:
    source = node.child_by_field_name("source")
    if source is None:
        return
    module = module_name(string_value(source))
    info.import_sources.add(module)
    relative = is_relative(module)
    for clause in kids(node):
        if clause.type != "import_clause":
            continue
        if relative:
            _local_import(info, clause, module)
            continue
        for part in kids(clause):
            if part.type == "identifier":
                info.aliases[text(part)] = module
            elif part.type == "namespace_import":
                names = [c for c in kids(part) if c.type == "identifier"]
                if names:
                    info.aliases[text(names[0])] = module
            elif part.type == "named_imports":
                for spec in kids(part):
                    if spec.type != "import_specifier":
                        continue
                    name = text(spec.child_by_field_name("name"))
                    alias = text(spec.child_by_field_name("alias")) or name
                    member = "" if name in ("default", "promises") else f".{name}"
                    info.aliases[alias] = f"{module}{member}"


def is_relative(module: str) -> bool:
    """A module of the project itself (``./db.js``, ``../lib``, ``/abs/x``, a ``~/``, ``@/`` or ``#`` alias)."""
    return module.startswith((".", "/", "~/", "@/", "#"))


def _local_import(info: ModuleInfo, clause: Node, module: str) -> None:
    """Bindings of an import from the project's own code, kept under their local names (as written)."""
    for part in kids(clause):
        if part.type == "identifier":
            info.local_imports.add(text(part))
            info.imports_from[text(part)] = (module, "default")
        elif part.type == "namespace_import":
            for name in (text(c) for c in kids(part) if c.type == "identifier"):
                info.local_imports.add(name)
                info.imports_from[name] = (module, "*")
        elif part.type == "named_imports":
            for spec in kids(part):
                if spec.type != "import_specifier":
                    continue
                name = text(spec.child_by_field_name("name"))
                alias = text(spec.child_by_field_name("alias")) or name
                info.local_imports.add(alias)
                info.imports_from[alias] = (module, name)


def _declarator(info: ModuleInfo, node: Node) -> None:
    name_node = node.child_by_field_name("name")
    value = node.child_by_field_name("value")
    if name_node is None or value is None:
        return
    inner = unwrap(value)
    required = inner
    while required is not None and required.type == "member_expression":  # require("fs").promises
        required = unwrap(required.child_by_field_name("object"))
    if required is not None and required.type == "call_expression" and \
            text(unwrap(required.child_by_field_name("function"))) == "require":
        args = call_args(required)
        if args and args[0].type == "string":
            info.import_sources.add(module_name(string_value(args[0])))
    top = node.parent is not None and node.parent.parent is not None and \
        node.parent.parent.type in ("program", "export_statement")
    if name_node.type == "identifier":
        name = text(name_node)
        if top:
            info.consts.setdefault(name, value)
        if inner is not None and inner.type in ("arrow_function", "function_expression", "function"):
            info.functions.setdefault(name, inner)
            return
        if inner is not None and inner.type in ("call_expression", "new_expression", "member_expression"):
            _instance(info, name, inner)
    elif name_node.type == "object_pattern" and inner is not None:
        base = dotted(inner, info.aliases) if inner.type in ("call_expression", "member_expression",
                                                              "identifier") else ""
        if base.startswith(".") and inner.type == "call_expression":  # const { walk } = require("./lib")
            for child in kids(name_node):
                bound = child.child_by_field_name("value") if child.type == "pair_pattern" else child
                if bound is not None and bound.type in ("identifier", "shorthand_property_identifier_pattern"):
                    info.local_imports.add(text(bound))
                    exported = property_key(child.child_by_field_name("key")) if child.type == "pair_pattern" \
                        else text(bound)
                    info.imports_from.setdefault(text(bound), (base, exported))
        if base and not base.startswith("."):
            for child in kids(name_node):  # const { exec, spawn: run } = require("child_process")
                if child.type == "shorthand_property_identifier_pattern":
                    info.aliases[text(child)] = f"{base}.{text(child)}"
                elif child.type == "pair_pattern":
                    value_node = child.child_by_field_name("value")
                    if value_node is not None and value_node.type == "identifier":
                        key = property_key(child.child_by_field_name("key"))
                        info.aliases[text(value_node)] = f"{base}.{key}" if key != "promises" else base


def _instance(info: ModuleInfo, name: str, value: Node) -> None:
    kind = value.type
    if kind == "member_expression" or (kind == "call_expression" and text(
            unwrap(value.child_by_field_name("function"))) == "require"):
        canonical = dotted(value, info.aliases)  # const fs = require("fs").promises; const cp = require(...)
        if canonical and not canonical.startswith("."):
            info.aliases.setdefault(name, canonical)
        elif canonical and kind == "call_expression":
            info.local_imports.add(name)  # const db = require("./db")
            info.imports_from.setdefault(name, (canonical, "*"))
        return
    target = value.child_by_field_name("constructor" if kind == "new_expression" else "function")
    callee = dotted(target, info.aliases)
    if kind == "call_expression" and callee.rsplit(".", 1)[-1] == "promisify":
        args = call_args(value)
        if args:  # const execAsync = promisify(exec): calls to it are calls to exec
            wrapped = dotted(args[0], info.aliases)
            if wrapped:
                info.aliases.setdefault(name, wrapped)
        return
    if callee:
        info.instances.setdefault(name, callee)
        info.instance_args.setdefault(name, value)
