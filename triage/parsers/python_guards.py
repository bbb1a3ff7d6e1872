"""Guards and validators of the Python taint analysis (python_taint.py): which tests clear an input from that point
on (allow-lists, equality with a literal, ``re.fullmatch``, containment of a normalised path, a host allow-list,
an unknown predicate that stops the tool) and which calls are validators made for their check. A mixin of
``Analyser``; it reads and clears the analyser's state through ``_subject`` / ``_sanitise``."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from triage.parsers.python_sinks import constant_str, dotted

if TYPE_CHECKING:
    from triage.parsers.python_taint import ModuleContext, Taint

CLEANING_CALLS = frozenset({
    "int", "float", "bool", "complex", "len", "hash", "id", "isinstance", "issubclass", "type", "ord", "round", "abs",
    "uuid.UUID", "UUID", "callable", "hasattr", "os.path.exists", "os.path.isfile", "os.path.isdir", "os.path.getsize",
    "math.floor", "math.ceil", "datetime.fromisoformat", "ipaddress.ip_address", "decimal.Decimal", "Decimal"})
SANITISER_NAME = re.compile(r"(valid|saniti[sz]|safe|secure|escape|allow|whitelist|ensure|verify|within|contain|"
                            r"check_path|guard|restrict)", re.I)


class GuardRules:
    ctx: ModuleContext
    state: dict[str, Taint]

    def _validator_statement(self, value: ast.AST) -> None:
        """``validate_path(path)`` on a line of its own raises or returns nothing: what it checked is clean after."""
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call):
            return
        last = dotted(value.func).rsplit(".", 1)[-1]
        local = self._local_function(value, dotted(value.func))
        if (last and SANITISER_NAME.search(last)) or (local is not None and _raises_on_bad_input(
                self.ctx.functions[local])):
            for argument in [*value.args, *(k.value for k in value.keywords)]:
                subject = self._subject(argument)
                if subject:
                    self._sanitise(subject, "all")

    # -- guards ----------------------------------------------------------------------------------------------------
    def _apply_guard(self, test: ast.AST, outcome: bool) -> None:
        for variable, group in self._guard_facts(test, outcome):
            self._sanitise(variable, group)

    def _guard_facts(self, test: ast.AST, outcome: bool) -> list[tuple[str, str]]:  # noqa: C901 - guard shapes
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._guard_facts(test.operand, not outcome)
        if isinstance(test, ast.BoolOp):
            both = isinstance(test.op, ast.And) == outcome  # every part holds: and/True, or/False
            if not both:
                # one part holds, unknown which: what every part establishes (p == ROOT or ROOT in p.parents)
                alternatives = [set(self._guard_facts(value, outcome)) for value in test.values]
                return sorted(set.intersection(*alternatives)) if alternatives else []
            return [fact for value in test.values for fact in self._guard_facts(value, outcome)]
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op, left, right = test.ops[0], test.left, test.comparators[0]
            if isinstance(op, (ast.In, ast.NotIn)):
                holds = isinstance(op, ast.In) == outcome
                if isinstance(right, ast.Attribute) and right.attr == "parents":  # ROOT in path.resolve().parents
                    subject = self._subject(right.value)
                    return [(subject, "path")] if subject and holds and self._normalised(subject) else []
                if isinstance(left, ast.Constant):  # ".." in path: rejecting a traversal token
                    subject = self._subject(right)
                    return [(subject, "all")] if subject and not holds else []
                subject = self._subject(left)
                return [(subject, self._subject_group(left))] if subject and holds and not _tainted_collection(
                    right, self) else []
            if isinstance(op, (ast.Eq, ast.NotEq)):
                holds = isinstance(op, ast.Eq) == outcome
                if isinstance(left, ast.Call) and dotted(left.func).endswith("commonpath"):
                    subjects = [self._subject(a) for a in (left.args[0].elts if left.args and isinstance(
                        left.args[0], (ast.List, ast.Tuple)) else left.args)]
                    return [(s, "path") for s in subjects if s and self._normalised(s)] if holds else []
                for side, other in ((left, right), (right, left)):
                    if isinstance(other, ast.Constant) and other.value is not None:
                        subject = self._subject(side)
                        return [(subject, self._subject_group(side))] if subject and holds else []
                for side, other in ((left, right), (right, left)):
                    # a normalised path equal to the (untainted) base directory is inside it
                    subject = self._subject(side) if isinstance(side, (ast.Name, ast.Attribute)) else ""
                    if subject and self._normalised(subject) and isinstance(other, (ast.Name, ast.Attribute)) and \
                            not self._is_tainted_name(self._key(other)):
                        return [(subject, "path")] if holds else []
            return []
        if isinstance(test, ast.Call):
            name = self.ctx.canonical(dotted(test.func))
            last = name.rsplit(".", 1)[-1]
            if not outcome:
                return []
            if name in ("any", "all") and len(test.args) == 1 and isinstance(
                    test.args[0], (ast.GeneratorExp, ast.ListComp)):
                return self._guard_facts(test.args[0].elt, outcome)  # any(p.is_relative_to(d) for d in ROOTS)
            if last in ("is_relative_to", "startswith") and isinstance(test.func, ast.Attribute):
                subject = self._subject(test.func.value)
                if subject and self._normalised(subject):
                    return [(subject, "path")]
                return []
            if name.startswith("re.") and last in ("match", "fullmatch", "search") and len(test.args) > 1:
                subject = self._subject(test.args[1])
                return [(subject, "all")] if subject else []
            if last in ("match", "fullmatch") and test.args:
                subject = self._subject(test.args[0])
                return [(subject, "all")] if subject else []
            if name in CLEANING_CALLS or last in ("exists", "is_file", "is_dir", "isfile", "isdir", "isinstance"):
                return []
            # an unknown predicate on the input that decides whether the tool goes on: treated as a validator
            subjects = [self._subject(a) for a in test.args]
            if isinstance(test.func, ast.Attribute) and not subjects:
                subjects = [self._subject(test.func.value)]
            return [(s, "all") for s in subjects if s]
        return []

    def _subject_group(self, node: ast.AST) -> str:
        if isinstance(node, ast.Attribute) and node.attr in ("hostname", "netloc", "host"):
            return "url"
        if isinstance(node, ast.Attribute) and node.attr in ("scheme", "port", "suffix"):
            return "none"
        return "all"

    def _subject(self, node: ast.AST) -> str:
        """The tainted variable a guard tests: ``x``, ``args.path``, ``urlparse(x).hostname`` -> ``x``."""
        for _ in range(6):
            item = _keyed_item_key(node, self.keyed)
            if item:
                return item
            key = self._key(node)
            if key and self._is_tainted_name(key):
                return key
            if isinstance(node, ast.Attribute):
                node = node.value
            elif isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
                node = node.args[0]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                node = node.func.value
            elif isinstance(node, ast.Subscript):
                node = node.value
            else:
                return ""
        return ""


def _raises_on_bad_input(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A helper that returns nothing and raises when a test fails: a validator called for its check."""
    raises = False
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return False
        if isinstance(node, ast.Assert) or (isinstance(node, ast.If) and any(
                isinstance(n, ast.Raise) for n in node.body)):
            raises = True
    return raises


def _tainted_collection(node: ast.AST, analyser: GuardRules) -> bool:
    """``x in user_list``: membership in something the input chose is no allow-list."""
    key = analyser._key(node)
    return bool(key) and analyser._is_tainted_name(key)


def _keyed_item_key(node: ast.AST, keyed: dict[str, str]) -> str:
    """``arguments["path"]`` / ``arguments.get("path")`` -> ``arguments.path`` (the key a guard sanitises)."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in keyed:
        key = constant_str(node.slice)
        return f"{node.value.id}.{key}" if key is not None else ""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
            isinstance(node.func.value, ast.Name) and node.func.value.id in keyed and node.args:
        key = constant_str(node.args[0])
        return f"{node.func.value.id}.{key}" if key is not None else ""
    return ""
