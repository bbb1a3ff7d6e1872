"""Intra-procedural taint from a tool's inputs to dangerous sinks, over Python ``ast`` (the code is never run).

A value is tainted by *origins*: the tool input (or fetched content) it was computed from, the statements it passed
(evidence) and whether it was spliced into constant text. Sanitisers drop an origin or clear it for one sink group
(``shell``, ``path``, ``url``); guards (``if x not in ALLOWED: raise``) do so from that point on. Calls to helper
functions of the same module are followed through per-helper summaries (which parameters reach the return value and
which reach sinks), memoised and depth-bounded. Work is bounded per function so a hostile module cannot stall triage.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

from triage.parsers.python_guards import CLEANING_CALLS, SANITISER_NAME, GuardRules
from triage.parsers.python_sinks import HTTP_MODULES, INTERPRETERS, SHELL_PROGRAMS, SinkRules, constant_str, dotted
from triage.parsers.tool_model import Flow, Step

MAX_STEPS = 6
MAX_ORIGINS = 4  # per value: enough evidence, bounded cost
MAX_FLOWS = 20
MAX_HELPER_DEPTH = 3
MAX_STATEMENTS = 4000  # per analysed function, loops and branches included
MAX_LOOP_DEPTH = 2  # loops nested deeper than this are walked once instead of twice
STEP_TEXT = 80

CLEANING_PREFIXES = ("hashlib.", "hmac.", "secrets.", "time.", "random.")
CLEANING_METHODS = frozenset({
    "startswith", "endswith", "isdigit", "isalnum", "isalpha", "isnumeric", "isdecimal", "isidentifier", "count",
    "find", "rfind", "index", "rindex", "is_relative_to", "exists", "is_file", "is_dir", "hexdigest", "digest",
    "is_absolute", "match", "fullmatch", "issubset", "issuperset"})
NORMALISERS = frozenset({"os.path.realpath", "os.path.abspath", "os.path.normpath", "posixpath.normpath",
                         "os.path.expanduser", "posixpath.realpath", "posixpath.abspath"})
PATH_JOINS = frozenset({"os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path", "Path", "PurePath",
                        "pathlib.PurePath", "PosixPath", "anyio.Path", "aiopath.AsyncPath"})
HTTP_CLIENT_FACTORIES = frozenset({
    "requests.Session", "requests.session", "httpx.Client", "httpx.AsyncClient", "aiohttp.ClientSession",
    "urllib3.PoolManager"})
MAIL_CLIENT_FACTORIES = frozenset({"imaplib.IMAP4_SSL", "imaplib.IMAP4", "poplib.POP3_SSL", "poplib.POP3"})
READ_VERBS = frozenset({"get", "urlopen", "stream", "head", "fetch", "request"})


@dataclass(frozen=True)
class RawStep:
    """A step not rendered yet: most tainted statements never reach a sink, and rendering costs."""

    line: int
    node: ast.AST = field(compare=False, hash=False)
    key: int = 0  # id(node): steps are equal when they are the same statement


def _raw(node: ast.AST) -> RawStep:
    return RawStep(getattr(node, "lineno", 0), node, id(node))


def _rendered(steps: tuple) -> tuple[Step, ...]:
    return tuple(Step(s.line, render(s.node)) if isinstance(s, RawStep) else s for s in steps)


@dataclass(frozen=True)
class Origin:
    source: str
    steps: tuple = ()  # RawStep or Step, source first
    spliced: bool = False
    safe: frozenset[str] = frozenset()  # sink groups this value has been cleared for
    normalised: bool = False  # passed realpath/abspath/normpath/resolve: a containment check on it means something


Taint = tuple[Origin, ...]
NO_TAINT: Taint = ()


def join(*taints: Taint) -> Taint:
    seen: dict[tuple, Origin] = {}
    for taint in taints:
        for origin in taint:
            key = (origin.source, origin.safe, origin.spliced)
            if key not in seen:
                seen[key] = origin
    ordered = sorted(seen.values(), key=lambda o: (o.source, sorted(o.safe), not o.spliced, len(o.steps)))
    return tuple(ordered[:MAX_ORIGINS])


def mark(taint: Taint, *, spliced: bool = False, safe: str = "", normalised: bool = False) -> Taint:
    if not taint:
        return taint
    return tuple(replace(o, spliced=o.spliced or spliced, safe=o.safe | {safe} if safe else o.safe,
                         normalised=o.normalised or normalised) for o in taint)


def add_step(taint: Taint, step: Step) -> Taint:
    out = []
    for origin in taint:
        steps = origin.steps
        if steps and steps[-1] == step:
            out.append(origin)
            continue
        if steps and steps[-1].line == step.line:
            steps = steps[:-1]  # the whole statement says more than the call inside it
        if len(steps) >= MAX_STEPS:
            steps = steps[:2] + steps[3:]
        out.append(replace(origin, steps=steps + (step,)))
    return tuple(out)


def render(node: ast.AST) -> str:
    """A short one-line rendering of a statement or expression for evidence."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        node = ast.Expr(ast.Compare(node.target, [ast.In()], [node.iter]))
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        node = node.items[0].context_expr if node.items else ast.Constant("with")
    elif isinstance(node, (ast.If, ast.While)):
        node = node.test
    try:
        text = ast.unparse(node)
    except (ValueError, TypeError, AttributeError, RecursionError):
        return "?"
    text = " ".join(text.split())
    return text if len(text) <= STEP_TEXT else text[: STEP_TEXT - 1] + "…"


