"""The low-level MCP SDK shapes of the Python tool model (python_flow.py): ``@server.list_tools()`` describing
``types.Tool`` objects (literal, in constants, built by a helper or a comprehension), ``@server.call_tool()``
dispatching on the tool name (``if name ==``, ``match name``, tables of handlers), resources and prompts.
A mixin of the model builder: it calls back ``_fill``, ``_flows_of_*``, ``_string`` and ``_docstring``."""

from __future__ import annotations

import ast

from triage.parsers.python_taint import dotted, function_params, indirect_call
from triage.parsers.tool_model import CodeServer, ToolDef

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class LowLevelSdk:
    def _lowlevel_tools(self) -> None:
        handlers: dict[tuple[str, str], FunctionNode] = {}
        for node in self.decorated:
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in (
                        "list_tools", "call_tool", "list_resources", "read_resource", "list_prompts", "get_prompt"):
                    receiver = dotted(target.value)
                    server = self.servers.get(receiver)
                    if server is None and receiver.split(".", 1)[0] in self.module.imports:
                        server = self._add_server(receiver, None, "mcp-lowlevel", node.lineno)
                    if server is not None:
                        handlers.setdefault((receiver, target.attr), node)
        for receiver in sorted({r for r, _h in handlers}):
            server = self.servers[receiver]
            self._lowlevel_server(server, {h: n for (r, h), n in handlers.items() if r == receiver})

    def _lowlevel_server(self, server: CodeServer, handlers: dict[str, FunctionNode]) -> None:
        specs = self._specs(handlers.get("list_tools"), "Tool")
        call_tool = handlers.get("call_tool")
        branches = self._dispatch(call_tool) if call_tool is not None else {}
        names = list(dict.fromkeys([s["name"] for s in specs] + list(branches)))
        by_name = {s["name"]: s for s in specs}
        for name in names:
            spec = by_name.get(name, {})
            branch = branches.get(name)
            line = spec.get("line") or (branch[0] if branch else call_tool.lineno if call_tool else server.line)
            tool = ToolDef("tool", name, self.path, line, "python", "mcp-lowlevel", spec.get("description", ""),
                           spec.get("description_line"), tuple(spec.get("params", ())), server.id)
            if branch is not None and call_tool is not None:
                _line, body, function = branch
                if function is not None:
                    self._fill(tool, [function], function, None)
                    tool.flows = self._flows_of_function(function, skip_context=True, keyed=True)
                else:
                    self._fill(tool, body, call_tool, None)
                    tool.flows = self._flows_of_branch(call_tool, name)
                if not tool.params:
                    tool.params = tuple(self._argument_keys(body if function is None else [function], call_tool))
            server.tools.append(tool)
        for spec in self._specs(handlers.get("list_resources"), "Resource"):
            tool = ToolDef("resource", spec["name"], self.path, spec["line"], "python", "mcp-lowlevel",
                           spec.get("description", ""), spec.get("description_line"), (), server.id,
                           spec.get("uri", ""))
            reader = handlers.get("read_resource")
            if reader is not None:
                self._fill(tool, [reader], reader, None)
            server.tools.append(tool)
        if not self._specs(handlers.get("list_resources"), "Resource") and "read_resource" in handlers:
            reader = handlers["read_resource"]
            tool = ToolDef("resource", reader.name, self.path, reader.lineno, "python", "mcp-lowlevel",
                           *self._docstring(reader), (), server.id)
            self._fill(tool, [reader], reader, None)
            server.tools.append(tool)
        for spec in self._specs(handlers.get("list_prompts"), "Prompt"):
            server.tools.append(ToolDef("prompt", spec["name"], self.path, spec["line"], "python", "mcp-lowlevel",
                                        spec.get("description", ""), spec.get("description_line"),
                                        tuple(spec.get("params", ())), server.id))

    def _specs(self, handler: FunctionNode | None, constructor: str) -> list[dict]:
        """``types.Tool(name=..., description=..., inputSchema=...)`` built in the handler, in module constants it
        returns, or in local helpers it calls."""
        if handler is None:
            return []
        found: list[dict] = []
        seen_nodes: set[int] = set()
        pending: list[tuple[ast.AST, int]] = [(handler, 0)]
        while pending:
            node, depth = pending.pop(0)
            if id(node) in seen_nodes or depth > 3:
                continue
            seen_nodes.add(id(node))
            for child in ast.walk(node):
                for spec in self._built_specs(child, constructor):
                    if all(s["name"] != spec["name"] for s in found):
                        found.append(spec)
                if isinstance(child, ast.Call) and dotted(child.func).rsplit(".", 1)[-1] == constructor:
                    spec = self._spec(child, constructor)
                    if spec and all(s["name"] != spec["name"] for s in found):
                        found.append(spec)
                elif isinstance(child, ast.Name) and child is not node:
                    if child.id in self.constants:
                        pending.append((self.constants[child.id], depth + 1))
                    elif child.id in self.functions and self.functions[child.id] is not handler:
                        pending.append((self.functions[child.id], depth + 1))
        return found

    def _built_specs(self, node: ast.AST, constructor: str) -> list[dict]:
        """Tools described through a helper (``tool("name", "desc", path="string")`` returning ``Tool(...)``) or a
        comprehension over a constant dict (``[Tool(name=n, description=d) for n, (d, props) in TOOLS.items()]``)."""
        specs: list[dict] = []
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and isinstance(node.elt, ast.Call) and \
                dotted(node.elt.func).rsplit(".", 1)[-1] == constructor and len(node.generators) == 1:
            generator = node.generators[0]
            iterated = generator.iter
            if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and \
                    iterated.func.attr == "items":
                table = self.constants.get(dotted(iterated.func.value))
                if isinstance(table, ast.Dict):
                    for key, value in list(zip(table.keys, table.values))[:200]:
                        if key is not None:
                            specs += self._spec_with(node.elt, constructor, _bind(generator.target, ast.Tuple(
                                [key, value], ast.Load())))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            builder = self.functions.get(node.func.id)
            inner = _returned_call(builder, constructor) if builder is not None else None
            if inner is not None:
                specs += self._spec_with(inner, constructor, _bind_call(builder, node), line=node.lineno)
        return specs

    def _spec_with(self, call: ast.Call, constructor: str, env: dict[str, ast.AST], line: int = 0) -> list[dict]:
        saved, self._env = self._env, env
        try:
            spec = self._spec(call, constructor)
        finally:
            self._env = saved
        if spec and line:
            spec["line"] = line
            spec["description_line"] = line if "description" in spec else None
        elif spec and "description" in spec:
            spec["line"] = spec["description_line"] = getattr(env.get("__line__"), "lineno", spec["line"])
        return [spec] if spec else []

    def _spec(self, call: ast.Call, constructor: str) -> dict | None:
        name = self._string(kwarg(call, "name") or (call.args[0] if call.args else None))
        uri = self._string(kwarg(call, "uri")) if constructor == "Resource" else ""
        if not name and not uri:
            return None
        spec: dict = {"name": name or uri, "line": call.lineno, "uri": uri or ""}
        description = kwarg(call, "description")
        if description is not None and self._string(description) is not None:
            spec["description"], spec["description_line"] = self._string(description), description.lineno
        schema = kwarg(call, "inputSchema") or kwarg(call, "input_schema")
        if schema is not None:
            spec["params"] = self._schema_params(schema)
        arguments = kwarg(call, "arguments")
        if isinstance(arguments, (ast.List, ast.Tuple)):
            spec["params"] = [self._string(kwarg(a, "name")) for a in arguments.elts
                              if isinstance(a, ast.Call) and self._string(kwarg(a, "name"))]
        return spec

    def _schema_params(self, schema: ast.AST, depth: int = 0) -> list[str]:
        if depth > 3:
            return []
        if isinstance(schema, ast.Name) and schema.id in self._env:
            return self._schema_params(self._env[schema.id], depth + 1)
        if isinstance(schema, ast.Name) and schema.id in self.constants:
            return self._schema_params(self.constants[schema.id], depth + 1)
        if isinstance(schema, ast.DictComp) and schema.generators:  # {k: {...} for k, t in props.items()}
            iterated = schema.generators[0].iter
            if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute) and \
                    iterated.func.attr == "items":
                source = iterated.func.value
                source = self._env.get(dotted(source)) or self.constants.get(dotted(source)) or source
                if isinstance(source, ast.Dict):
                    return [k for k in (self._string(k) for k in source.keys) if k]
        if isinstance(schema, ast.Dict):
            for key, value in zip(schema.keys, schema.values):
                if self._string(key) == "properties":
                    if isinstance(value, ast.Dict):
                        return [k for k in (self._string(k) for k in value.keys) if k]
                    return self._schema_params(value, depth + 1)
        if isinstance(schema, ast.Call) and isinstance(schema.func, ast.Attribute) and schema.func.attr in (
                "model_json_schema", "schema"):
            model = self.classes.get(dotted(schema.func.value).rsplit(".", 1)[-1])
            return model_fields(model) if model is not None else []
        return []

    def _dispatch(self, handler: FunctionNode) -> dict[str, tuple[int, list[ast.stmt], FunctionNode | None]]:
        """Tool name -> (line, branch body, handler function) for ``if name == "x"``, ``match name``, and dicts of
        name -> function."""
        params = function_params(handler, skip_context=True)
        if not params:
            return {}
        name_param = params[0]
        found: dict[str, tuple[int, list[ast.stmt], FunctionNode | None]] = {}
        for node in ast.walk(handler):
            if isinstance(node, ast.If):
                for tool in _compared_names(node.test, name_param):
                    found.setdefault(tool, (node.lineno, node.body, None))
            elif isinstance(node, ast.Match) and dotted(node.subject) == name_param:
                for case in node.cases:
                    for tool in _case_names(case.pattern):
                        found.setdefault(tool, (case.pattern.lineno, case.body, None))
            elif isinstance(node, (ast.Subscript, ast.Call)):
                table = self._dispatch_table(node, name_param)
                for tool, (line, function) in table.items():
                    found.setdefault(tool, (line, [], function))
        return found

    def _dispatch_table(self, node: ast.AST, name_param: str) -> dict[str, tuple[int, FunctionNode]]:
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript) and \
                dotted(node.value.slice) == name_param:
            table = node.value.value  # HANDLERS[name][0]
        elif isinstance(node, ast.Subscript) and dotted(node.slice) == name_param:
            table = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
                node.args and dotted(node.args[0]) == name_param:
            table = node.func.value
        else:
            return {}
        value = self.constants.get(dotted(table)) if isinstance(table, ast.Name) else None
        if value is None and isinstance(table, ast.Name):
            value = next((a.value for a in self.assigns if isinstance(a, ast.Assign) and
                          any(dotted(t) == table.id for t in a.targets) and isinstance(a.value, ast.Dict)), None)
        if not isinstance(value, ast.Dict):
            return {}
        result = {}
        for key, item in zip(value.keys, value.values):
            tool = self._string(key)
            if isinstance(item, (ast.Tuple, ast.List)) and item.elts:  # {"x": (handler, description, schema)}
                item = item.elts[0]
            elif isinstance(item, ast.Call):  # {"x": ToolSpec(handler=fn, ...)} / {"x": partial(fn, ...)}
                item = next((k.value for k in item.keywords if k.arg in ("handler", "fn", "func", "function",
                                                                         "callback", "impl")),
                            next((a for a in item.args if dotted(a) in self.functions), item))
            function = self.functions.get(dotted(item).rsplit(".", 1)[-1]) if tool else None
            if tool and function is not None:
                result[tool] = (key.lineno, function)
        return result

    def _argument_keys(self, nodes: list[ast.AST], handler: FunctionNode, mapping: str = "",
                       depth: int = 0) -> list[str]:
        params = function_params(handler, skip_context=True)
        mapping = mapping or (params[1] if len(params) > 1 else "arguments")
        keys: list[str] = []
        for root in nodes:
            for node in ast.walk(root):
                key = None
                if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                    key = self._string(node.slice) if node.value.id in (mapping, "args", "arguments") else None
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                        and isinstance(node.func.value, ast.Name) and node.func.value.id in (mapping, "args",
                                                                                            "arguments") and node.args:
                    key = self._string(node.args[0])
                if key and key not in keys:
                    keys.append(key)
                if isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id == mapping for a in node.args):
                    helper = local_callee(node, self.functions, self.context.instances)
                    inner = function_params(helper, skip_context=True) if helper is not None else []
                    if helper is not None and inner and helper is not handler and depth < 2:
                        keys += [k for k in self._argument_keys([helper], helper, inner[0], depth + 1)
                                 if k not in keys]
        return keys


