"""Code one module's tools take from other modules of the same tree.

Tools built from a function another module defines (``StructuredTool.from_function(functions.get_report)``) are
read from the defining module (``link_external_tools``). Helpers a tool calls from other modules: ``from .store import FileStore`` then
``store = FileStore(BASE)`` and ``store.load(arguments["name"])``, ``from .net import fetch_page``, or
``from . import helpers`` then ``helpers.run(cmd)``.

Each module's tool model is first built alone (python_flow.build_model). When a module that defines servers or tools
imports functions or classes from modules of the tree, its model is rebuilt once with those bodies available as local
helpers, so its flows and effects follow them one level across files. Work stays linear: one rebuild per such module,
and only the imported names are lent.
"""

from __future__ import annotations

import ast
import builtins
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from triage.parsers.python_code import MAX_PYTHON_BYTES, PyModule, _ModuleVisitor
from triage.parsers.python_flow import _ModelBuilder
from triage.parsers.python_taint import function_params
from triage.parsers.tool_model import CodeServer, ToolDef

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# A method named like a builtin (list, open, format) would capture the module's bare calls of that builtin.
_BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass
class ImportedCode:
    functions: dict[str, FunctionNode] = field(default_factory=dict)  # bare name -> body (functions and methods)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)  # names bound to a whole module of the tree (helpers.f(x))
    origin: dict[int, str] = field(default_factory=dict)  # id(function) -> the file defining it

    def __bool__(self) -> bool:
        return bool(self.functions or self.classes)


def _definitions(tree: ast.Module) -> tuple[dict[str, FunctionNode], dict[str, ast.ClassDef]]:
    functions: dict[str, FunctionNode] = {}
    classes: dict[str, ast.ClassDef] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.setdefault(statement.name, statement)
        elif isinstance(statement, ast.ClassDef):
            classes.setdefault(statement.name, statement)
    return functions, classes


def _methods(cls: ast.ClassDef) -> dict[str, FunctionNode]:
    return {s.name: s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
            and s.name not in _BUILTIN_NAMES and not (s.name.startswith("__") and s.name != "__call__")}


TextOf = Callable[[str], "str | None"]


def _tree_of(module: PyModule, text_of: TextOf, cache: dict[str, ast.Module | None]) -> ast.Module | None:
    """The module's tree; one the parser skipped (it mentions nothing we model) is parsed now, once."""
    if module.tree is not None:
        return module.tree
    if module.path not in cache:
        text = text_of(module.path)
        try:
            cache[module.path] = ast.parse(text, filename=module.path) if text and len(text) <= MAX_PYTHON_BYTES \
                else None
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            cache[module.path] = None
    return cache[module.path]


def imported_code(module: PyModule, by_path: dict[str, PyModule], text_of: TextOf = lambda _p: None,
                  cache: dict[str, ast.Module | None] | None = None,
                  suffixes: dict[str, list[str]] | None = None) -> ImportedCode:
    """What ``module`` imports from other Python modules of the tree, in import order (deterministic)."""
    found = ImportedCode()
    cache = {} if cache is None else cache
    suffixes = suffix_index(by_path) if suffixes is None else suffixes
    definitions: dict[str, tuple[dict[str, FunctionNode], dict[str, ast.ClassDef]]] = {}
    for name, (dotted_module, level, item) in sorted(module.imports.items()):
        if not (level or dotted_module) or name in ("mcp", "server", "app"):
            continue
        target = _imported_module(module, name, by_path, suffixes)
        if target is None or target.path == module.path:
            continue
        tree = _tree_of(target, text_of, cache)
        if tree is None:
            continue
        if target.path not in definitions:
            definitions[target.path] = _definitions(tree)
        functions, classes = definitions[target.path]
        if item and item in classes:
            found.classes.setdefault(name, classes[item])
            for method, body in sorted(_methods(classes[item]).items()):
                found.functions.setdefault(method, body)
        elif item and item in functions:
            found.functions.setdefault(name, functions[item])
        elif not item or target.path.endswith((f"/{item}.py", f"{item}.py", f"/{item}/__init__.py")):
            # the whole module (import pkg.helpers as helpers / from . import helpers): its functions by name
            found.modules.add(name)
            for function, body in sorted(functions.items()):
                if function not in _BUILTIN_NAMES:
                    found.functions.setdefault(function, body)
    found.origin = {id(body): path for path, (functions, classes) in definitions.items()
                    for body in [*functions.values(), *(m for c in classes.values() for m in _methods(c).values())]}
    return found


def link_imported_code(modules: list[PyModule], text_of: Callable[[str], str | None]) -> list[
        tuple[list[CodeServer], list[ToolDef], PyModule]]:
    """Rebuild the tool model of modules whose tools may call code of other modules; returns, per rebuilt module,
    the servers and tools it had before (for the caller to swap) and the module, now holding the new ones.
    ``text_of`` gives a module's source, for modules the first pass did not need to parse."""
    by_path = {m.path: m for m in modules}
    cache: dict[str, ast.Module | None] = {}
    suffixes: dict[str, list[str]] | None = None
    rebuilt = []
    for module in modules:
        if module.tree is None or not (module.servers or module.code_tools):
            continue
        suffixes = suffix_index(by_path) if suffixes is None else suffixes
        imported = imported_code(module, by_path, text_of, cache, suffixes)
        if not imported:
            continue
        visitor = _ModuleVisitor(module.path)
        try:
            visitor.visit(module.tree)
            builder = _ModelBuilder(module.tree, visitor, imported)
            builder.build()
        except RecursionError:
            continue
        old = (module.servers, module.code_tools)
        module.servers, module.code_tools = visitor.module.servers, visitor.module.code_tools
        rebuilt.append((old[0], old[1], module))
    return rebuilt


