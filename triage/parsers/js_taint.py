"""Intra-procedural taint for JavaScript/TypeScript tool handlers: tool inputs to dangerous sinks.

A forward walk over the handler's statements in order. Each variable maps to a ``Taint`` (where its value came
from, whether constant text was spliced in, the steps as evidence). Calls to helper functions in the same file are
followed (bounded depth, memoised per helper and tainted-argument signature). Guards that test a tainted value and
throw or return (containment, allow-lists, regex tests) cut the flow of that input from then on.
"""

from __future__ import annotations

import re
from dataclasses import replace

from triage.parsers import js_effects as fx
from triage.parsers.js_ast import FUNCTION_TYPES, ModuleInfo, Node, call_args, dotted, function_parts, kids, line, \
    object_pairs, property_key, short, string_value, text, unwrap, walk
from triage.parsers.js_flow import MAX_STEPS, Frame, Result, Taint, element_of, member_of, pattern_keys, \
    relocated
from triage.parsers.js_project import JsProject
from triage.parsers.js_sinks import SinkRules
from triage.parsers.tool_model import Effect, Sensitive, Step

MAX_HELPER_DEPTH = 3
MAX_EXPR_DEPTH = 120
MAX_NESTING = 100  # statements inside statements (blocks, ifs, loops) followed
MAX_NODES_PER_TOOL = 20_000
MAX_NODES_PER_MODULE = 200_000
MAX_FLOWS, MAX_EFFECTS, MAX_SENSITIVE = 64, 128, 32

SANITISERS = frozenset({"parseInt", "parseFloat", "Number", "Boolean", "Number.parseInt", "Number.parseFloat",
                        "path.basename", "encodeURIComponent", "encodeURI", "escape", "shellescape", "shellEscape",
                        "escapeShellArg", "shell-quote.quote", "quote", "sqlstring.escape", "mysql.escape",
                        "escapeId", "escapeIdentifier", "escapeLiteral", "Math.floor", "Math.min", "Math.max",
                        "isNaN", "Array.isArray", "typeof"})
# Names an imported (unreadable) helper has when it validates what it is given.
VALIDATOR = re.compile(r"(valid|saniti[sz]|safe|allowed|secure|verify|ensure|assert|restrict|guard|contain|"
                       r"whitelist|allowlist|within|escape|check)", re.I)
FETCHED_MEMBERS = frozenset({"text", "json", "data", "body", "blob", "arrayBuffer", "buffer"})
PATH_JOIN = frozenset({"path.join", "path.resolve", "path.normalize", "path.posix.join", "path.win32.join",
                       "path.relative", "url.resolve"})
CONTAINERS_ADD = frozenset({"push", "unshift", "set", "add", "append", "concat"})
TRIVIAL_TEST = frozenset({"trim", "length", "toString", "isArray", "isNaN", "isInteger", "hasOwnProperty", "isString"})
ADDED_TEXT = re.compile(r"\S")
ITERATORS = frozenset({"map", "forEach", "filter", "flatMap", "some", "every", "find", "findIndex"})
LEAVES = frozenset({"number", "true", "false", "null", "undefined", "regex", "this", "comment", "property_identifier",
                    "type_annotation", "type_arguments", "super", "import", "jsx_element", "jsx_self_closing_element",
                    "update_expression", "class", "shorthand_property_identifier"})