def _bind(target: ast.AST, value: ast.AST) -> dict[str, ast.AST]:
    """Names a comprehension target takes from one constant entry: ``name, (_, desc, props)``."""
    if isinstance(target, ast.Name):
        return {target.id: value, "__line__": value}
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) and len(
            target.elts) == len(value.elts):
        env: dict[str, ast.AST] = {}
        for element, item in zip(target.elts, value.elts):
            env.update(_bind(element, item))
        env["__line__"] = value.elts[0] if value.elts else value
        return env
    return {}


def _returned_call(function: FunctionNode, constructor: str) -> ast.Call | None:
    for statement in function.body:
        if isinstance(statement, ast.Return) and isinstance(statement.value, ast.Call) and \
                dotted(statement.value.func).rsplit(".", 1)[-1] == constructor:
            return statement.value
    return None


def _bind_call(function: FunctionNode, call: ast.Call) -> dict[str, ast.AST]:
    """Parameters of a builder helper bound to the arguments of one call (``**props`` gets the extra keywords)."""
    params = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
    env: dict[str, ast.AST] = dict(zip(params, call.args))
    extra_keys, extra_values = [], []
    for keyword in call.keywords:
        if keyword.arg in params or keyword.arg in [a.arg for a in function.args.kwonlyargs]:
            env[keyword.arg] = keyword.value
        elif keyword.arg:
            extra_keys.append(ast.Constant(keyword.arg))
            extra_values.append(keyword.value)
    if function.args.kwarg is not None:
        env[function.args.kwarg.arg] = ast.Dict(extra_keys, extra_values)
    return env


