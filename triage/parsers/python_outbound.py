"""Whether a ``urllib.request.Request(url, data=..., method=...)`` sends data, read with ``ast``.

The standard library builds the request first and ``urlopen`` sends it: the request object says whether it is a read
(GET, no body) or a send (a body, or a writing method). A shared helper such as ``_call(method, path, body=None)``
does both, so a helper's request is judged with what each call site binds (``_call("GET", ...)`` reads,
``_call("POST", "/gists", payload)`` sends); what stays unknown counts as a possible send.
"""

from __future__ import annotations

import ast

from triage.parsers.python_sinks import URL_WITH_HOST, constant_str

REQUEST_CONSTRUCTORS = frozenset({"urllib.request.Request", "Request", "request.Request", "urllib2.Request"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNKNOWN = object()
Bindings = dict[str, ast.AST]  # helper parameter -> the constant a call site passes (or its default)


def bindings(function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> Bindings:
    """Parameters of ``function`` bound to constants at ``call`` (explicit constants, or the defaults it keeps)."""
    args = function.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args] if a.arg not in ("self", "cls")]
    defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    passed: dict[str, ast.AST] = {}
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return {}  # f(*args) / f(**kwargs): nothing is known
    for name, value in zip(positional, call.args):
        passed[name] = value
    for keyword in call.keywords:
        passed[keyword.arg] = keyword.value
    bound: Bindings = {}
    for name in [*positional, *(a.arg for a in args.kwonlyargs)]:
        value = passed.get(name, defaults.get(name))
        if isinstance(value, ast.Constant):
            bound[name] = value
    return bound


def memo_key(bound: Bindings) -> tuple:
    return tuple(sorted((name, repr(node.value)) for name, node in bound.items()))


def _value(node: ast.AST | None, bound: Bindings) -> object:
    """A constant the expression certainly evaluates to, else _UNKNOWN."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in bound:
        return bound[node.id].value
    if isinstance(node, ast.IfExp):
        test = _truth(node.test, bound)
        if test is not None:
            return _value(node.body if test else node.orelse, bound)
    return _UNKNOWN


def _truth(test: ast.AST, bound: Bindings) -> bool | None:
    """``x is None`` / ``x is not None`` / ``x`` / ``not x`` for a bound x; None when it cannot be told."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _truth(test.operand, bound)
        return None if inner is None else not inner
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.IsNot)) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        value = _value(test.left, bound)
        if value is _UNKNOWN:
            return None
        return (value is None) == isinstance(test.ops[0], ast.Is)
    value = _value(test, bound)
    return None if value is _UNKNOWN else bool(value)


def request_sends(call: ast.Call, bound: Bindings) -> bool:
    """A ``Request(url, data, headers, origin_req_host, unverifiable, method)`` that carries a body or a writing
    method (as far as the bindings tell; unknown counts as a send)."""
    data = next((k.value for k in call.keywords if k.arg == "data"), call.args[1] if len(call.args) > 1 else None)
    method_node = next((k.value for k in call.keywords if k.arg == "method"),
                       call.args[5] if len(call.args) > 5 else None)
    method = _value(method_node, bound) if method_node is not None else None
    if isinstance(method, str):
        return method.upper() not in READ_METHODS
    body = _value(data, bound) if data is not None else None
    return body is _UNKNOWN or body is not None


def url_prefix(url: ast.AST | None, constants: dict[str, ast.AST]) -> str:
    """The literal text a URL starts with: a constant, an f-string's head, ``API + path`` (module constants read)."""
    if isinstance(url, ast.JoinedStr) and url.values:
        url = url.values[0].value if isinstance(url.values[0], ast.FormattedValue) else url.values[0]
    elif isinstance(url, ast.BinOp) and isinstance(url.op, ast.Add):
        url = url.left
    if isinstance(url, ast.Name) and url.id in constants:
        url = constants[url.id]
    return constant_str(url) or ""


def fixed_host(url: ast.AST | None, constants: dict[str, ast.AST]) -> bool:
    """The URL starts with a literal ``scheme://host`` (a module constant counts): the model cannot choose it."""
    return bool(URL_WITH_HOST.match(url_prefix(url, constants)))