def link_external_tools(modules: list) -> list[ToolDef]:  # noqa: ANN001 - list[PyModule]
    """Tools one module builds from functions another module defines: each becomes a ToolDef read from the
    defining module (its path, line, effects and flows), the name and description as the wrapping call gives them."""
    by_path = {m.path: m for m in modules}
    suffixes = suffix_index(by_path) if any(m.external_tools for m in modules) else {}
    builders: dict[str, _ModelBuilder] = {}
    found: list[ToolDef] = []
    for module in modules:
        for head, function_name, tool_name, _line, framework, description, description_line in module.external_tools:
            target = _imported_module(module, head, by_path, suffixes)
            if target is None or target.tree is None:
                continue
            if target.path not in builders:
                visitor = _ModuleVisitor(target.path)
                visitor.visit(target.tree)
                builders[target.path] = _ModelBuilder(target.tree, visitor)
            builder = builders[target.path]
            function = builder.functions.get(function_name)
            if function is None:
                continue
            if not description:
                description, description_line = builder._docstring(function)
            tool = ToolDef("tool", tool_name or function.name, target.path, function.lineno, "python", framework,
                           description, description_line, tuple(function_params(function, skip_context=True)))
            try:
                builder._fill(tool, [function], function, None)
                tool.flows = builder._flows_of_function(function, skip_context=True)
                tool.effects += builder._any_statement_effects(tool)
            except RecursionError:
                continue
            found.append(tool)
    return sorted(found, key=lambda t: (t.path, t.line, t.name))


def suffix_index(paths) -> dict[str, list[str]]:  # noqa: ANN001 - iterable of posix paths
    """Every trailing run of path components -> the paths ending with it (``pkg/mod.py`` -> pkg/mod.py, mod.py):
    absolute imports resolve in constant time instead of scanning every module."""
    index: dict[str, list[str]] = {}
    for path in sorted(paths):
        parts = path.split("/")
        for start in range(len(parts)):
            index.setdefault("/".join(parts[start:]), []).append(path)
    return index


def _imported_module(module, head: str, by_path: dict,  # noqa: ANN001, ANN202 - PyModule
                     suffixes: dict[str, list[str]] | None = None):
    """The parsed module an import refers to: ``from . import functions``, ``from .functions import f``,
    ``from pkg.functions import f`` (any source root), ``import pkg.functions as functions``."""
    dotted_module, level, item = module.imports[head]
    names = [f"{dotted_module}.{item}" if dotted_module and item else item or dotted_module, dotted_module]
    if level:
        parent = posixpath.dirname(module.path)
        for _ in range(level - 1):
            parent = posixpath.dirname(parent)
    for name in names:
        if not name:
            continue
        relative = name.replace(".", "/")
        for candidate in (f"{relative}.py", f"{relative}/__init__.py"):
            if level:
                path = posixpath.normpath(posixpath.join(parent, candidate)) if parent else candidate
                if path in by_path:
                    return by_path[path]
            else:
                matches = suffixes.get(candidate, []) if suffixes is not None else sorted(
                    p for p in by_path if p == candidate or p.endswith("/" + candidate))
                if len(matches) == 1:
                    return by_path[matches[0]]
    return None


# --- what a module needs at start -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportStatement:
    module: str  # dotted, as written ("" for ``from . import x``)
    level: int  # 0 absolute, 1 for ``from .``, ...
    names: tuple[str, ...]  # the names a ``from`` import takes ("*" included), () for ``import x``
    line: int
    optional: bool  # inside ``try`` with an ImportError handler, under ``if TYPE_CHECKING``, or in a function


def module_import_statements(text: str, path: str) -> list[ImportStatement] | None:
    """Every import of a module's source, marked optional where a failure would not stop the module loading.
    None when it is not valid Python."""
    if len(text) > MAX_PYTHON_BYTES:
        return None
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: list[ImportStatement] = []

    def visit(nodes: list[ast.stmt], optional: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend(ImportStatement(alias.name, 0, (), node.lineno, optional) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.append(ImportStatement(node.module or "", node.level or 0,
                                             tuple(alias.name for alias in node.names), node.lineno, optional))
            elif isinstance(node, ast.Try | getattr(ast, "TryStar", ast.Try)):
                guarded = any(_catches_import_error(handler.type) for handler in node.handlers)
                visit(node.body, optional or guarded)
                for handler in node.handlers:
                    visit(handler.body, True)
                visit(node.orelse, optional)
                visit(node.finalbody, optional)
            elif isinstance(node, ast.If):
                checking = "TYPE_CHECKING" in ast.unparse(node.test)
                visit(node.body, optional or checking)
                visit(node.orelse, optional)
            elif isinstance(node, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
                visit(node.body, optional)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                visit(node.body, optional or not isinstance(node, ast.ClassDef))

    try:
        visit(tree.body, False)
    except RecursionError:
        return None
    return found


def _catches_import_error(node: ast.expr | None) -> bool:
    if node is None:
        return True  # a bare except
    names = [node] if not isinstance(node, ast.Tuple) else list(node.elts)
    return any(getattr(n, "id", getattr(n, "attr", "")) in ("ImportError", "ModuleNotFoundError", "Exception",
                                                            "BaseException") for n in names)