def terminates(body: list[ast.stmt]) -> bool:
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Raise, ast.Return, ast.Continue, ast.Break)):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
        return dotted(last.value.func) in ("sys.exit", "exit", "abort", "flask.abort", "os._exit")
    if isinstance(last, ast.If):
        return terminates(last.body) and terminates(last.orelse)
    return False


@dataclass
class Summary:
    """What a helper does with its parameters: flows from ``#i`` (the i-th parameter) and what reaches its return."""

    flows: list[Flow] = field(default_factory=list)
    returns: Taint = NO_TAINT


class ModuleContext:
    """What the analyser knows about the module: its functions, constants and imports; summaries memoised."""

    def __init__(self, functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
                 constants: dict[str, ast.AST], imports: dict[str, tuple[str, int, str]]) -> None:
        self.functions = functions
        self.constants = constants
        self.imports = imports
        self.summaries: dict[str, Summary] = {}
        self._in_progress: set[str] = set()
        # module-level instances of classes defined here (store = FileStore(BASE)): their methods are local helpers
        self.instances: set[str] = set()
        self.foreign: dict[int, str] = {}  # id(function) -> its file, for helpers lent by another module

    def canonical(self, name: str) -> str:
        """``sp.run`` -> ``subprocess.run`` for ``import subprocess as sp``; ``load`` -> ``yaml.load``."""
        if not name:
            return name
        head, _, rest = name.partition(".")
        imported = self.imports.get(head)
        if not imported or head in self.functions:
            return name
        module, level, item = imported
        if level or (not item and module.split(".", 1)[0] == head and module != head and "." in module):
            return name  # import urllib.request binds "urllib": urllib.request.urlopen is already whole
        base = f"{module}.{item}" if item else module
        return f"{base}.{rest}" if rest else base

    def summary(self, name: str, depth: int) -> Summary | None:
        node = self.functions.get(name)
        if node is None or depth > MAX_HELPER_DEPTH or name in self._in_progress:
            return None
        if name not in self.summaries:
            self._in_progress.add(name)
            try:
                params = function_params(node, skip_context=False)
                tainted = {p: (Origin(f"#{i}"),) for i, p in enumerate(params)}
                analyser = Analyser(self, tainted, keyed={p: f"#{i}" for i, p in enumerate(params)}, depth=depth + 1)
                analyser.kinds.update(client_params(node))
                analyser.run(node.body)
                flows = analyser.flows
                if id(node) in self.foreign:
                    flows = [f if f.path else replace(f, path=self.foreign[id(node)]) for f in flows]
                self.summaries[name] = Summary(flows, analyser.returns)
            finally:
                self._in_progress.discard(name)
        return self.summaries[name]


def function_params(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, *, skip_context: bool) -> list[str]:
    """Parameter names in order, without self/cls (and, for tools, the injected context)."""
    args = node.args
    names = []
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        if arg.arg in ("self", "cls"):
            continue
        if skip_context and _is_context(arg):
            continue
        names.append(arg.arg)
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def _is_context(arg: ast.arg) -> bool:
    annotation = arg.annotation
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        text = annotation.value
    else:
        text = dotted(annotation) if annotation is not None else ""
    last = text.rsplit(".", 1)[-1]
    return last in ("Context", "RunContext", "ToolContext", "RunContextWrapper", "Ctx") or (
        annotation is None and arg.arg in ("ctx", "context"))


def client_params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    """Parameters annotated as an HTTP client (``client: httpx.AsyncClient``): their methods are requests."""
    found = {}
    for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
        annotation = dotted(arg.annotation) if arg.annotation is not None else ""
        if annotation in HTTP_CLIENT_FACTORIES or annotation in ("AsyncClient", "ClientSession", "Session"):
            found[arg.arg] = "http"
    return found