def kwarg(call: ast.Call, name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def model_fields(model: ast.ClassDef) -> list[str]:
    return [s.target.id for s in model.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            and not s.target.id.startswith("_") and s.target.id != "model_config"
            and "ClassVar" not in dotted(s.annotation.value if isinstance(s.annotation, ast.Subscript) else s.annotation)]


def _compared_names(test: ast.AST, variable: str) -> list[str]:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return [n for v in test.values for n in _compared_names(v, variable)]
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return []
    left, right, op = test.left, test.comparators[0], test.ops[0]
    if isinstance(op, ast.Eq):
        if dotted(right) == variable:
            left, right = right, left
        if dotted(left) == variable and isinstance(right, ast.Constant) and isinstance(right.value, str):
            return [right.value]
    if isinstance(op, ast.In) and dotted(left) == variable and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in right.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _case_names(pattern: ast.pattern) -> list[str]:
    if isinstance(pattern, ast.MatchValue) and isinstance(pattern.value, ast.Constant) and isinstance(
            pattern.value.value, str):
        return [pattern.value.value]
    if isinstance(pattern, ast.MatchOr):
        return [n for p in pattern.patterns for n in _case_names(p)]
    return []


def local_callee(call: ast.Call, functions: dict[str, FunctionNode],
                  instances: set[str] = frozenset()) -> FunctionNode | None:
    indirect = indirect_call(call)
    if indirect is not None and indirect[0] in functions:
        return functions[indirect[0]]
    func = call.func
    if isinstance(func, ast.Name):
        return functions.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
            func.value.id in ("self", "cls") or func.value.id in instances):
        return functions.get(func.attr)
    return None
