"""The MCP tool model read from Python code (``ast`` only, never imported): servers, tools, resources, prompts, and
agent-framework tools, each with its description, parameters, effects, input-to-sink flows and sensitive data.

Shapes: FastMCP (``@mcp.tool()``, ``@mcp.resource(uri)``, ``@mcp.prompt()``, ``mcp.add_tool``), the low-level SDK
(``@server.list_tools()`` describing ``types.Tool`` objects and ``@server.call_tool()`` dispatching on the tool
name), LangChain/CrewAI/OpenAI Agents function tools and ``BaseTool`` classes, and SQL agents that can write.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from triage.parsers.python_code import (DESTRUCTIVE_NAME, EMAIL_NAME, GATE_KWARGS, MESSAGE_NAME, PAYMENT_NAME, PyEffect,
                                        _ModuleVisitor, _nodes, call_effects, plain_function_tools)
from triage.parsers.python_lowlevel import LowLevelSdk, kwarg, local_callee, model_fields
from triage.parsers.python_outbound import (REQUEST_CONSTRUCTORS, Bindings, bindings, fixed_host, memo_key,
                                            request_sends, url_prefix)
from triage.parsers.python_sensitive import sensitive_data
from triage.parsers.python_taint import (HTTP_CLIENT_FACTORIES, Analyser, ModuleContext, Origin, client_params,
                                         dotted, function_params, is_whole_environ)
from triage.parsers.tool_model import CodeServer, Effect, Flow, ToolDef

if TYPE_CHECKING:
    from triage.parsers.python_imports import ImportedCode

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
MAX_EFFECT_DEPTH = 3
MAX_EFFECTS = 40
HUMAN_GATE = re.compile(
    r"^(confirm\w*|ask_(user|human|for_\w+)|request_(approval|confirmation|permission|human\w*)|"
    r"get_(user_)?(approval|confirmation)|human_(approval|review|confirm\w*)|interrupt|elicit|await_approval|"
    r"wait_for_approval|require_approval|prompt_user|input)$")
TRANSPORTS = {"stdio": "stdio", "sse": "sse", "streamable-http": "http", "streamable_http": "http", "http": "http"}
FRAMEWORK_OF_MODULE = (("langchain", "langchain"), ("langgraph", "langchain"), ("crewai", "crewai"),
                       ("agents", "openai-agents"), ("smolagents", "smolagents"), ("strands", "strands"),
                       ("agno", "agno"), ("llama_index", "llama-index"), ("pydantic_ai", "pydantic-ai"))
SQL_AGENT_CALLS = frozenset({"create_sql_agent", "SQLDatabaseToolkit", "QuerySQLDataBaseTool", "QuerySQLDatabaseTool"})
READ_ONLY_SQL = re.compile(r"\bREAD\s+ONLY\b|\bquery_only\b", re.I)
READ_ONLY_URI = re.compile(r"(mode=ro\b|[?&]immutable=1|read[_-]?only|readonly|ApplicationIntent=ReadOnly)", re.I)


MODEL_IMPORTS = ("mcp", "fastmcp", "langchain", "langgraph", "crewai", "agents", "smolagents", "pydantic_ai",
                 "llama_index", "strands", "agno")


def build_model(tree: ast.Module, visitor: _ModuleVisitor) -> None:
    """Fill ``module.servers`` and ``module.code_tools``; work is bounded by the tool bodies and their helpers.

    A module that defines no tool and imports no MCP or agent framework is skipped without a second walk."""
    module = visitor.module
    if not module.tools and not any(m.startswith(MODEL_IMPORTS) or (n in ("mcp", "server", "app") and level)
                                    for n, (m, level, _i) in module.imports.items()):
        return
    _ModelBuilder(tree, visitor).build()


class _ModelBuilder(LowLevelSdk):
    def __init__(self, tree: ast.Module, visitor: _ModuleVisitor, imported: ImportedCode | None = None) -> None:
        self.tree = tree
        self.module = visitor.module
        self.path = visitor.module.path
        self.functions: dict[str, FunctionNode] = {}
        # module-level functions first, then by line: a bare name refers to the module's own function
        for node in sorted(visitor.functions, key=lambda n: (n.col_offset > 0, n.lineno, n.col_offset)):
            self.functions.setdefault(node.name, node)
        self.classes: dict[str, ast.ClassDef] = {}
        for node in sorted(visitor.classes, key=lambda n: (n.lineno, n.col_offset)):
            self.classes.setdefault(node.name, node)
        if imported is not None:  # helpers and classes of other modules of the tree: the module's own names win
            for name, function in imported.functions.items():
                self.functions.setdefault(name, function)
            for name, cls in imported.classes.items():
                self.classes.setdefault(name, cls)
        self.assigns = sorted(visitor.assigns, key=lambda n: (n.lineno, n.col_offset))
        self.calls = sorted(visitor.calls, key=lambda n: (n.lineno, n.col_offset))
        self.decorated = sorted((n for n in visitor.functions if n.decorator_list), key=lambda n: n.lineno)
        self._loops = [n for n in tree.body if isinstance(n, ast.For)]  # module-level registration loops
        self._env: dict[str, ast.AST] = {}  # names bound while reading a Tool(...) built by a helper or loop
        self.constants: dict[str, ast.AST] = {}
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(
                    statement.targets[0], ast.Name):
                self.constants[statement.targets[0].id] = statement.value
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
                self.constants[statement.target.id] = statement.value
        self.context = ModuleContext(self.functions, self.constants, self.module.imports)
        self.context.instances = {name for name, value in self.constants.items() if isinstance(value, ast.Call)
                                  and dotted(value.func) in self.classes}
        if imported is not None:
            self.context.instances |= imported.modules  # helpers.fetch(x) for ``from . import helpers``
            self.context.foreign = imported.origin
        # module-level HTTP clients (http = httpx.Client(base_url=...)) and helpers that return one
        self._client_makers = {name for name, f in self.functions.items() if _returns_client(f)}
        self._module_clients = {name: "http" for name, value in self.constants.items()
                                if isinstance(value, ast.Call) and (dotted(value.func) in HTTP_CLIENT_FACTORIES or
                                                                    dotted(value.func) in self._client_makers)}
        self._effects_memo: dict[str, list[PyEffect]] = {}
        self._walked_constants: dict[str, list[ast.AST]] = {}
        self.servers: dict[str, CodeServer] = {}
        self._read_only_module: bool | None = None
        self._request_builders: dict[int, bool] = {}  # id(helper) -> it builds urllib requests
        self._served_factories: set[int] = set()  # id of Tool.from_function(...) calls a server's add_tool takes

    # -- driver ------------------------------------------------------------------------------------------------------
    def build(self) -> None:
        self._find_servers()
        self._fastmcp_tools()
        self._lowlevel_tools()
        self._framework_tools()
        self._sql_agents()
        for tool in [t for server in self.servers.values() for t in server.tools] + self.module.code_tools:
            tool.effects += self._any_statement_effects(tool)
        transport = self._transports()
        entry = f"python {self.path}" if self._runs_as_main() else ""
        for key in sorted(self.servers, key=lambda k: (self.servers[k].line, k)):
            server = self.servers[key]
            server.transport = transport.get(key) or transport.get("*") or (
                "stdio" if server.framework == "mcp-lowlevel" and transport.get("stdio-module") else "unknown")
            server.entry = entry if server.transport != "unknown" or entry else ""
            server.tools.sort(key=lambda t: (t.line, t.kind, t.name))
            self.module.servers.append(server)
        self.module.code_tools.sort(key=lambda t: (t.line, t.name))

    # -- servers -----------------------------------------------------------------------------------------------------
    def _find_servers(self) -> None:
        for node in self.assigns:
            value = node.value
            if isinstance(value, ast.Await):
                value = value.value
            target = node.targets[0] if isinstance(node, ast.Assign) and node.targets else getattr(node, "target", None)
            if not isinstance(value, ast.Call) or target is None or not dotted(target):
                continue
            framework = self._server_framework(value)
            if framework:
                self._add_server(dotted(target), value, framework)

    def _server_framework(self, call: ast.Call) -> str:
        written = dotted(call.func)
        name = self.context.canonical(written)
        last = name.rsplit(".", 1)[-1]
        if last == "FastMCP" or last == "MCPServer" and name.startswith("mcp."):  # MCPServer: FastMCP in the v2 SDK
            return "fastmcp"
        if last in ("Server", "LowLevelServer") and name.startswith("mcp."):
            return "mcp-lowlevel"
        return ""

    def _add_server(self, variable: str, call: ast.Call | None, framework: str, line: int = 0) -> CodeServer:
        label = ""
        if call is not None:
            label_node = kwarg(call, "name") or (call.args[0] if call.args else None)
            label = self._string(label_node) or ""
        name = label or variable.rsplit(".", 1)[-1]
        server_id = f"{self.path}#{name}"
        if any(s.id == server_id for s in self.servers.values()):
            server_id = f"{server_id}@{call.lineno if call is not None else line}"
        server = CodeServer(server_id, name, self.path, call.lineno if call is not None else line, "python", framework)
        self.servers[variable] = server
        return server

    def _server_for(self, receiver: str, line: int) -> CodeServer | None:
        """The server a decorator's receiver names; an imported ``mcp``/``server`` object becomes this file's server."""
        if receiver in self.servers:
            return self.servers[receiver]
        root = receiver.split(".", 1)[0]
        imported = self.module.imports.get(root)
        if imported and "." not in receiver and (receiver in ("mcp", "server", "app", "mcp_server") or
                                                 receiver.endswith("mcp")):
            return self._add_server(receiver, None, "fastmcp", line)
        return None

    # -- FastMCP -----------------------------------------------------------------------------------------------------
    def _fastmcp_tools(self) -> None:
        for node in self.decorated:
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if not isinstance(target, ast.Attribute) or target.attr not in ("tool", "resource", "prompt"):
                    continue
                server = self._server_for(dotted(target.value), node.lineno)
                if server is None or server.framework != "fastmcp":
                    continue
                call = decorator if isinstance(decorator, ast.Call) else None
                server.tools.append(self._fastmcp_tool(node, target.attr, call, server))
                break
        for call in self.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "add_tool" and call.args:
                server = self.servers.get(dotted(func.value))
                # add_tool(Tool.from_function(fn, name=..., description=...)): the inner call names the tool
                inner = call.args[0] if isinstance(call.args[0], ast.Call) else call
                for function in self._functions_named_by(call.args[0], call) if server is not None else []:
                    self._served_factories.add(id(inner))
                    tool = self._fastmcp_tool(function, "tool", inner, server, positional_name=False)
                    tool.line = call.lineno if len(self._functions_named_by(call.args[0], call)) == 1 else \
                        function.lineno
                    server.tools.append(tool)
            elif isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and func.func.attr == "tool" \
                    and call.args:  # mcp.tool(name="x")(function)
                server = self.servers.get(dotted(func.func.value))
                function = self.functions.get(dotted(call.args[0]))
                if server is not None and function is not None and function not in self.decorated:
                    tool = self._fastmcp_tool(function, "tool", func, server)
                    tool.line = call.lineno
                    server.tools.append(tool)

    def _functions_named_by(self, node: ast.AST, call: ast.Call) -> list[FunctionNode]:
        """``add_tool(fn)``, ``add_tool(obj.method)``, ``add_tool(Tool.from_function(fn, ...))``, or
        ``for method in (a.x, a.y): add_tool(method)``."""
        if isinstance(node, ast.Call) and dotted(node.func).rsplit(".", 1)[-1] == "from_function" and (
                node.args or kwarg(node, "fn")):
            node = kwarg(node, "fn") or node.args[0]
        direct = self.functions.get(dotted(node).rsplit(".", 1)[-1]) if dotted(node) else None
        if direct is not None:
            return [direct]
        if not isinstance(node, ast.Name):
            return []
        for loop in self._loops:
            if isinstance(loop.target, ast.Name) and loop.target.id == node.id and \
                    loop.lineno <= call.lineno <= (loop.end_lineno or loop.lineno) and \
                    isinstance(loop.iter, (ast.Tuple, ast.List)):
                found = [self.functions.get(dotted(e).rsplit(".", 1)[-1]) for e in loop.iter.elts]
                return [f for f in found if f is not None]
        return []

    def _fastmcp_tool(self, node: FunctionNode, kind: str, call: ast.Call | None, server: CodeServer, *,
                      positional_name: bool = True) -> ToolDef:
        name, uri = node.name, ""
        description, description_line = self._docstring(node)
        if call is not None:
            first = self._string(call.args[0]) if call.args and positional_name else None
            if kind == "resource":
                uri = first or self._string(kwarg(call, "uri")) or ""
                name = self._string(kwarg(call, "name")) or node.name
            else:
                name = first or self._string(kwarg(call, "name")) or node.name
            explicit = kwarg(call, "description")
            if explicit is not None and self._string(explicit) is not None:
                description, description_line = self._string(explicit) or "", explicit.lineno
        params = tuple(function_params(node, skip_context=True))
        tool = ToolDef(kind, name, self.path, node.lineno, "python", server.framework, description, description_line,
                       params, server.id, uri)
        self._fill(tool, [node], node, call)
        if kind != "prompt":
            tool.flows = self._flows_of_function(node, skip_context=True)
        return tool

    # -- agent-framework tools ---------------------------------------------------------------------------------------
    def _framework(self, imported_name: str, default: str) -> str:
        module = self.module.imports.get(imported_name, ("", 0, ""))[0]
        for prefix, framework in FRAMEWORK_OF_MODULE:
            if module.split(".", 1)[0].startswith(prefix):
                return framework
        return default

    def _framework_tools(self) -> None:
        named: set[str] = set()
        for node in self.decorated:
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                written = dotted(target)
                last = written.rsplit(".", 1)[-1]
                if last not in ("tool", "function_tool", "tool_plain") or (
                        "." in written and not self._framework_receiver(written)):
                    continue
                framework = "openai-agents" if last == "function_tool" else self._framework(
                    written.split(".", 1)[0], "langchain")
                if "." in written:
                    framework = "pydantic-ai"
                call = decorator if isinstance(decorator, ast.Call) else None
                name = node.name
                description, description_line = self._docstring(node)
                if call is not None:
                    name = self._string(call.args[0]) if call.args and self._string(call.args[0]) else (
                        self._string(kwarg(call, "name_override")) or self._string(kwarg(call, "name")) or name)
                    explicit = kwarg(call, "description_override") or kwarg(call, "description")
                    if explicit is not None and self._string(explicit) is not None:
                        description, description_line = self._string(explicit) or "", explicit.lineno
                tool = ToolDef("tool", name, self.path, node.lineno, "python", framework, description,
                               description_line, tuple(function_params(node, skip_context=True)))
                self._fill(tool, [node], node, call)
                tool.flows = self._flows_of_function(node, skip_context=True)
                self.module.code_tools.append(tool)
                named.add(node.name)
                break
        for node in self.classes.values():
            bases = {dotted(b).rsplit(".", 1)[-1] for b in node.bases}
            if bases & {"BaseTool", "StructuredTool"} or ("Tool" in bases and self._framework("Tool", "")):
                self._class_tool(node)
        for call in self.calls:
            last = dotted(call.func).rsplit(".", 1)[-1]
            if id(call) in self._served_factories:
                continue  # a FastMCP Tool.from_function(...) the server adds: an MCP tool, already read
            if last == "from_defaults" and dotted(call.func).endswith("FunctionTool.from_defaults"):
                last = "from_function"  # LlamaIndex: FunctionTool.from_defaults(fn=multiply)
            if last not in ("Tool", "StructuredTool", "FunctionTool", "from_function"):
                continue
            func = kwarg(call, "func") or kwarg(call, "fn") or (
                call.args[1] if last == "Tool" and len(call.args) > 1 else call.args[0] if call.args and last != "Tool"
                else None)
            reference = dotted(func) if func is not None else ""
            function = self.functions.get(reference.rsplit(".", 1)[-1]) if reference else None
            name = self._string(kwarg(call, "name") or (call.args[0] if last == "Tool" and call.args else None))
            explicit = kwarg(call, "description") or (call.args[2] if last == "Tool" and len(call.args) > 2 else None)
            framework = self._framework(dotted(call.func).split(".", 1)[0], "langchain")
            if function is None and reference and reference.split(".", 1)[0] in self.module.imports:
                text = self._string(explicit) if explicit is not None else None
                self.module.external_tools.append((
                    reference.split(".", 1)[0], reference.rsplit(".", 1)[-1], name or "", call.lineno, framework,
                    text or "", explicit.lineno if text is not None else None))
                continue
            if function is None or function.name in named:
                continue
            description, description_line = self._docstring(function)
            if explicit is not None and self._string(explicit) is not None:
                description, description_line = self._string(explicit) or "", explicit.lineno
            tool = ToolDef("tool", name or function.name, self.path, call.lineno, "python", framework, description,
                           description_line, tuple(function_params(function, skip_context=True)))
            self._fill(tool, [function], function, None)
            tool.flows = self._flows_of_function(function, skip_context=True)
            self.module.code_tools.append(tool)
            named.add(function.name)
        for function, framework in plain_function_tools(self.module, self.functions):
            if function.name in named:
                continue
            description, description_line = self._docstring(function)
            tool = ToolDef("tool", function.name, self.path, function.lineno, "python",
                           self._framework("Agent", "agent") if framework == "agent" else framework, description,
                           description_line, tuple(function_params(function, skip_context=True)))
            self._fill(tool, [function], function, None)
            tool.flows = self._flows_of_function(function, skip_context=True)
            self.module.code_tools.append(tool)
            named.add(function.name)

    def _framework_receiver(self, written: str) -> bool:
        """``@agent.tool`` of a pydantic-ai Agent (not an MCP server receiver)."""
        receiver = written.rsplit(".", 1)[0]
        if receiver in self.servers:
            return False
        return any(dotted(t) == receiver and isinstance(a.value, ast.Call) and
                   dotted(a.value.func).rsplit(".", 1)[-1] == "Agent"
                   for a in self.assigns if isinstance(a, ast.Assign) for t in a.targets)

    def _class_tool(self, node: ast.ClassDef) -> None:
        attributes: dict[str, ast.AST] = {}
        methods: dict[str, FunctionNode] = {}
        for statement in node.body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        attributes[target.id] = statement.value
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
                attributes[statement.target.id] = statement.value
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                methods[statement.name] = statement
        run = methods.get("_run") or methods.get("_arun") or methods.get("run") or methods.get("forward")
        name = self._string(attributes.get("name")) or node.name
        description_node = attributes.get("description")
        description = self._string(description_node) if description_node is not None else None
        if description is None:
            description, description_line = self._docstring(node)
        else:
            description_line = description_node.lineno
        schema = attributes.get("args_schema")
        model = self.classes.get(dotted(schema).rsplit(".", 1)[-1]) if schema is not None else None
        params = model_fields(model) if model is not None else (
            function_params(run, skip_context=True) if run is not None else [])
        framework = self._framework(next((dotted(b).split(".", 1)[0] for b in node.bases), ""), "langchain")
        tool = ToolDef("tool", name, self.path, node.lineno, "python", framework, description, description_line,
                       tuple(params))
        if run is not None:
            self._fill(tool, [run], run, None)
            tool.flows = self._flows_of_function(run, skip_context=True)
        self.module.code_tools.append(tool)

    def _sql_agents(self) -> None:
        databases: dict[str, tuple[bool, int]] = {}  # variable -> (read-only, line)
        for node in self.assigns:
            value = node.value
            target = node.targets[0] if isinstance(node, ast.Assign) and node.targets else getattr(node, "target", None)
            if isinstance(value, ast.Call) and target is not None:
                last = dotted(value.func).rsplit(".", 1)[-1]
                if last in ("from_uri", "SQLDatabase", "create_engine"):
                    databases[dotted(target)] = (self._read_only(value, databases), value.lineno)
        for call in self.calls:
            last = dotted(call.func).rsplit(".", 1)[-1]
            if last not in SQL_AGENT_CALLS:
                continue
            db = kwarg(call, "db") or next((a for a in call.args if dotted(a) in databases), None)
            read_only = False
            if db is not None:
                if dotted(db) in databases:
                    read_only = databases[dotted(db)][0]
                elif isinstance(db, ast.Call):
                    read_only = self._read_only(db, databases)
            if read_only:
                continue
            tool = ToolDef("tool", last, self.path, call.lineno, "python", "langchain",
                           "Runs SQL the model writes against the database", None, ("query",))
            tool.effects = [Effect("database-write", call.lineno, f"{last}(...) with a database that accepts writes")]
            self.module.code_tools.append(tool)

    def _any_statement_effects(self, tool: ToolDef) -> list[Effect]:
        """A tool that executes whatever SQL text it is given (the input reaches ``execute`` whole) can write, alter
        and drop, unless the module opens its database read-only."""
        if any(e.kind in ("database-write", "database-drop") for e in tool.effects):
            return []
        whole = sorted({(f.line, f.call) for f in tool.flows if f.sink == "sql" and not f.spliced and
                        not f.source.startswith("fetched:")})
        if not whole or self._opens_read_only():
            return []
        line, call = whole[0]
        path = next((f.path for f in tool.flows if (f.line, f.call) == (line, call)), "")
        return [Effect("database-write", line, f"{call}(<any statement the input gives>)", path=path)]

    def _opens_read_only(self) -> bool:
        """Some string or keyword of the module makes a connection or transaction read-only (``mode=ro``,
        ``SET TRANSACTION READ ONLY``, ``postgresql_readonly=True``, ``readonly=True``)."""
        if self._read_only_module is None:
            self._read_only_module = False
            for node in _nodes(self.tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                        READ_ONLY_URI.search(node.value) or READ_ONLY_SQL.search(node.value))) or (
                        isinstance(node, ast.keyword) and node.arg and "readonly" in node.arg.replace("_", "").lower()
                        and isinstance(node.value, ast.Constant) and node.value.value is True):
                    self._read_only_module = True
                    break
        return self._read_only_module

    def _read_only(self, call: ast.Call, databases: dict[str, tuple[bool, int]]) -> bool:
        """A URI or engine option that makes the connection read-only (``include_tables`` does not)."""
        for node in ast.walk(call):
            text = self._string(node) if isinstance(node, (ast.Constant, ast.Name, ast.JoinedStr)) else None
            if text and READ_ONLY_URI.search(text):
                return True
            if isinstance(node, ast.Name) and node.id in databases and databases[node.id][0]:
                return True
            if isinstance(node, ast.keyword) and node.arg and "readonly" in node.arg.replace("_", "").lower():
                return isinstance(node.value, ast.Constant) and bool(node.value.value)
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if key is not None and "readonly" in (self._string(key) or "").replace("_", "").lower() and \
                            isinstance(value, ast.Constant) and value.value:
                        return True
        return False

    # -- what a tool does --------------------------------------------------------------------------------------------
    def _fill(self, tool: ToolDef, roots: list[ast.AST], function: ast.AST, decorator: ast.Call | None) -> None:
        nodes = [n for root in roots for n in _nodes(root)]  # one walk serves effects and the human gate
        effects = self._effects(nodes, roots, 0)
        tool.effects = [Effect(e.kind, e.line, e.detail, e.kind in ("api-read", "api-write"), e.path) for e in effects]
        tool.effects += _named_effects(tool, getattr(function, "name", ""), {e.kind for e in effects})
        tool.gated = self._gated(nodes, decorator)
        tool.sensitive = sensitive_data(nodes, self.constants, self._walked_constants)

    def _effects(self, nodes: list[ast.AST], roots: list[ast.AST], depth: int,
                 bound: Bindings | None = None) -> list[PyEffect]:
        found: list[PyEffect] = []
        environ, clients = _local_bindings(nodes, self._client_makers)
        clients = clients | frozenset(self._module_clients)
        hosts = self._request_hosts(nodes, bound or {})
        for node in nodes:
            if type(node) is not ast.Call:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and call_effects(func.value):
                continue  # subprocess.run(...).stdout.decode(): the inner call is the effect
            effects = call_effects(node, environ, clients, bound=bound, constants=self.constants)
            sent = node.args[0] if node.args and isinstance(node.args[0], ast.Name) else None
            inline = node.args[0] if node.args and isinstance(node.args[0], ast.Call) and \
                dotted(node.args[0].func) in REQUEST_CONSTRUCTORS else None
            host = None
            if inline is not None:
                url = kwarg(inline, "url") or (inline.args[0] if inline.args else None)
                host = "" if request_sends(inline, bound or {}) else (
                    url_prefix(url, self.constants)[:120] if fixed_host(url, self.constants) else None)
            elif sent is not None and sent.id in hosts:
                host = hosts[sent.id]
            if host is not None and dotted(func).rsplit(".", 1)[-1] == "urlopen":
                # urlopen(request) of a request built for one fixed API reads that API, not any web page; the answer
                # to a request that sends is no read at all (its Request(...) is the effect)
                effects = [e for e in effects if e.kind != "web-fetch"] + (
                    [PyEffect("api-read", e.line, f"{dotted(func)}({host})") for e in effects
                     if e.kind == "web-fetch"] if host else [])
            found.extend(effects)
            helper = local_callee(node, self.functions, self.context.instances)
            if helper is not None and depth < MAX_EFFECT_DEPTH and helper not in roots:
                bound_here = bindings(helper, node) if self._builds_requests(helper) else {}
                found.extend(self._helper_effects(helper, depth + 1, bound_here))
        unique = sorted(set(found), key=lambda e: (e.line, e.kind, e.detail))
        return unique[:MAX_EFFECTS]

    def _builds_requests(self, helper: FunctionNode) -> bool:
        """Whether a helper builds urllib requests: only then do its call sites' constants change its effects."""
        key = id(helper)
        if key not in self._request_builders:
            self._request_builders[key] = any(type(n) is ast.Call and dotted(n.func) in REQUEST_CONSTRUCTORS
                                              for n in _nodes(helper))
        return self._request_builders[key]

    def _request_hosts(self, nodes: list[ast.AST], bound: Bindings) -> dict[str, str]:
        """Locals bound to ``urllib.request.Request(url, ...)`` whose URL starts with a fixed host: name -> host, or
        name -> "" when the request sends (with what the call site binds)."""
        found = {}
        for node in nodes:
            if type(node) is ast.Assign and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and \
                    isinstance(node.value, ast.Call) and dotted(node.value.func) in REQUEST_CONSTRUCTORS:
                url = kwarg(node.value, "url") or (node.value.args[0] if node.value.args else None)
                if request_sends(node.value, bound):
                    found[node.targets[0].id] = ""
                elif fixed_host(url, self.constants):
                    found[node.targets[0].id] = url_prefix(url, self.constants)[:120]
        return found

    def _helper_effects(self, helper: FunctionNode, depth: int, bound: Bindings) -> list[PyEffect]:
        # per helper and per constants its call site passes (_call("GET", ...) reads, _call("POST", ...) sends)
        key = f"{helper.name}@{helper.lineno}@{id(helper)}{memo_key(bound)}"
        if key not in self._effects_memo:
            self._effects_memo[key] = []  # a recursive helper sees itself as doing nothing more
            found = self._effects(list(_nodes(helper)), [helper], depth, bound)
            path = self.context.foreign.get(id(helper))
            self._effects_memo[key] = [e if e.path or not path else replace(e, path=path) for e in found]
        return self._effects_memo[key]

    def _gated(self, nodes: list[ast.AST], decorator: ast.Call | None) -> bool:
        if decorator is not None and any(k.arg in GATE_KWARGS and not (
                isinstance(k.value, ast.Constant) and not k.value.value) for k in decorator.keywords):
            return True
        for node in nodes:
            if type(node) is ast.Call:
                written = dotted(node.func)
                if HUMAN_GATE.match(written.rsplit(".", 1)[-1]) or written in ("Confirm.ask", "click.confirm",
                                                                              "typer.confirm"):
                    return True
        return False

    def _flows_of_function(self, node: FunctionNode, *, skip_context: bool, keyed: bool = False) -> list[Flow]:
        # a parameter the SDK validates as a number, boolean, UUID or one of fixed literals carries no text
        typed = {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                 if _scalar_annotation(a.annotation)}
        params = [p for p in function_params(node, skip_context=skip_context) if p not in typed]
        tainted = {p: (Origin(p),) for p in params}
        analyser = Analyser(self.context, tainted, keyed={p: "" for p in params} if keyed else None)
        analyser.kinds.update(self._module_clients)
        analyser.kinds.update(client_params(node))
        analyser.run(node.body)
        return analyser.flows

    def _flows_of_branch(self, handler: FunctionNode, tool: str) -> list[Flow]:
        params = function_params(handler, skip_context=True)
        if len(params) < 2:
            return []
        mapping = params[1]
        analyser = Analyser(self.context, {mapping: (Origin(mapping),)}, keyed={mapping: ""},
                            dispatch=(params[0], tool))
        analyser.kinds.update(self._module_clients)
        analyser.run(handler.body)
        return analyser.flows

    # -- transport and entry -----------------------------------------------------------------------------------------
    def _transports(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for call in self.calls:
            written = dotted(call.func)
            receiver, _, method = written.rpartition(".")
            if receiver in self.servers:
                if method == "run" and len(call.args) >= 2:
                    continue  # the low-level Server.run(read_stream, write_stream, options)
                if method == "run":
                    value = kwarg(call, "transport") or (call.args[0] if call.args else None)
                    if value is None:
                        found.setdefault(receiver, "stdio")  # FastMCP.run() defaults to stdio
                    else:
                        found.setdefault(receiver, TRANSPORTS.get(self._string(value) or "", "unknown"))
                elif method in ("run_stdio_async",):
                    found.setdefault(receiver, "stdio")
                elif method in ("sse_app", "run_sse_async"):
                    found.setdefault(receiver, "sse")
                elif method in ("streamable_http_app", "run_streamable_http_async", "http_app", "run_http_async"):
                    found.setdefault(receiver, "http")
            last = written.rsplit(".", 1)[-1]
            if last == "stdio_server":
                found["stdio-module"] = "stdio"
            elif last == "SseServerTransport":
                found.setdefault("*", "sse")
            elif last == "StreamableHTTPSessionManager":
                found.setdefault("*", "http")
        return found

    def _runs_as_main(self) -> bool:
        for statement in self.tree.body:
            if isinstance(statement, ast.If) and _is_main_test(statement.test):
                for node in ast.walk(statement):
                    if isinstance(node, ast.Call):
                        written = dotted(node.func)
                        if written.rpartition(".")[0] in self.servers or written in self.functions or \
                                written.rsplit(".", 1)[-1] in ("run", "main"):
                            return True
        return False

    # -- helpers -----------------------------------------------------------------------------------------------------
    def _docstring(self, node: ast.AST) -> tuple[str, int | None]:
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
                body[0].value.value, str):
            return ast.get_docstring(node, clean=True) or "", body[0].value.lineno
        return "", None

    def _string(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """A constant string expression: literals, module constants, concatenation, ``textwrap.dedent``."""
        if node is None or depth > 5:
            return None
        if isinstance(node, ast.Name) and node.id in self._env:
            return self._string(self._env[node.id], depth + 1)
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self._string(self.constants[node.id], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._string(node.left, depth + 1), self._string(node.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                part = self._string(value.value if isinstance(value, ast.FormattedValue) else value, depth + 1)
                if part is None:
                    return None
                parts.append(part)
            return "".join(parts)
        if isinstance(node, ast.Call) and node.args and dotted(node.func) in ("textwrap.dedent", "dedent",
                                                                              "inspect.cleandoc", "cleandoc"):
            text = self._string(node.args[0], depth + 1)
            return _dedent(text) if text is not None else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "strip":
            text = self._string(node.func.value, depth + 1)
            return text.strip() if text is not None else None
        return None


SCALAR_TYPES = frozenset({"int", "float", "bool", "UUID", "uuid.UUID", "datetime", "date", "datetime.datetime",
                          "datetime.date", "Decimal", "PositiveInt", "NonNegativeInt", "conint", "StrictInt", "StrictBool"})


def _scalar_annotation(annotation: ast.AST | None) -> bool:
    """``int``, ``Optional[int]``, ``int | None``, ``Literal["a", "b"]``, ``Annotated[int, ...]``."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        parts = [annotation.left, annotation.right]
        return all(_scalar_annotation(p) or (isinstance(p, ast.Constant) and p.value is None) for p in parts)
    if isinstance(annotation, ast.Subscript):
        outer = dotted(annotation.value).rsplit(".", 1)[-1]
        if outer == "Literal":
            return True
        inner = annotation.slice
        first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
        if outer in ("Optional", "Annotated"):
            return _scalar_annotation(first)
        return False
    return dotted(annotation) in SCALAR_TYPES


def _dedent(text: str) -> str:
    import textwrap
    return textwrap.dedent(text)


def _is_main_test(test: ast.AST) -> bool:
    return isinstance(test, ast.Compare) and dotted(test.left) == "__name__" and any(
        isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)


def _named_effects(tool: ToolDef, function: str, kinds: set[str]) -> list[Effect]:
    """A tool named for money movement or bulk deletion does that whatever client it calls (one in another module,
    an SDK we do not model); one named for replying or messaging does it when it sends anything."""
    found = []
    sends = bool(kinds & {"api-write", "network", "web-fetch"})
    for name in dict.fromkeys([tool.name, function]):
        if not name:
            continue
        if PAYMENT_NAME.match(name) and "payments" not in kinds:
            found.append(Effect("payments", tool.line, f"tool named {name}"))
        if DESTRUCTIVE_NAME.match(name) and "destructive" not in kinds:
            found.append(Effect("destructive", tool.line, f"tool named {name}"))
        if sends and MESSAGE_NAME.match(name) and "messaging" not in kinds:
            found.append(Effect("messaging", tool.line, f"tool named {name}"))
        if sends and EMAIL_NAME.match(name) and "email-send" not in kinds:
            found.append(Effect("email-send", tool.line, f"tool named {name}"))
        kinds = kinds | {e.kind for e in found}
    return found


def _returns_client(function: FunctionNode) -> bool:
    return any(isinstance(n, ast.Return) and isinstance(n.value, ast.Call) and dotted(n.value.func) in
               HTTP_CLIENT_FACTORIES for n in function.body)


def _local_bindings(nodes: list[ast.AST], client_makers: set[str] = frozenset()) -> tuple[frozenset[str],
                                                                                         frozenset[str]]:
    """Locals holding the whole environment (``env = os.environ.copy()``; ``env["X"] = ...`` keeps it whole), and
    locals bound to an HTTP client (``async with httpx.AsyncClient() as client``)."""
    names: set[str] = set()
    clients: set[str] = set()
    bindings: list[tuple[ast.AST, ast.AST]] = []
    for node in nodes:
        kind = type(node)
        if kind is ast.Assign:
            bindings.extend((t, node.value) for t in node.targets)
        elif kind is ast.With or kind is ast.AsyncWith:
            bindings.extend((i.optional_vars, i.context_expr) for i in node.items if i.optional_vars is not None)
    mentions_environ = any((type(n) is ast.Attribute and n.attr == "environ") or (type(n) is ast.Name and n.id == "environ")
                           for n in nodes)
    for _ in range(2 if mentions_environ else 0):
        for target, value in bindings:
            if isinstance(target, ast.Name) and is_whole_environ(value, names):
                names.add(target.id)
    for target, value in bindings:
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Call) and (dotted(value.func) in HTTP_CLIENT_FACTORIES or
                                            dotted(value.func) in client_makers) and dotted(target):
            clients.add(dotted(target))
    for node in nodes:
        if type(node) is ast.FunctionDef or type(node) is ast.AsyncFunctionDef:
            clients.update(client_params(node))
    return frozenset(names), frozenset(clients)