def is_whole_environ(node: ast.AST | None, names: frozenset[str] | set[str] = frozenset()) -> bool:
    """``os.environ``, ``dict(os.environ)``, ``os.environ.copy()``, ``{**os.environ, ...}``, ``os.environ | {...}``."""
    if node is None:
        return False
    if isinstance(node, ast.Name) and node.id in names:
        return True
    text = dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else ""
    if text in ("os.environ", "environ"):
        return True
    if isinstance(node, ast.Call):
        func = dotted(node.func)
        if func in ("os.environ.copy", "environ.copy", "copy.copy", "copy.deepcopy", "dict") and node.args:
            return is_whole_environ(node.args[0], names)
        if func in ("os.environ.copy", "environ.copy"):
            return True
        if func == "dict" and not node.args:
            return any(k.arg is None and is_whole_environ(k.value, names) for k in node.keywords)
    if isinstance(node, ast.Dict):
        return any(key is None and is_whole_environ(value, names) for key, value in zip(node.keys, node.values))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return is_whole_environ(node.left, names)
    return False


class Analyser(GuardRules, SinkRules):
    """Taint over one function body. ``tainted``: initial variable taints; ``keyed``: mapping parameters (the low-level
    SDK's ``arguments``) whose items ``arguments["path"]`` are inputs named by their key."""

    _union = staticmethod(join)

    def __init__(self, context: ModuleContext, tainted: dict[str, Taint], *, keyed: dict[str, str] | None = None,
                 depth: int = 0, dispatch: tuple[str, str] | None = None) -> None:
        self.ctx = context
        self.state: dict[str, Taint] = dict(tainted)
        self.keyed: dict[str, str] = dict(keyed or {})  # variable -> label prefix ("" for real tool inputs)
        self.depth = depth
        self.dispatch = dispatch  # (variable, tool name): follow only that tool's branch of a call_tool handler
        self.flows: list[Flow] = []
        self._flow_keys: set[tuple] = set()
        self.returns: Taint = NO_TAINT
        self.derived: dict[str, str] = {}  # y -> x when y was computed from x alone (for guards on y)
        self.kinds: dict[str, str] = {}  # variable -> http | mail | jinja | db | fixed-argv | sqldb
        self.values: dict[str, ast.AST] = {}  # last expression assigned to a local (URL prefixes, SQL text)
        self._budget = MAX_STATEMENTS
        self._loops = 0

    # -- entry -----------------------------------------------------------------------------------------------------
    def run(self, body: list[ast.stmt]) -> None:
        try:
            self._block(body)
        except RecursionError:
            pass  # a pathologically nested body: keep what was found

    # -- statements ------------------------------------------------------------------------------------------------
    def _block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if self._budget <= 0:
                return
            self._budget -= 1
            self._statement(statement)

    def _statement(self, node: ast.stmt) -> None:  # noqa: C901 - one dispatch over statement kinds
        kind = type(node)
        if kind is ast.Assign:
            value = self._expr(node.value)
            for target in node.targets:
                self._bind(target, value, node.value, node)
        elif kind is ast.AnnAssign and node.value is not None:
            self._bind(node.target, self._expr(node.value), node.value, node)
        elif kind is ast.AugAssign:
            value = self._expr(node.value)
            key = self._key(node.target)
            if key and value:
                current = self.state.get(key, self._expr(node.target))
                self.state[key] = add_step(join(current, mark(value, spliced=True)), _raw(node))
        elif kind is ast.Expr:
            self._expr(node.value)
            self._validator_statement(node.value)
        elif kind is ast.Return:
            if node.value is not None:
                self.returns = join(self.returns, self._expr(node.value))
        elif kind is ast.If:
            self._if(node)
        elif kind in (ast.For, ast.AsyncFor):
            self._for(node)
        elif kind is ast.While:
            self._expr(node.test)
            self._loop(node.body)
            self._block(node.orelse)
        elif kind in (ast.With, ast.AsyncWith):
            for item in node.items:
                value = self._expr(item.context_expr)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, value, item.context_expr, node)
            self._block(node.body)
        elif kind in (ast.Try, getattr(ast, "TryStar", ast.Try)):
            self._try(node)
        elif kind is ast.Assert:
            self._expr(node.test)
            self._apply_guard(node.test, True)
        elif kind is ast.Match:
            self._match(node)
        elif kind is ast.Raise and node.exc is not None:
            self._expr(node.exc)

    def _bind(self, target: ast.AST, value: Taint, value_node: ast.AST, statement: ast.stmt) -> None:
        key = self._key(target)
        if key:
            self.state[key] = add_step(value, _raw(statement)) if value else NO_TAINT
            self.values[key] = value_node
            self._note_kind(key, value_node)
            names = [n for n in _names(value_node) if self._is_tainted_name(n)] if value else []
            if len(names) == 1 and names[0] != key:
                self.derived[key] = names[0]
            else:
                self.derived.pop(key, None)
            keyed = _keyed_source(value_node, self.keyed)
            if keyed:
                self.keyed[key] = self.keyed[keyed]
            elif key in self.keyed:
                del self.keyed[key]
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value_node, (ast.Tuple, ast.List)) and len(
                target.elts) == len(value_node.elts) and not any(isinstance(e, ast.Starred) for e in target.elts):
            for element, item in zip(target.elts, value_node.elts):  # a, b = x, "fixed": element by element
                self._bind(element, self._expr(item), item, statement)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                inner = element.value if isinstance(element, ast.Starred) else element
                self._bind(inner, value, value_node, statement)
        elif isinstance(target, ast.Subscript):
            container = self._key(target.value)
            if container and value:  # d["k"] = x: the container now holds a tainted value
                self.state[container] = add_step(join(self.state.get(container, NO_TAINT), value),
                                                 _raw(statement))

    def _note_kind(self, key: str, value: ast.AST) -> None:
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Call):
            name = self.ctx.canonical(dotted(value.func))
            last = name.rsplit(".", 1)[-1]
            if name in HTTP_CLIENT_FACTORIES:
                self.kinds[key] = "http"
            elif name in MAIL_CLIENT_FACTORIES:
                self.kinds[key] = "mail"
            elif last in ("Environment", "SandboxedEnvironment") and "jinja" in name.lower() or name == "Environment":
                self.kinds[key] = "jinja"
            elif last in ("cursor", "connect", "create_engine", "Session", "sessionmaker", "create_pool"):
                self.kinds[key] = "db"
            elif last in ("from_uri", "SQLDatabase"):
                self.kinds[key] = "sqldb"
            else:
                self.kinds.pop(key, None)
        elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and isinstance(value.left, ast.List):
            self._note_kind(key, value.left)
        elif isinstance(value, (ast.List, ast.Tuple)) and value.elts:
            first = constant_str(value.elts[0])
            if first is not None and first.rsplit("/", 1)[-1] not in SHELL_PROGRAMS and not INTERPRETERS.match(
                    first.rsplit("/", 1)[-1]):
                self.kinds[key] = "fixed-argv"
            else:
                self.kinds.pop(key, None)
        else:
            self.kinds.pop(key, None)

    def _if(self, node: ast.If) -> None:
        chosen = self._dispatch_branch(node.test)
        if chosen is not None:
            self._block(node.body if chosen else node.orelse)
            return
        self._expr(node.test)
        before = dict(self.state)
        self._apply_guard(node.test, True)
        self._block(node.body)
        after_body = self.state
        self.state = before
        self._apply_guard(node.test, False)
        self._block(node.orelse)
        after_else = self.state
        body_ends, else_ends = terminates(node.body), terminates(node.orelse)
        if body_ends and not else_ends:
            self.state = after_else
        elif else_ends and not body_ends:
            self.state = after_body
        else:
            self.state = _join_states(after_body, after_else)

    def _dispatch_branch(self, test: ast.AST) -> bool | None:
        """In a call_tool handler analysed for one tool: True/False for ``name == "tool"`` tests, None otherwise."""
        if self.dispatch is None or not isinstance(test, ast.Compare) or len(test.ops) != 1:
            return None
        variable, tool = self.dispatch
        left, right, op = test.left, test.comparators[0], test.ops[0]
        if dotted(right) == variable and isinstance(op, (ast.Eq, ast.NotEq)):
            left, right = right, left
        if dotted(left) != variable:
            return None
        if isinstance(op, (ast.Eq, ast.NotEq)) and constant_str(right) is not None:
            return (constant_str(right) == tool) == isinstance(op, ast.Eq)
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
            inside = tool in [constant_str(e) for e in right.elts]
            return inside == isinstance(op, ast.In)
        return None

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        value = self._expr(node.iter)
        self._bind(node.target, mark(value), node.iter, node)
        self._loop(node.body)
        self._block(node.orelse)

    def _loop(self, body: list[ast.stmt]) -> None:
        self._loops += 1
        try:
            before = dict(self.state)
            self._block(body)
            carried = any(self.state.get(k) != v for k, v in before.items())  # acc = acc + item, cmd += x
            if carried and self._loops <= MAX_LOOP_DEPTH:  # a second pass carries values into the next turn
                self.state = _join_states(before, self.state)
                self._block(body)
            self.state = _join_states(before, self.state)
        finally:
            self._loops -= 1

    def _try(self, node: ast.Try) -> None:
        before = dict(self.state)
        self._block(node.body)
        after_body = self.state
        ends = [after_body]
        for handler in node.handlers:
            self.state = _join_states(before, after_body)
            self._block(handler.body)
            if not terminates(handler.body):
                ends.append(self.state)
        self.state = after_body
        self._block(node.orelse)
        ends[0] = self.state
        self.state = _join_states(*ends)
        self._block(node.finalbody)

    def _match(self, node: ast.Match) -> None:
        subject = dotted(node.subject)
        if self.dispatch is not None and subject == self.dispatch[0]:
            for case in node.cases:
                if self.dispatch[1] in _case_values(case.pattern) or (
                        isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None
                        and not any(self.dispatch[1] in _case_values(c.pattern) for c in node.cases)):
                    self._block(case.body)
                    return
            return
        self._expr(node.subject)
        before = dict(self.state)
        ends = []
        exhaustive = False
        for case in node.cases:
            self.state = dict(before)
            if _case_values(case.pattern) and subject:
                self._sanitise(subject, "all")
            if isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None:
                exhaustive = True
            self._block(case.body)
            if not terminates(case.body):
                ends.append(self.state)
        if not exhaustive:
            ends.append(before)
        self.state = _join_states(*ends) if ends else before

    def _normalised(self, key: str) -> bool:
        return any(o.normalised for o in self.state.get(key, NO_TAINT))

    def _current(self, key: str) -> Taint:
        if key in self.state:
            return self.state[key]
        base, _, attr = key.rpartition(".")
        if base in self.keyed and self.state.get(base):
            return self._keyed_item(base, attr)
        return self.state.get(key.split(".", 1)[0], NO_TAINT) if base else NO_TAINT

    def _sanitise(self, key: str, group: str) -> None:
        if group == "none":
            return
        for _ in range(4):
            current = self._current(key)
            if current:
                self.state[key] = NO_TAINT if group == "all" else mark(current, safe=group)
            key = self.derived.get(key, "")
            if not key:
                return

    # -- expressions -----------------------------------------------------------------------------------------------
    def _key(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return dotted(node)
        return ""

    def _is_tainted_name(self, key: str) -> bool:
        return bool(self._current(key))

    def _expr(self, node: ast.AST | None) -> Taint:  # noqa: C901 - one dispatch over expression kinds
        if node is None:
            return NO_TAINT
        kind = type(node)
        if kind is ast.Name:
            return self.state.get(node.id, NO_TAINT)
        if kind is ast.Constant:
            return NO_TAINT
        if kind is ast.Attribute:
            key = dotted(node)
            if key and key in self.state:
                return self.state[key]
            base = self._expr(node.value)
            if isinstance(node.value, ast.Name) and node.value.id in self.keyed and base:
                return self._keyed_item(node.value.id, node.attr)
            if node.attr in ("name", "stem", "suffix", "parts") and base:
                return mark(base, safe="path")  # Path(x).name: the last component only
            return base
        if kind is ast.Call:
            return self._call(node)
        if kind is ast.JoinedStr:
            parts = [self._expr(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
            constant = any(isinstance(v, ast.Constant) and v.value for v in node.values)
            return mark(join(*parts), spliced=constant or len(parts) > 1)
        if kind is ast.BinOp:
            left, right = self._expr(node.left), self._expr(node.right)
            if isinstance(node.op, (ast.Add, ast.Mod, ast.Div)):
                return mark(join(left, right), spliced=True)
            return join(left, right) if isinstance(node.op, ast.BitOr) else NO_TAINT
        if kind is ast.Subscript:
            base = self._expr(node.value)
            self._expr(node.slice)
            key = constant_str(node.slice)
            if key is not None and isinstance(node.value, ast.Name) and node.value.id in self.keyed and base:
                return self._keyed_item(node.value.id, key)
            return base
        if kind in (ast.List, ast.Tuple, ast.Set):
            taint = join(*(self._expr(e) for e in node.elts))
            constant = taint and any(isinstance(e, ast.Constant) for e in node.elts)
            return mark(taint, spliced=True) if constant else taint  # ["ls", x]: joined to fixed words later
        if kind is ast.Dict:
            return join(*(self._expr(k) for k in node.keys if k is not None), *(self._expr(v) for v in node.values))
        if kind is ast.BoolOp:
            return join(*(self._expr(v) for v in node.values))
        if kind is ast.IfExp:
            self._expr(node.test)
            return join(self._expr(node.body), self._expr(node.orelse))
        if kind in (ast.Await, ast.Starred, ast.FormattedValue):
            return self._expr(node.value)
        if kind is ast.NamedExpr:
            value = self._expr(node.value)
            self.state[node.target.id] = value
            return value
        if kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
            return self._comprehension(node)
        if kind is ast.Compare:
            self._expr(node.left)
            for comparator in node.comparators:
                self._expr(comparator)
            return NO_TAINT
        if kind is ast.UnaryOp:
            self._expr(node.operand)
            return NO_TAINT
        return NO_TAINT

    def _keyed_item(self, variable: str, key: str) -> Taint:
        explicit = f"{variable}.{key}"
        if explicit in self.state:
            return self.state[explicit]
        prefix = self.keyed[variable]
        item = Origin(f"{prefix}.{key}" if prefix else key)
        base = self.state.get(variable, NO_TAINT)
        if base:  # an item of a value already cleared (a contained path's .parent) stays cleared
            shared = frozenset.intersection(*(o.safe for o in base))
            item = replace(item, safe=shared, normalised=all(o.normalised for o in base))
        return (item,)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> Taint:
        saved = dict(self.state)
        try:
            for generator in node.generators:
                self._bind(generator.target, mark(self._expr(generator.iter)), generator.iter, ast.Expr(
                    generator.iter, lineno=getattr(generator.iter, "lineno", 0)))
                for condition in generator.ifs:
                    self._apply_guard(condition, True)
            if isinstance(node, ast.DictComp):
                return join(self._expr(node.key), self._expr(node.value))
            return self._expr(node.elt)
        finally:
            self.state = saved

    # -- calls -----------------------------------------------------------------------------------------------------
    def _call(self, node: ast.Call) -> Taint:  # noqa: C901 - one dispatch over call kinds
        written = dotted(node.func)
        name = self.ctx.canonical(written)
        # (Path(BASE) / x).read_text(): no dotted name, but the method still says what the call does
        last = node.func.attr if isinstance(node.func, ast.Attribute) else name.rsplit(".", 1)[-1]
        receiver_node = node.func.value if isinstance(node.func, ast.Attribute) else None
        receiver = self._expr(receiver_node) if receiver_node is not None else NO_TAINT
        args = [self._expr(a) for a in node.args]
        kwargs = {k.arg: self._expr(k.value) for k in node.keywords if k.arg}
        spread = join(*(self._expr(k.value) for k in node.keywords if not k.arg))
        self._sinks(node, name, last, receiver, args, kwargs)
        everything = join(*args, *kwargs.values(), spread)
        receiver_key = dotted(receiver_node) if receiver_node is not None else ""
        # fetched content: whatever an outsider can write (web pages, mail) becomes an input of its own
        if self._is_fetch(name, last, receiver_key):
            return (Origin(f"fetched:{written}", (_raw(node),)),)
        if name in CLEANING_CALLS or name.startswith(CLEANING_PREFIXES):
            return NO_TAINT
        if name in ("shlex.quote", "pipes.quote", "shlex.join"):
            return mark(everything, safe="shell")
        if name in ("os.path.basename", "posixpath.basename", "werkzeug.utils.secure_filename", "secure_filename"):
            return mark(everything, safe="path")
        if name in NORMALISERS:
            return mark(everything, normalised=True)
        if name in ("urllib.parse.quote", "urllib.parse.quote_plus", "quote", "quote_plus"):
            return mark(everything, safe="url")
        if name in ("urllib.request.Request", "Request", "request.Request") and (node.args or node.keywords):
            # the body and headers travel inside the request but do not choose where it goes
            url = kwargs.get("url", args[0] if args else NO_TAINT)
            rest = join(*args[1:], *(v for k, v in kwargs.items() if k != "url"), spread)
            return join(url, mark(rest, safe="url"))
        local = self._local_function(node, written)
        if local is not None:
            return self._apply_summary(node, local, args, kwargs)
        indirect = indirect_call(node)
        if indirect is not None and indirect[0] in self.ctx.functions:
            function, offset = indirect
            shifted = ast.Call(ast.Name(function, ast.Load()), node.args[offset + 1:], node.keywords,
                               lineno=node.lineno, col_offset=node.col_offset)
            return self._apply_summary(shifted, function, args[offset + 1:], kwargs)
        if receiver_node is not None:
            if last in CLEANING_METHODS:
                return NO_TAINT
            if last in ("resolve", "absolute", "expanduser") and receiver:
                return mark(receiver, normalised=True)
            if last == "relative_to" and receiver:
                # raises ValueError unless the normalised path is under the base: contained from here on
                subject = self._subject(receiver_node)
                if subject and self._normalised(subject):
                    self._sanitise(subject, "path")
                    return mark(receiver, safe="path")
            if last == "get" and isinstance(receiver_node, ast.Name) and receiver_node.id in self.keyed and receiver \
                    and node.args and constant_str(node.args[0]) is not None:
                return self._keyed_item(receiver_node.id, constant_str(node.args[0]))
            if last == "join" and isinstance(receiver_node, ast.Constant):
                literal = node.args and isinstance(node.args[0], (ast.List, ast.Tuple)) and any(
                    isinstance(e, ast.Constant) for e in node.args[0].elts)
                return mark(everything, spliced=bool(literal))
            if last == "format" and isinstance(receiver_node, ast.Constant):
                return mark(everything, spliced=True)
            if last == "joinpath":
                return mark(join(receiver, everything), spliced=True)
            if name in PATH_JOINS or name.endswith(".path.join"):
                return self._path_join(node, args)
            return join(receiver, everything)
        if name in PATH_JOINS:
            return self._path_join(node, args)
        if SANITISER_NAME.search(last) and everything:
            return NO_TAINT  # validate_path(p), ensure_within_root(p): an imported validator, trusted
        return everything

    def _path_join(self, node: ast.Call, args: list[Taint]) -> Taint:
        tainted = [a for a in args if a]
        return mark(join(*args), spliced=len(tainted) < len(args) or len(tainted) > 1)

    def _is_fetch(self, name: str, last: str, receiver_key: str) -> bool:
        first = name.split(".", 1)[0]
        if first in HTTP_MODULES and last in READ_VERBS:
            return True
        if name in ("urllib.request.urlopen", "urlopen"):
            return True
        kind = self.kinds.get(receiver_key, "")
        if kind == "http" and last in READ_VERBS:
            return True
        return kind == "mail" and last in ("fetch", "retr", "uid")

    def _local_function(self, node: ast.Call, written: str) -> str | None:
        if isinstance(node.func, ast.Name) and written in self.ctx.functions:
            return written
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and \
                (node.func.value.id in ("self", "cls") or node.func.value.id in self.ctx.instances) and \
                node.func.attr in self.ctx.functions:
            return node.func.attr
        return None

    def _apply_summary(self, node: ast.Call, function: str, args: list[Taint], kwargs: dict[str, Taint]) -> Taint:
        summary = self.ctx.summary(function, self.depth)
        everything = join(*args, *kwargs.values())
        if summary is None:
            return everything
        params = function_params(self.ctx.functions[function], skip_context=False)
        bound: dict[str, Taint] = {}
        arg_nodes: dict[str, ast.AST] = {}
        function_node = self.ctx.functions[function]
        vararg = params.index(function_node.args.vararg.arg) if function_node.args.vararg else -1
        for index, value in enumerate(args):
            if vararg >= 0 and index >= vararg:  # run_query(template, *values): extra arguments fill *values
                bound[f"#{vararg}"] = join(bound.get(f"#{vararg}", NO_TAINT), value)
            elif index < len(params):
                bound[f"#{index}"] = value
                arg_nodes[f"#{index}"] = node.args[index]
        for keyword in node.keywords:
            if keyword.arg in params:
                index = params.index(keyword.arg)
                bound[f"#{index}"] = kwargs.get(keyword.arg, NO_TAINT)
                arg_nodes[f"#{index}"] = keyword.value
        if not any(bound.values()) and not any(not o.source.startswith("#") for o in summary.returns) and not any(
                not f.source.startswith("#") for f in summary.flows):
            return NO_TAINT  # nothing tainted goes in and nothing fetched comes out
        call_step = _raw(node)
        for flow in summary.flows:
            for origin in self._map_origin(Origin(flow.source), bound, arg_nodes):
                if _group(flow.sink) in origin.safe or (flow.sink == "ssrf" and origin.source.startswith("fetched:")):
                    continue
                steps = _cap_steps(_rendered(origin.steps + (call_step,)) + flow.steps)
                self._add_flow(Flow(flow.sink, origin.source, flow.line, flow.call, steps,
                                    origin.spliced or flow.spliced, path=flow.path))
        returned = []
        for origin in summary.returns:
            for mapped in self._map_origin(origin, bound, arg_nodes):
                returned.append(replace(mapped, steps=_cap_steps(mapped.steps + origin.steps + (call_step,)),
                                        spliced=mapped.spliced or origin.spliced, safe=mapped.safe | origin.safe,
                                        normalised=mapped.normalised or origin.normalised))
        return join(*[(o,) for o in returned])

    def _map_origin(self, origin: Origin, bound: dict[str, Taint], arg_nodes: dict[str, ast.AST]) -> Taint:
        """A helper's ``#i`` / ``#i.key`` origin in terms of the caller's values."""
        source = origin.source
        if not source.startswith("#"):
            return (replace(origin, steps=()),)  # fetched inside the helper
        param, _, key = source.partition(".")
        value = bound.get(param, NO_TAINT)
        arg = arg_nodes.get(param)
        if key and isinstance(arg, ast.Name) and arg.id in self.keyed and value:
            return self._keyed_item(arg.id, key)
        return value

    def _flow(self, sink: str, call: ast.Call, taint: Taint) -> None:
        if not taint:
            return
        group = _group(sink)
        step = _raw(call)
        for origin in taint:
            if group in origin.safe:
                continue
            self._add_flow(Flow(sink, origin.source, call.lineno, dotted(call.func) or "call",
                                _cap_steps(_rendered(origin.steps + (step,))), origin.spliced))

    def _add_flow(self, flow: Flow) -> None:
        key = (flow.sink, flow.source, flow.line)
        if key in self._flow_keys or len(self.flows) >= MAX_FLOWS:
            return
        self._flow_keys.add(key)
        self.flows.append(flow)


INDIRECT_CALLERS = {"to_thread": 0, "run_sync": 0, "run_in_executor": 1, "submit": 0, "start_soon": 0}


def indirect_call(call: ast.Call) -> tuple[str, int] | None:
    """``asyncio.to_thread(fn, *args)``, ``anyio.to_thread.run_sync(fn, ...)``, ``loop.run_in_executor(None, fn, ...)``:
    (the function called, its position among the arguments)."""
    func = call.func
    last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    offset = INDIRECT_CALLERS.get(last)
    if offset is None or len(call.args) <= offset:
        return None
    target = call.args[offset]
    if isinstance(target, ast.Name):
        return target.id, offset
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
        return target.attr, offset
    return None


def _group(sink: str) -> str:
    return {"shell": "shell", "file-read": "path", "file-write": "path", "file-delete": "path", "ssrf": "url"}.get(
        sink, sink)


def _cap_steps(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    deduped: list[Step] = []
    for step in steps:
        if not deduped or deduped[-1] != step:
            deduped.append(step)
    if len(deduped) > MAX_STEPS:
        deduped = deduped[:2] + deduped[-(MAX_STEPS - 2):]
    return tuple(deduped)


def _join_states(*states: dict[str, Taint]) -> dict[str, Taint]:
    if len(states) == 1:
        return dict(states[0])
    merged: dict[str, Taint] = {}
    keys = sorted(set().union(*states))
    for key in keys:
        values = [s[key] for s in states if key in s]
        if len(values) < len(states):
            # missing in one branch: the value from before (taint of the base) still applies there
            merged[key] = join(*values) if any(values) else NO_TAINT
        else:
            merged[key] = join(*values)
    return merged


def _names(node: ast.AST) -> list[str]:
    """Variables an expression reads (not the functions it calls by bare name)."""
    found: list[str] = []
    stack = [node]
    while stack and len(found) < 50:
        current = stack.pop()
        if isinstance(current, ast.Name):
            found.append(current.id)
        elif isinstance(current, ast.Call):
            if not isinstance(current.func, ast.Name):
                stack.append(current.func)
            stack.extend(current.args)
            stack.extend(k.value for k in current.keywords)
        elif isinstance(current, (ast.Lambda, ast.FunctionDef)):
            continue
        else:
            stack.extend(ast.iter_child_nodes(current))
    return list(dict.fromkeys(found))


def _keyed_source(node: ast.AST, keyed: dict[str, str]) -> str:
    """The mapping input a value stays a mapping of: ``args = arguments or {}``, ``req = Model(**arguments)``."""
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Name) and node.id in keyed:
        return node.id
    if isinstance(node, ast.BoolOp):
        return next((v.id for v in node.values if isinstance(v, ast.Name) and v.id in keyed), "")
    if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Attribute) and node.func.attr == "get"):
        values = [*node.args, *(k.value for k in node.keywords if k.arg is None)]
        return next((v.id for v in values if isinstance(v, ast.Name) and v.id in keyed), "")
    return ""




def _case_values(pattern: ast.pattern) -> list[str]:
    if isinstance(pattern, ast.MatchValue):
        value = constant_str(pattern.value)
        return [value] if value is not None else []
    if isinstance(pattern, ast.MatchOr):
        return [v for p in pattern.patterns for v in _case_values(p)]
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        return _case_values(pattern.pattern)
    return []