class Analyzer(SinkRules):
    """Per module: analyses tool handlers, memoising helper summaries."""

    def __init__(self, mod: ModuleInfo, project: JsProject | None = None) -> None:
        self.mod = mod
        self.project = project
        self._home: dict[int, ModuleInfo] = {}  # helper node id -> the other module of the project it lives in
        self._memo: dict[tuple, Result] = {}
        self._const_seen: dict[str, list[Sensitive]] = {}
        self._serialiser_memo: dict[int, bool] = {}
        self._budget = 0
        self._spent = 0  # over all tools of the module
        self._nesting = 0
        self._dispatch = {
            "identifier": self._identifier, "string": self._string, "template_string": self._string,
            "call_expression": self._call, "new_expression": self._new, "member_expression": self._member_expr,
            "subscript_expression": self._subscript, "binary_expression": self._binary,
            "ternary_expression": self._ternary, "assignment_expression": self._assign,
            "augmented_assignment_expression": self._assign, "arrow_function": self._closure,
            "function_expression": self._closure, "function": self._closure, "array": self._array,
            "object": self._object, "unary_expression": self._unary, "sequence_expression": self._sequence,
            **dict.fromkeys(("parenthesized_expression", "as_expression", "non_null_expression",
                             "satisfies_expression", "await_expression", "spread_element", "type_assertion"),
                            self._wrapped),
        }
        self._active: set[int] = set()

    # -- entry points ----------------------------------------------------------------------------------------
    def analyse(self, handler: Node | None, sources: list[tuple[Node, Taint]], focus: str | None = None,
                confined: set[str] | None = None) -> Result:
        """Walk ``handler`` with each parameter pattern bound to its taint; ``confined`` inputs (the schema admits
        only numbers, fixed values or an anchored pattern) are no source."""
        result = Result()
        if handler is None or self._spent > MAX_NODES_PER_MODULE:
            return result
        self._budget = 0
        frame = Frame({}, {}, result, 0, focus)
        for pattern, taint in sources:
            self.bind(pattern, taint, frame, None)
        frame.confined = frozenset(confined or ())
        self._nesting = 0
        try:
            self._body(handler, frame)
        except RecursionError:  # a pathological nesting of expressions: keep what was found so far
            pass
        self._spent += self._budget
        self._finish(result)
        return result

    def _finish(self, result: Result) -> None:
        result.flows = sorted(set(result.flows), key=lambda f: (f.line, f.sink, f.source, f.call, f.steps))[:MAX_FLOWS]
        result.effects = sorted(set(result.effects), key=lambda e: (e.line, e.kind, e.detail))[:MAX_EFFECTS]
        result.sensitive = sorted(set(result.sensitive), key=lambda s: (s.line, s.kind, s.detail))[:MAX_SENSITIVE]

    def _body(self, function: Node, frame: Frame) -> None:
        _params, body = function_parts(function) if function.type in FUNCTION_TYPES else ([], function)
        if body is None:
            return
        if body.type == "statement_block":
            self.block(body, frame)
        else:
            taint = self.expr(body, frame, 0)
            if taint is not None:
                frame.result.returns.append(taint)

    # -- statements ------------------------------------------------------------------------------------------
    def block(self, node: Node, frame: Frame) -> None:
        for child in node.named_children:
            self.stmt(child, frame)

    def stmt(self, node: Node, frame: Frame) -> None:
        self._budget += 1
        if self._budget > MAX_NODES_PER_TOOL or self._nesting > MAX_NESTING:
            return
        self._nesting += 1
        try:
            self._statement(node, frame)
        finally:
            self._nesting -= 1

    def _statement(self, node: Node, frame: Frame) -> None:
        kind = node.type
        if kind in ("lexical_declaration", "variable_declaration"):
            for declarator in kids(node):
                if declarator.type == "variable_declarator":
                    self._declare(declarator, frame)
        elif kind == "expression_statement":
            for child in kids(node):
                self.expr(child, frame, 0)
        elif kind == "return_statement":
            for child in kids(node):
                taint = self.expr(child, frame, 0)
                if taint is not None:
                    frame.result.returns.append(taint)
        elif kind == "if_statement":
            self._if(node, frame)
        elif kind == "switch_statement":
            self._switch(node, frame)
        elif kind in ("for_in_statement", "for_of_statement"):
            right = node.child_by_field_name("right")
            taint = self.expr(right, frame, 0) if right is not None else None
            left = node.child_by_field_name("left")
            if left is not None:
                self.bind(left, element_of(taint), frame, node)
            body = node.child_by_field_name("body")
            if body is not None:
                self.stmt(body, frame)
        elif kind in ("function_declaration", "generator_function_declaration"):
            name = text(node.child_by_field_name("name"))
            if name:
                frame.functions[name] = node
        elif kind in ("class_declaration", "import_statement", "comment", "empty_statement", "type_alias_declaration",
                      "interface_declaration", "enum_declaration"):
            return
        elif kind == "statement_block":
            self.block(node, frame)
        else:  # for/while/do/try/labeled/throw/export: their expressions and nested statements, in order
            for child in kids(node):
                if child.type.endswith(("_statement", "_declaration", "statement_block", "_clause")) or \
                        child.type in ("statement_block",):
                    if child.type in ("catch_clause", "finally_clause", "else_clause"):
                        self.block(child, frame)
                    else:
                        self.stmt(child, frame)
                elif child.type == "parenthesized_expression" or child.type.endswith(("expression", "identifier")):
                    self.expr(child, frame, 0)

    def _declare(self, declarator: Node, frame: Frame) -> None:
        name = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        if name is None:
            return
        if value is None:
            self.bind(name, None, frame, None)
            return
        inner = unwrap(value)
        if name.type == "identifier" and inner is not None and inner.type in ("arrow_function", "function_expression"):
            frame.functions[text(name)] = inner  # a local helper: analysed where it is called
            return
        taint = self.expr(value, frame, 0)
        if name.type == "identifier":
            frame.local[text(name)] = value
        self.bind(name, taint, frame, declarator)

    def bind(self, pattern: Node, taint: Taint | None, frame: Frame, statement: Node | None) -> None:
        kind = pattern.type
        if kind in ("identifier", "shorthand_property_identifier_pattern"):
            name = text(pattern)
            if taint is None:
                frame.env.pop(name, None)
            else:
                frame.killed.discard(name)
                frame.env[name] = taint.step(line(statement), short(statement)) if statement is not None else taint
        elif kind == "object_pattern":
            if taint is not None and taint.mode == "members":
                frame.result.inputs.extend(n for n in pattern_keys(pattern) if n)
            for child in kids(pattern):
                if child.type == "shorthand_property_identifier_pattern":
                    self.bind(child, member_of(taint, text(child)), frame, statement)
                elif child.type == "pair_pattern":
                    key = property_key(child.child_by_field_name("key"))
                    value = child.child_by_field_name("value")
                    if value is not None:
                        self.bind(value, member_of(taint, key) if key else element_of(taint), frame, statement)
                elif child.type == "object_assignment_pattern":
                    left = child.child_by_field_name("left")
                    if left is not None:
                        self.bind(left, member_of(taint, text(left)), frame, statement)
                elif child.type == "rest_pattern":
                    for inner in kids(child):
                        self.bind(inner, taint, frame, statement)
        elif kind == "array_pattern":
            for child in kids(pattern):
                self.bind(child, element_of(taint), frame, statement)
        elif kind == "assignment_pattern":
            left = pattern.child_by_field_name("left")
            if left is not None:
                self.bind(left, taint, frame, statement)
        elif kind == "rest_pattern":
            for inner in kids(pattern):
                self.bind(inner, taint, frame, statement)
        elif kind in ("lexical_declaration", "variable_declaration"):  # for (const x of xs)
            for declarator in kids(pattern):
                target = declarator.child_by_field_name("name") if declarator.type == "variable_declarator" else \
                    declarator
                if target is not None:
                    self.bind(target, taint, frame, statement)

    def _if(self, node: Node, frame: Frame) -> None:
        condition = node.child_by_field_name("condition")
        consequence = node.child_by_field_name("consequence")
        alternative = node.child_by_field_name("alternative")
        if condition is not None:
            self.expr(condition, frame, 0)
        chosen = self._dispatch_test(condition, frame)
        if chosen is not None and frame.focus is not None:
            if chosen == frame.focus or (chosen.startswith("\0") and frame.focus in chosen.split("\0")):
                if consequence is not None:
                    self.stmt(consequence, frame)
            elif alternative is not None:
                self.block(alternative, frame)
            return
        guarded = self._guarded_sources(condition, frame) if condition is not None else set()
        if guarded and consequence is not None and _exits(consequence):
            self.stmt(consequence, frame)
            frame.killed |= guarded
        elif guarded and consequence is not None:
            before = set(frame.killed)
            frame.killed |= guarded
            self.stmt(consequence, frame)
            frame.killed = before | (frame.killed - guarded)
        elif consequence is not None:
            self.stmt(consequence, frame)
        if alternative is not None:
            self.block(alternative, frame)

    def _switch(self, node: Node, frame: Frame) -> None:
        value = node.child_by_field_name("value")
        taint = self.expr(value, frame, 0) if value is not None else None
        body = node.child_by_field_name("body")
        if body is None:
            return
        on_name = taint is not None and taint.mode == "name" and frame.focus is not None
        pending: list[str] = []
        for case in kids(body):
            label = case.child_by_field_name("value")
            statements = [c for c in kids(case) if c is not label]
            if case.type == "switch_case" and label is not None:
                pending.append(self.mod.const_text(label))
            else:
                pending.append("\0default")
            if on_name and not statements:
                continue  # case "a": case "b": ... share the next body
            if not on_name or frame.focus in pending:
                for statement in statements:
                    self.stmt(statement, frame)
            pending = []

    def _dispatch_test(self, condition: Node | None, frame: Frame) -> str | None:
        """The tool name an ``if`` tests the dispatched name against: ``name === "read"``; several as "\\0a\\0b"."""
        node = unwrap(condition)
        if node is None or frame.focus is None:
            return None
        if node.type == "binary_expression":
            operator = text(node.child_by_field_name("operator"))
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if operator in ("===", "=="):
                for a, b in ((left, right), (right, left)):
                    if self._is_name(a, frame):
                        folded = self.mod.fold(b)
                        if folded:
                            return folded[0]
            if operator == "||":
                names = [self._dispatch_test(left, frame), self._dispatch_test(right, frame)]
                if all(names):
                    return "\0" + "\0".join(n.lstrip("\0") for n in names if n)
        if node.type == "call_expression":  # ["a", "b"].includes(name)
            function = unwrap(node.child_by_field_name("function"))
            args = call_args(node)
            if function is not None and function.type == "member_expression" and args and \
                    text(function.child_by_field_name("property")) == "includes" and self._is_name(args[0], frame):
                array = self.mod.resolve(function.child_by_field_name("object"))
                if array is not None and array.type == "array":
                    return "\0" + "\0".join(self.mod.const_text(e) for e in kids(array))
        return None

    def _is_name(self, node: Node | None, frame: Frame) -> bool:
        node = unwrap(node)
        if node is None:
            return False
        taint = self._peek(node, frame)
        return taint is not None and taint.mode == "name"

    def _peek(self, node: Node, frame: Frame) -> Taint | None:
        """The taint of a simple name or member chain, without visiting anything."""
        node = unwrap(node)
        if node is None:
            return None
        if node.type == "identifier":
            return self._lookup(text(node), frame)
        if node.type == "member_expression":
            return member_of(self._peek(node.child_by_field_name("object"), frame),
                           text(node.child_by_field_name("property")))
        return None

    def _guarded_sources(self, condition: Node, frame: Frame, depth: int = 0) -> set[str]:
        """Inputs a condition validates: a call or comparison on a tainted value (not a mere emptiness test)."""
        guarded: set[str] = set()
        bare = unwrap(condition)
        while bare is not None and bare.type == "unary_expression" and text(bare.child_by_field_name("operator")) == "!":
            bare = unwrap(bare.child_by_field_name("argument"))
        if bare is not None and bare.type == "identifier" and depth < 2:
            bound = unwrap(frame.local.get(text(bare)))  # const ok = isWithin(root, full); if (!ok) throw
            if bound is not None and bound.type in ("call_expression", "binary_expression"):
                return self._guarded_sources(bound, frame, depth + 1)
            return guarded
        for node in walk(condition, 400):
            if node.type == "call_expression":
                function = unwrap(node.child_by_field_name("function"))
                name = dotted(function, self.mod.aliases)
                if fx.last_name(name) in TRIVIAL_TEST:
                    continue
                for part in [*call_args(node), function.child_by_field_name("object") if function is not None and
                             function.type == "member_expression" else None]:
                    guarded |= self._sources_in(part, frame)
            elif node.type == "binary_expression":
                operator = text(node.child_by_field_name("operator"))
                if operator in ("===", "!==", "==", "!="):
                    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                    for a, b in ((left, right), (right, left)):
                        if a is not None and a.type == "unary_expression":
                            continue  # typeof x === "string": a type check, not validation
                        if self.mod.fold(b) and self.mod.const_text(b) not in ("", "undefined"):
                            guarded |= self._sources_in(a, frame)
        return guarded

    def _sources_in(self, node: Node | None, frame: Frame) -> set[str]:
        if node is None:
            return set()
        found = set()
        for child in walk(node, 200):
            if child.type in ("identifier", "member_expression"):
                taint = self._peek(child, frame)
                if taint is not None and taint.live:
                    found.add(taint.source)
        return found

    # -- expressions -----------------------------------------------------------------------------------------
    def _lookup(self, name: str, frame: Frame) -> Taint | None:
        taint = frame.env.get(name)
        if taint is None or (taint.live and (taint.source in frame.killed or taint.source in frame.confined)):
            return None
        return taint

    def expr(self, node: Node | None, frame: Frame, depth: int) -> Taint | None:
        if node is None or depth > MAX_EXPR_DEPTH:
            return None
        self._budget += 1
        if self._budget > MAX_NODES_PER_TOOL:
            return None
        handler = self._dispatch.get(node.type)
        if handler is not None:
            return handler(node, frame, depth)
        if node.type in LEAVES:
            return None
        taint = None
        for child in node.named_children:
            found = self.expr(child, frame, depth + 1)
            taint = taint or found
        return taint

    def _identifier(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        name = text(node)
        taint = self._lookup(name, frame)
        if taint is None and name in self.mod.consts and name not in frame.local:
            frame.result.sensitive.extend(self._const_sensitive(name))
        return taint

    def _wrapped(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        inner = node.named_children
        if not inner:
            return None
        return self.expr(inner[-1] if node.type == "type_assertion" else inner[0], frame, depth + 1)

    def _member_expr(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        obj = node.child_by_field_name("object")
        prop = text(node.child_by_field_name("property"))
        if prop == "env" and obj is not None and obj.type == "identifier" and text(obj) == "process":
            return None
        obj_taint = self.expr(obj, frame, depth + 1)
        if obj_taint is None:
            return None
        if obj_taint.mode == "members":
            frame.result.inputs.append(prop)
            if prop in frame.confined:
                return None
        return member_of(obj_taint, prop)

    def _subscript(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        obj_taint = self.expr(node.child_by_field_name("object"), frame, depth + 1)
        index = node.child_by_field_name("index")
        key = self.mod.fold(index)
        self.expr(index, frame, depth + 1)
        if key is not None:
            if obj_taint is not None and obj_taint.mode == "members":
                frame.result.inputs.append(key[0])
                if key[0] in frame.confined:
                    return None
            return member_of(obj_taint, key[0])
        if obj_taint is not None and obj_taint.mode == "members":
            return Taint(obj_taint.source, "value", obj_taint.spliced, obj_taint.steps)
        return obj_taint if obj_taint is not None and obj_taint.live else None

    def _ternary(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        self.expr(node.child_by_field_name("condition"), frame, depth + 1)
        yes = self.expr(node.child_by_field_name("consequence"), frame, depth + 1)
        no = self.expr(node.child_by_field_name("alternative"), frame, depth + 1)
        return yes or no

    def _closure(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        saved = frame.result.returns
        frame.result.returns = []
        self._body(node, frame)  # a closure (callback, promise executor) shares the handler's variables
        frame.result.returns = saved
        return None

    def _unary(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        for child in node.named_children:
            self.expr(child, frame, depth + 1)
        return None

    def _sequence(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        taint = None
        for child in node.named_children:
            taint = self.expr(child, frame, depth + 1)
        return taint

    def _string(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        if node.end_byte - node.start_byte > 20:
            frame.result.sensitive.extend(fx.select_sensitive(string_value(node), line(node)))
        if node.type == "string" or not any(c.type == "template_substitution" for c in node.children):
            if node.end_byte - node.start_byte > 8:
                frame.result.sensitive.extend(fx.string_sensitive(string_value(node), line(node)))
            return None
        first: Taint | None = None
        constant = False
        substitutions = 0
        for child in node.children:
            if child.type == "template_substitution":
                substitutions += 1
                constant = constant or substitutions > 1  # spliced together with another value
                inner = kids(child)
                taint = self.expr(inner[0], frame, depth + 1) if inner else None
                if taint is not None and taint.live and first is None:
                    first = taint
            elif child.type in ("string_fragment", "escape_sequence") and ADDED_TEXT.search(text(child)):
                constant = True
        if first is None:
            return None
        return Taint(first.source, "value", first.spliced or constant, first.steps)

    def _binary(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        operator = text(node.child_by_field_name("operator"))
        left = self.expr(node.child_by_field_name("left"), frame, depth + 1)
        right = self.expr(node.child_by_field_name("right"), frame, depth + 1)
        if operator == "+":
            taint = left if left is not None and left.live else right if right is not None and right.live else None
            return Taint(taint.source, "value", True, taint.steps) if taint is not None else None
        if operator in ("||", "??"):
            return left or right
        if operator == "&&":
            return right
        return None

    def _assign(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        left = node.child_by_field_name("left")
        taint = self.expr(node.child_by_field_name("right"), frame, depth + 1)
        if left is None:
            return taint
        operator = text(node.child_by_field_name("operator")) if node.type == "augmented_assignment_expression" else "="
        target = unwrap(left)
        if operator != "=":
            if taint is not None and taint.live and target is not None and target.type == "identifier":
                combined = Taint(taint.source, "value", True, taint.steps)
                frame.env[text(target)] = combined.step(line(node), short(node))
            return taint
        if target is not None and target.type in ("identifier", "object_pattern", "array_pattern"):
            self.bind(target, taint, frame, node)
            if target.type == "identifier":
                frame.local[text(target)] = node.child_by_field_name("right")
        elif target is not None and target.type in ("member_expression", "subscript_expression") and \
                taint is not None and taint.live:
            root = _root_name(target)
            if root and root != "this" and self._lookup(root, frame) is None:
                frame.env[root] = Taint(taint.source, "value", taint.spliced, taint.steps).step(line(node), short(node))
        return taint

    def _array(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        taint = None
        elements = kids(node)
        for element in elements:
            found = self.expr(element, frame, depth + 1)
            if taint is None and found is not None and found.live:
                taint = found
        if len(elements) >= 2 and elements[0].type == "object":
            frame.result.sensitive.extend(fx.records_sensitive(node))
        if taint is None:
            return None
        return Taint(taint.source, "value", taint.spliced or len(elements) > 1, taint.steps)

    def _object(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        taint = None
        for child in kids(node):
            if child.type == "pair":
                found = self.expr(child.child_by_field_name("value"), frame, depth + 1)
            elif child.type == "shorthand_property_identifier":
                name = text(child)
                found = self._lookup(name, frame)
                if found is None and name in self.mod.consts and name not in frame.local:
                    frame.result.sensitive.extend(self._const_sensitive(name))
            elif child.type == "spread_element":
                found = self.expr(child, frame, depth + 1)
            else:
                found = None
            if taint is None and found is not None and found.live:
                taint = found
        parent = node.parent
        if parent is None or parent.type != "arguments" or self._serialises(parent.parent):
            # an object handed to a constructor or an API call is its configuration, not data the tool returns
            frame.result.sensitive.extend(fx.object_sensitive(node, self.mod, self._returned))
        return Taint(taint.source, "value", taint.spliced, taint.steps) if taint is not None else None

    # -- calls -----------------------------------------------------------------------------------------------
    def _callee(self, function: Node | None) -> str:
        return dotted(function, self.mod.aliases)

    def _call(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        function = unwrap(node.child_by_field_name("function"))
        args = call_args(node)
        callee = self._callee(function)
        receiver = None
        if function is not None and function.type == "member_expression":
            receiver = self.expr(function.child_by_field_name("object"), frame, depth + 1)
        elif function is not None and function.type not in ("identifier",):
            self.expr(function, frame, depth + 1)
        if receiver is not None and receiver.live and fx.last_name(callee) in ITERATORS and args and \
                args[0].type in ("arrow_function", "function_expression"):
            params, _body = function_parts(args[0])  # items.map((item) => ...): each item is tainted
            if params:
                self.bind(params[0], element_of(receiver), frame, None)
        arg_taints = [self.expr(arg, frame, depth + 1) for arg in args]
        found = fx.call_effects(node, callee, self.mod, frame.local)
        helper = self._helper(function, callee, frame)
        local = helper is not None
        if local:  # a helper of this file named postMessage is messaging only if it really sends something
            found = [e for e in found if e.kind != "messaging"]
        frame.result.effects.extend(found)
        if fx.is_gate(callee):
            frame.result.gated = True
        self._sinks(node, callee, args, arg_taints, frame)
        before = len(frame.result.effects)
        taint = self._call_result(node, function, callee, args, arg_taints, receiver, frame, helper)
        if local and fx.MESSAGING.match(fx.last_name(callee)) and any(
                e.kind in ("api-write", "network", "messaging", "email-send") for e in frame.result.effects[before:]):
            frame.result.effects.append(Effect("messaging", line(node), callee))
        return taint

    def _new(self, node: Node, frame: Frame, depth: int) -> Taint | None:
        constructor = node.child_by_field_name("constructor")
        callee = self._callee(constructor)
        args = call_args(node)
        arg_taints = [self.expr(arg, frame, depth + 1) for arg in args]
        frame.result.effects.extend(fx.call_effects(node, callee, self.mod, frame.local))
        self._sinks(node, callee, args, arg_taints, frame)
        live = [t for t in arg_taints if t is not None and t.live]
        if fx.last_name(callee) in ("URL", "URLSearchParams", "Buffer", "String") and live:
            return live[0]
        return None

    def _call_result(self, node: Node, function: Node | None, callee: str, args: list[Node],
                     arg_taints: list[Taint | None], receiver: Taint | None, frame: Frame,
                     helper: Node | None) -> Taint | None:
        if helper is not None:
            return self._follow(node, helper, args, arg_taints, frame)
        table_lookup = function
        if function is not None and function.type == "identifier" and text(function) in frame.local:
            table_lookup = unwrap(frame.local[text(function)])  # const handler = handlers[name]; handler(args)
        if table_lookup is not None and table_lookup.type == "subscript_expression":
            dispatched = self._map_dispatch(table_lookup, frame)
            if dispatched is not None:
                return self._follow(node, dispatched, args, arg_taints, frame)
        if fx.http_call(callee) or fx.sdk_call(callee, self.mod) in ("api-read", "email-read"):
            return Taint(f"fetched:{callee}", "value", False, (Step(line(node), short(node, 100)),))
        if (receiver is None or not receiver.live) and not any(t is not None and t.live for t in arg_taints):
            return None  # nothing tainted goes in: nothing tainted comes out
        last = fx.last_name(callee)
        live = [t for t in arg_taints if t is not None and t.live]
        if callee in SANITISERS or last in ("basename", "encodeURIComponent"):
            return None
        if receiver is not None and receiver.source.startswith("fetched:") and last in FETCHED_MEMBERS:
            return receiver
        if callee in PATH_JOIN or last == "join" and callee.startswith("path"):
            if live:
                others = len(args) > len(live) or any(t.spliced for t in live)
                return Taint(live[0].source, "value", others, live[0].steps)
            return None
        if not callee.startswith(".") and "." not in callee and callee not in self.mod.aliases and \
                VALIDATOR.search(callee) and live:
            return None  # an imported helper named validatePath / sanitizeInput / ensureWithinRoot
        if "." in callee and VALIDATOR.search(last) and not receiver and last not in ("safeParse", "safeParseAsync"):
            return None
        if receiver is not None and receiver.live:
            if last in ("join", "concat", "replace", "replaceAll", "padStart", "padEnd", "format"):
                return Taint(receiver.source, "value", True, receiver.steps)
            if receiver.mode == "members":
                return receiver if last in ("parse", "parseAsync") else Taint(receiver.source, "value",
                                                                              receiver.spliced, receiver.steps)
            return receiver
        if receiver is None and function is not None and function.type == "member_expression" and live:
            obj = unwrap(function.child_by_field_name("object"))
            if last in CONTAINERS_ADD and obj is not None and obj.type == "identifier":
                name = text(obj)  # parts.push(input): the array now holds the input
                frame.env[name] = Taint(live[0].source, "value", True, live[0].steps).step(line(node), short(node))
                return None
        if live:
            first = next(t for t in arg_taints if t is not None and t.live)
            if first.mode == "members" and last in ("safeParse", "safeParseAsync"):
                return Taint(first.source, "parsed")
            return first
        return None

    def _helper(self, function: Node | None, callee: str, frame: Frame) -> Node | None:
        if function is None:
            return None
        if function.type == "identifier":
            name = text(function)
            found = frame.functions.get(name) or (self.mod.functions.get(name) if name not in self.mod.aliases
                                                  else None)
            return found or self._imported(name, "")
        if function.type == "member_expression" and callee.startswith("this."):
            return self.mod.functions.get(f"this.{fx.last_name(callee)}")
        if function.type == "member_expression":  # import * as reports from "./reports"; reports.build(x)
            obj = unwrap(function.child_by_field_name("object"))
            if obj is not None and obj.type == "identifier":
                return self._imported(text(obj), text(function.child_by_field_name("property")))
        return None

    def _imported(self, name: str, member: str) -> Node | None:
        """A function of another module of the project, imported by ``name`` (``member`` of a namespace)."""
        if self.project is None or name not in self.mod.imports_from:
            return None
        found = self.project.exported(self.mod, name, member)
        if found is None:
            return None
        function, home = found
        self._home[function.id] = home
        return function

    def _map_dispatch(self, function: Node | None, frame: Frame) -> Node | None:
        """``handlers[name](args)``: the handler registered for the analysed tool in a name -> function map."""
        if function is None or function.type != "subscript_expression" or frame.focus is None:
            return None
        if not self._is_name(function.child_by_field_name("index"), frame):
            return None
        table = self.mod.resolve(function.child_by_field_name("object"))
        for key, value, _pair in object_pairs(table):
            if key == frame.focus:
                target = unwrap(value) if value is not None else None
                if target is None:
                    return self.mod.functions.get(key)
                if target.type == "identifier":
                    return self.mod.functions.get(text(target))
                if target.type in FUNCTION_TYPES:
                    return target
        return None

    def _follow(self, call: Node, helper: Node, args: list[Node], arg_taints: list[Taint | None],
                frame: Frame) -> Taint | None:
        """Analyse a local helper with the caller's argument taints; its flows and effects count for the caller."""
        if frame.depth >= MAX_HELPER_DEPTH or helper.id in self._active:
            live = [t for t in arg_taints if t is not None and t.live]
            return live[0] if live else None
        signature = tuple((t.source, t.mode, t.spliced) if t is not None else None for t in arg_taints)
        key = (helper.id, signature, frame.focus, frame.read_only)
        summary = self._memo.get(key)
        if summary is None:
            self._active.add(helper.id)
            summary = Result()
            inner = Frame({}, {}, summary, frame.depth + 1, frame.focus, read_only=frame.read_only)
            params, _body = function_parts(helper)
            for index, pattern in enumerate(params):
                taint = arg_taints[index] if index < len(arg_taints) else None
                if pattern.type == "rest_pattern":
                    live = [t for t in arg_taints[index:] if t is not None]
                    taint = live[0] if live else None
                self.bind(pattern, Taint(taint.source, taint.mode, taint.spliced) if taint else None, inner, None)
            home = self._home.get(helper.id)
            saved = self.mod
            self.mod = home or saved  # the helper's names resolve in its own module
            try:
                self._body(helper, inner)
            finally:
                self.mod = saved
            self._active.discard(helper.id)
            self._memo[key] = summary
        home = self._home.get(helper.id)
        if home is not None and home is not self.mod:  # a helper of another file is placed at its call
            summary = relocated(summary, line(call), home.path)
        prefix = next((t.steps for t in arg_taints if t is not None and t.live), ())
        frame.result.merge(summary, prefix)
        returned = next((t for t in summary.returns if t is not None and t.live), None)
        if returned is None:
            return None
        name = text(helper.child_by_field_name("name")) or short(call, 40)
        steps = (*prefix, *returned.steps)[-MAX_STEPS:]
        return replace(returned, steps=steps).step(line(call), f"{short(call, 100)} [returns from {name}]")

    def _serialises(self, call: Node | None) -> bool:
        """A call that turns its argument into the tool's output: JSON.stringify, res.json, or a helper of this file
        that does (``const asJson = (v) => JSON.stringify(v)``, ``const out = (v) => ({ content: [...] })``)."""
        if _is_serialiser(call):
            return True
        function = unwrap(call.child_by_field_name("function")) if call is not None else None
        if function is None or function.type != "identifier":
            return False
        helper = self.mod.functions.get(text(function))
        if helper is None:
            return False
        known = self._serialiser_memo.get(helper.id)
        if known is None:
            body = text(helper)[:4000]
            known = "JSON.stringify" in body or "content" in body and "text" in body
            self._serialiser_memo[helper.id] = known
        return known

    def _returned(self, node: Node) -> bool:
        """The object is (part of) what the function returns or serialises."""
        parent = node.parent
        for _ in range(8):
            if parent is None:
                return False
            if parent.type in ("return_statement", "arrow_function"):
                return True
            if parent.type == "call_expression" and self._serialises(parent):
                return True
            if parent.type in ("statement_block", "lexical_declaration", "variable_declaration",
                               "expression_statement"):
                return False
            parent = parent.parent
        return False

    def _const_sensitive(self, name: str) -> list[Sensitive]:
        found = self._const_seen.get(name)
        if found is None:
            found = []
            self._const_seen[name] = found
            value = self.mod.consts.get(name)
            if value is not None:
                for node in walk(value, 5000):
                    if node.type == "object":
                        found.extend(fx.object_sensitive(node, self.mod))
                    elif node.type == "array":
                        found.extend(fx.records_sensitive(node))
                    elif node.type == "string" and node.end_byte - node.start_byte > 8:
                        found.extend(fx.string_sensitive(string_value(node), line(node)))
        return found

    # -- sinks -----------------------------------------------------------------------------------------------


def _root_name(node: Node) -> str:
    for _ in range(20):
        node = unwrap(node)
        if node is None:
            return ""
        if node.type == "identifier":
            return text(node)
        if node.type not in ("member_expression", "subscript_expression"):
            return ""
        node = node.child_by_field_name("object")
    return ""


SERIALISER = re.compile(r"(stringify|dump|send|json|push|resolve|serialize|serialise)$", re.I)


def _is_serialiser(call: Node | None) -> bool:
    if call is None or call.type != "call_expression":
        return False
    return bool(SERIALISER.search(dotted(call.child_by_field_name("function"))))


def _exits(node: Node) -> bool:
    """A branch that always leaves the function: ``throw``/``return`` (directly or as its last statement)."""
    if node.type in ("throw_statement", "return_statement"):
        return True
    if node.type == "statement_block":
        statements = kids(node)
        return bool(statements) and _exits(statements[-1])
    if node.type == "expression_statement":  # process.exit(1)
        return "process.exit" in text(node)[:40]
    return False
