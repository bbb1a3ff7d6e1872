"""JavaScript and TypeScript MCP servers, read with tree-sitter (never executed, never regex over source).

Fills the language-neutral tool model (triage/parsers/tool_model.py): servers built with the MCP TypeScript SDK
(``new McpServer``/``new Server``), their tools, resources and prompts (``server.tool``/``registerTool``/...,
low-level ``setRequestHandler`` with a tools list and a dispatching call handler), agent-framework tools
(LangChain.js, the Vercel AI SDK, OpenAI Agents), and for each tool its effects, flows and sensitive data
(triage/parsers/js_taint.py).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from triage.parsers.js_ast import FUNCTION_TYPES, SCAN_QUERY, ModuleInfo, Node, call_args, dotted, function_parts, kids, line, \
    object_pairs, pattern_names, property_key, scan_module, string_value, text, unwrap
from triage.parsers.js_project import JsProject
from triage.parsers.js_schema import confined_inputs, read_only_hint
from triage.parsers.tool_model import CodeServer, ToolDef

JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
MAX_JS_BYTES = 512 * 1024
FRAMEWORK = "mcp-typescript"
# A cheap gate before parsing: a file that mentions none of these defines no server and no agent tool.
RELEVANT = re.compile(r"modelcontextprotocol|McpServer|setRequestHandler|registerTool|\.tool\(|\btool\(|"
                      r"DynamicStructuredTool|DynamicTool|FastMCP|addTool|registerResource|registerPrompt")
TEST_PATH = re.compile(r"(^|/)(tests?|__tests__|__mocks__|spec)/|\.(test|spec)\.[cm]?[jt]sx?$")
REGISTRATIONS = {"tool": "tool", "registerTool": "tool", "resource": "resource", "registerResource": "resource",
                 "prompt": "prompt", "registerPrompt": "prompt", "addTool": "tool", "addResource": "resource",
                 "addResourceTemplate": "resource", "addPrompt": "prompt"}
TRANSPORTS = {"StdioServerTransport": "stdio", "StreamableHTTPServerTransport": "http", "SSEServerTransport": "sse"}
ANNOTATION_KEYS = frozenset({"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"})
SCHEMA_WRAPPERS = re.compile(r"(zodToJsonSchema|toJSONSchema|toJsonSchema|zodToJson|jsonSchema|asJsonSchema)$")
_parsers: dict[str, object] = {}


@dataclass
class JsModule:
    path: str
    servers: list[CodeServer] = field(default_factory=list)
    code_tools: list[ToolDef] = field(default_factory=list)


def is_js_source(path: str) -> bool:
    return path.endswith(JS_SUFFIXES) and not path.endswith((".d.ts", ".min.js"))


def language_of(path: str) -> str:
    return "typescript" if path.endswith((".ts", ".mts", ".cts", ".tsx")) else "javascript"


def _parser(path: str):  # noqa: ANN202 - (tree_sitter.Parser, tree_sitter.QueryCursor)
    """One parser and scan query per grammar per process; tree_sitter is imported only when a JS/TS file needs parsing."""
    grammar = "tsx" if path.endswith(".tsx") else "ts" if language_of(path) == "typescript" else "js"
    parser = _parsers.get(grammar)
    if parser is None:
        import tree_sitter

        if grammar == "js":
            import tree_sitter_javascript

            language = tree_sitter_javascript.language()
        else:
            import tree_sitter_typescript

            language = tree_sitter_typescript.language_tsx() if grammar == "tsx" else \
                tree_sitter_typescript.language_typescript()
        compiled = tree_sitter.Language(language)
        parser = (tree_sitter.Parser(compiled), tree_sitter.QueryCursor(tree_sitter.Query(compiled, SCAN_QUERY)))
        _parsers[grammar] = parser
    return parser


def parse_js(text_: str, path: str, project: JsProject | None = None) -> JsModule | None:
    """None when the file cannot be parsed at all. ``project``: the tree's other JS/TS files, for following calls
    into the project's own modules."""
    module = JsModule(path)
    if len(text_) > MAX_JS_BYTES or TEST_PATH.search(path) or not RELEVANT.search(text_):
        return module
    parser, scan = _parser(path)
    try:
        tree = parser.parse(text_.encode("utf-8", "replace"))
    except (ValueError, MemoryError, RecursionError):
        return None
    root = tree.root_node
    if root.has_error and _mostly_errors(root):
        return None
    try:
        _Extractor(module, root, scan, project).run()
    except RecursionError:
        return None
    return module


def _mostly_errors(root: Node) -> bool:
    total = max(root.end_byte - root.start_byte, 1)
    broken = sum(c.end_byte - c.start_byte for c in root.children if c.type == "ERROR" or c.is_missing)
    return broken * 2 > total


class _Extractor:
    def __init__(self, module: JsModule, root: Node, scan: object, project: JsProject | None = None) -> None:
        from triage.parsers.js_taint import Analyzer  # the taint walker is only needed for files with tools

        self.module = module
        self.path = module.path
        self.language = language_of(self.path)
        self.info, self.news, self.calls = scan_module(root, self.path, scan)
        if project is not None:
            project.link_instances(self.info)
        self.analyzer = Analyzer(self.info, project)
        self.servers: dict[str, CodeServer] = {}  # variable (as written) -> server
        self.ordered: list[CodeServer] = []

    # -- servers ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        transport = self._transport()
        for node in self.news:
            self._server(node, transport)
        low_level: dict[int, dict[str, list[Node]]] = {}
        for call in self.calls:
            function = unwrap(call.child_by_field_name("function"))
            if function is None:
                continue
            if function.type == "member_expression":
                method = text(function.child_by_field_name("property"))
                receiver = text(function.child_by_field_name("object"))
                if method in REGISTRATIONS:
                    self._registration(call, method, receiver, transport)
                elif method == "setRequestHandler":
                    args = call_args(call)
                    if len(args) >= 2:
                        server = self._server_for(receiver, transport, call)
                        if server is not None:
                            kinds = low_level.setdefault(id(server), {})
                            kinds.setdefault(text(args[0]).rsplit(".", 1)[-1], []).append(args[1])
            self._agent_tool(call, function)
        for node in self.news:
            self._agent_tool(node, unwrap(node.child_by_field_name("constructor")))
        for server in self.ordered:
            handlers = low_level.get(id(server))
            if handlers:
                self._low_level(server, handlers)
        for server in self.ordered:
            server.tools.sort(key=lambda t: (t.line, t.kind, t.name))
        self.module.servers = sorted(self.ordered, key=lambda s: (s.line, s.name))
        self.module.code_tools.sort(key=lambda t: (t.line, t.name))

    def _transport(self) -> str:
        found = sorted((line(n), TRANSPORTS[k]) for n in self.news
                       if (k := dotted(n.child_by_field_name("constructor")).rsplit(".", 1)[-1]) in TRANSPORTS)
        return found[0][1] if found else ""

    def _entry(self, transport: str) -> str:
        if not transport:
            return ""
        return f"npx tsx {self.path}" if self.language == "typescript" else f"node {self.path}"

    def _server(self, node: Node, transport: str) -> None:
        callee = dotted(node.child_by_field_name("constructor"), self.info.aliases)
        last = callee.rsplit(".", 1)[-1]
        args = call_args(node)
        if last == "McpServer" or (last == "Server" and "modelcontextprotocol" in callee) or (
                last == "FastMCP" and callee.startswith("fastmcp")) or callee == "FastMCP":
            options = self.info.resolve(args[0]) if args else None
            name = ""
            for key, value, _pair in object_pairs(options):
                if key == "name":
                    name = self.info.const_text(value) if value is not None else ""
            variable = _assigned_to(node)
            name = name or variable.rsplit(".", 1)[-1] or "server"
            server = CodeServer(f"{self.path}#{name}", name, self.path, line(node), self.language, FRAMEWORK,
                                transport or "unknown", entry=self._entry(transport))
            self.ordered.append(server)
            if variable:
                self.servers.setdefault(variable, server)

    def _server_for(self, receiver: str, transport: str, call: Node) -> CodeServer | None:
        receiver = receiver.replace(" ", "")
        for candidate in (receiver, receiver.removesuffix(".server"), receiver.removeprefix("this.")):
            if candidate in self.servers:
                return self.servers[candidate]
        if self.ordered:
            return self.ordered[0]
        if not (re.search(r"(server|mcp)", receiver, re.I) or any(
                "modelcontextprotocol" in source or source.startswith("fastmcp") for source in self.info.import_sources)):
            return None  # some other library's .tool() / .resource()
        # tools registered on a server made in another file (registerTools(server: McpServer) { ... })
        stem = posixpath.splitext(posixpath.basename(self.path))[0] or "server"
        server = CodeServer(f"{self.path}#{stem}", stem, self.path, line(call), self.language, FRAMEWORK,
                            transport or "unknown", entry=self._entry(transport))
        self.ordered.append(server)
        self.servers[receiver] = server
        return server

    # -- high-level registrations ----------------------------------------------------------------------------
    def _registration(self, call: Node, method: str, receiver: str, transport: str) -> None:
        args = call_args(call)
        kind = REGISTRATIONS[method]
        if method in ("addTool", "addResource", "addResourceTemplate", "addPrompt"):
            self._fastmcp(call, kind, args, receiver, transport)
            return
        if not args:
            return
        name = self.info.fold(args[0])
        handler = self._function(args[-1]) if len(args) > 1 else None
        if name is None or handler is None:
            return
        server = self._server_for(receiver, transport, call)
        if server is None:
            return
        tool = ToolDef(kind, name[0], self.path, line(call), self.language, FRAMEWORK, server=server.id)
        middle = args[1:-1]
        if method.startswith("register"):
            if kind == "resource" and middle:
                tool.uri = self._uri(middle[0])
                middle = middle[1:]
            config = self.info.resolve(middle[0]) if middle else None
            self._describe(tool, _pair_value(config, "description"))
            schema = _pair_value(config, "inputSchema" if kind == "tool" else "argsSchema")
            tool.params = tuple(self._schema_keys(schema)) if schema is not None else ()
            tool.read_only_hint = read_only_hint(config, self.info)
        else:
            schema = None
            if kind == "resource" and middle:
                tool.uri = self._uri(middle[0])
                middle = middle[1:]
            for arg in middle:
                resolved = self.info.resolve(arg)
                folded = self.info.fold(arg)
                if (folded is not None or resolved is not None and resolved.type == "template_string") and \
                        not tool.description:
                    self._describe(tool, arg)
                elif resolved is not None and resolved.type == "object":
                    keys = [k for k, _v, _p in object_pairs(resolved)]
                    if kind == "resource" and "description" in keys:
                        self._describe(tool, _pair_value(resolved, "description"))
                    elif keys and all(k in ANNOTATION_KEYS for k in keys):
                        tool.read_only_hint = read_only_hint(resolved, self.info)
                    elif not tool.params:
                        tool.params = tuple(self._schema_keys(resolved))
                        schema = resolved
                elif resolved is not None and not tool.params:
                    tool.params = tuple(self._schema_keys(resolved))
                    schema = resolved
        self._implement(tool, handler, kind, confined=confined_inputs(schema, self.info))
        server.tools.append(tool)

    def _fastmcp(self, call: Node, kind: str, args: list[Node], receiver: str, transport: str) -> None:
        config = self.info.resolve(args[0]) if args else None
        if config is None or config.type != "object":
            return
        name = self.info.fold(_pair_value(config, "name"))
        handler = self._function(_pair_value(config, "execute") or _pair_value(config, "load"))
        if name is None or handler is None:
            return
        server = self._server_for(receiver, transport, call)
        if server is None:
            return
        tool = ToolDef(kind, name[0], self.path, line(call), self.language, FRAMEWORK, server=server.id)
        self._describe(tool, _pair_value(config, "description"))
        if kind == "resource":
            tool.uri = self.info.const_text(_pair_value(config, "uri") or _pair_value(config, "uriTemplate"))
        schema = _pair_value(config, "parameters") or _pair_value(config, "arguments")
        tool.params = tuple(self._schema_keys(schema)) if schema is not None else ()
        tool.read_only_hint = read_only_hint(config, self.info)
        self._implement(tool, handler, kind, confined=confined_inputs(schema, self.info))
        server.tools.append(tool)

    def _uri(self, node: Node) -> str:
        resolved = self.info.resolve(node)
        if resolved is not None and resolved.type == "new_expression":
            inner = call_args(resolved)
            return self.info.prefix(inner[0]) if inner else ""
        return self.info.prefix(node)

    def _describe(self, tool: ToolDef, node: Node | None) -> None:
        folded = self.info.fold(node) if node is not None else None
        inner = unwrap(node)
        if folded is None and inner is not None and inner.type == "template_string":
            folded = (self.info.template_text(inner), inner)  # computed substitutions as {}
        if folded is not None:
            tool.description = folded[0]
            tool.description_line = line(folded[1])

    def _function(self, node: Node | None) -> Node | None:
        node = unwrap(node)
        if node is None:
            return None
        if node.type in FUNCTION_TYPES:
            return node
        if node.type == "identifier":
            return self.info.functions.get(text(node))
        if node.type == "member_expression" and text(node.child_by_field_name("object")) == "this":
            return self.info.functions.get(f"this.{text(node.child_by_field_name('property'))}")
        if node.type == "call_expression":  # handler.bind(this), withAuth(handler)
            function = unwrap(node.child_by_field_name("function"))
            if function is not None and function.type == "member_expression" and \
                    text(function.child_by_field_name("property")) == "bind":
                return self._function(function.child_by_field_name("object"))
            args = call_args(node)
            return self._function(args[-1]) if args else None
        return None

    def _schema_keys(self, node: Node | None, depth: int = 0) -> list[str]:
        """Input names of a zod shape, ``z.object({...})``, or a JSON schema's ``properties``."""
        node = self.info.resolve(node)
        if node is None or depth > 6:
            return []
        if node.type == "object":
            properties = self.info.resolve(_pair_value(node, "properties"))
            if properties is not None and properties.type == "object":  # a JSON schema
                return [k for k, _v, _p in object_pairs(properties) if k]
            return [k for k, _v, _p in object_pairs(node) if k]
        if node.type == "call_expression":
            function = unwrap(node.child_by_field_name("function"))
            args = call_args(node)
            name = dotted(function)
            last = name.rsplit(".", 1)[-1]
            if last in ("object", "strictObject", "looseObject") and args:
                return self._schema_keys(args[0], depth + 1)
            if SCHEMA_WRAPPERS.search(name) and args:
                return self._schema_keys(args[0], depth + 1)
            if function is not None and function.type == "member_expression":  # z.object({...}).strict()
                return self._schema_keys(function.child_by_field_name("object"), depth + 1)
        if node.type == "member_expression" and text(node.child_by_field_name("property")) == "shape":
            return self._schema_keys(node.child_by_field_name("object"), depth + 1)
        return []

    def _implement(self, tool: ToolDef, handler: Node | None, kind: str, focus: str | None = None,
                   sources: list | None = None, confined: set[str] | None = None) -> None:
        from triage.parsers.js_taint import Taint

        if handler is None:
            return
        params, _body = function_parts(handler)
        if sources is None:
            sources = []
            if kind == "resource" and len(params) > 1:  # (uri, { path }) of a URI template: the client fills it
                sources.append((params[1], Taint(_param_label(params[1]), "members")))
            elif kind != "resource" and params:
                sources.append((params[0], Taint(_param_label(params[0]), "members")))
        result = self.analyzer.analyse(handler, sources, focus, confined or set())
        tool.effects = result.effects
        tool.flows = result.flows
        tool.sensitive = result.sensitive
        tool.gated = result.gated
        if not tool.params and kind != "resource" and params:
            names = pattern_names(params[0]) if params[0].type == "object_pattern" and focus is None else []
            tool.params = tuple(dict.fromkeys(names or result.inputs))

    # -- low-level servers -----------------------------------------------------------------------------------
    def _low_level(self, server: CodeServer, handlers: dict[str, list[Node]]) -> None:
        from triage.parsers.js_taint import Taint

        listed = []
        for handler in handlers.get("ListToolsRequestSchema", []):
            listed.extend(self._listed(handler, "tools"))
        call_handler = self._function((handlers.get("CallToolRequestSchema") or [None])[0])
        names = {entry[0] for entry in listed}
        if call_handler is not None:
            listed.extend((name, None, node) for name, node in self._dispatched(call_handler) if name not in names)
        seen = set()
        for name, entry, at in listed:
            if name in seen:
                continue
            seen.add(name)
            tool = ToolDef("tool", name, self.path, line(at), self.language, FRAMEWORK, server=server.id)
            schema = None
            if entry is not None:
                self._describe(tool, _pair_value(entry, "description"))
                schema = _pair_value(entry, "inputSchema") or _pair_value(entry, "input_schema")
                tool.params = tuple(self._schema_keys(schema)) if schema is not None else ()
                tool.read_only_hint = read_only_hint(entry, self.info)
            if call_handler is not None:
                params, _body = function_parts(call_handler)
                sources = [(params[0], Taint("", "request"))] if params else []
                self._implement(tool, call_handler, "tool", focus=name, sources=sources,
                                confined=confined_inputs(schema, self.info))
            server.tools.append(tool)
        for kind, list_key, reader_key in (("resource", "resources", "ReadResourceRequestSchema"),
                                           ("prompt", "prompts", "GetPromptRequestSchema")):
            entries = []
            for handler in handlers.get(f"List{list_key.title()}RequestSchema", []):
                entries.extend(self._listed(handler, list_key))
            reader = self._function((handlers.get(reader_key) or [None])[0])
            for name, entry, at in entries:
                tool = ToolDef(kind, name, self.path, line(at), self.language, FRAMEWORK, server=server.id)
                self._describe(tool, _pair_value(entry, "description"))
                if kind == "resource":
                    tool.uri = self.info.const_text(_pair_value(entry, "uri"))
                if reader is not None:
                    params, _body = function_parts(reader)
                    self._implement(tool, reader, kind, sources=[(params[0], Taint("", "request"))] if params else [])
                server.tools.append(tool)

    def _listed(self, handler: Node, key: str) -> list[tuple[str, Node, Node]]:
        """(name, entry object, node for the line) of the tools a ListTools handler returns."""
        function = self._function(handler)
        if function is None:
            return []
        found = []
        for value in _returned(function):
            array = self._array(_pair_value(self.info.resolve(value), key))
            for element in array:
                entry = self.info.resolve(element)
                if entry is None or entry.type != "object":
                    continue
                name = self.info.fold(_pair_value(entry, "name"))
                if name is not None:
                    found.append((name[0], entry, entry))
        return found

    def _array(self, node: Node | None, depth: int = 0) -> list[Node]:
        node = self.info.resolve(node)
        if node is None or depth > 4:
            return []
        if node.type == "array":
            out = []
            for element in kids(node):
                if element.type == "spread_element":
                    out.extend(self._array(kids(element)[0] if kids(element) else None, depth + 1))
                else:
                    out.append(element)
            return out
        if node.type == "object":  # Object.values(TOOLS)
            return [v for _k, v, _p in object_pairs(node) if v is not None]
        if node.type == "call_expression":
            function = unwrap(node.child_by_field_name("function"))
            args = call_args(node)
            name = dotted(function)
            if name in ("Object.values",) and args:
                return self._array(args[0], depth + 1)
            if function is not None and function.type == "member_expression" and \
                    text(function.child_by_field_name("property")) in ("map", "filter", "concat", "slice"):
                return self._array(function.child_by_field_name("object"), depth + 1)
        return []

    def _dispatched(self, handler: Node) -> list[tuple[str, Node]]:
        """Tool names the call handler dispatches on (``case "x":``, ``name === "x"``), for tools not listed."""
        found = []
        for node in _walk_nodes(handler):
            if node.type == "switch_case":
                label = node.child_by_field_name("value")
                folded = self.info.fold(label)
                if folded is not None and folded[0]:
                    found.append((folded[0], node))
            elif node.type == "binary_expression" and text(node.child_by_field_name("operator")) in ("===", "=="):
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                for a, b in ((left, right), (right, left)):
                    if text(a).endswith(("name", "toolName", "tool")) and self.info.fold(b):
                        found.append((self.info.const_text(b), node))
        return [(n, at) for n, at in found if n]

    # -- agent-framework tools -------------------------------------------------------------------------------
    def _agent_tool(self, node: Node, function: Node | None) -> None:
        from triage.parsers.js_taint import Taint

        if function is None or not text(function).endswith(("tool", "Tool")):
            return
        callee = dotted(function, self.info.aliases)
        last = callee.rsplit(".", 1)[-1]
        args = call_args(node)
        is_new = node.type == "new_expression"
        if is_new and last in ("DynamicStructuredTool", "DynamicTool", "StructuredTool"):
            config, handler_key, framework = (self.info.resolve(args[0]) if args else None), "func", "langchain"
            handler = self._function(_pair_value(config, "func"))
        elif not is_new and last == "tool" and (function is not None and function.type == "identifier" or
                                                callee.startswith(("@langchain", "ai.", "@openai/agents"))):
            if len(args) >= 2 and self._function(args[0]) is not None:  # LangChain tool(fn, { name, ... })
                config, handler, framework = self.info.resolve(args[1]), self._function(args[0]), "langchain"
            elif args:
                config = self.info.resolve(args[0])
                handler = self._function(_pair_value(config, "execute"))
                framework = "openai-agents" if callee.startswith("@openai/agents") else "vercel-ai"
            else:
                return
        else:
            return
        if config is None or config.type != "object" or handler is None:
            return
        folded = self.info.fold(_pair_value(config, "name"))
        name = folded[0] if folded else _pair_key_of(node) or _assigned_to(node).rsplit(".", 1)[-1]
        if not name:
            return
        tool = ToolDef("tool", name, self.path, line(node), self.language, framework)
        self._describe(tool, _pair_value(config, "description"))
        schema = _pair_value(config, "schema") or _pair_value(config, "parameters") or \
            _pair_value(config, "inputSchema")
        tool.params = tuple(self._schema_keys(schema)) if schema is not None else ()
        params, _body = function_parts(handler)
        sources = []
        if params:
            mode = "value" if last == "DynamicTool" else "members"
            sources.append((params[0], Taint(_param_label(params[0]) if mode == "members" else text(params[0]),
                                             mode)))
        self._implement(tool, handler, "tool", sources=sources, confined=confined_inputs(schema, self.info))
        if not tool.params and params and params[0].type == "object_pattern":
            tool.params = tuple(pattern_names(params[0]))
        self.module.code_tools.append(tool)


def _pair_value(node: Node | None, key: str) -> Node | None:
    for name, value, pair in object_pairs(node):
        if name == key:
            return value if value is not None else pair
    return None


def _param_label(pattern: Node) -> str:
    return text(pattern) if pattern.type == "identifier" else "arguments"


def _assigned_to(node: Node) -> str:
    parent = node.parent
    for _ in range(4):
        if parent is None:
            return ""
        if parent.type == "variable_declarator":
            name = parent.child_by_field_name("name")
            return text(name) if name is not None and name.type == "identifier" else ""
        if parent.type == "assignment_expression":
            return text(parent.child_by_field_name("left")).replace(" ", "")
        if parent.type == "public_field_definition":
            return "this." + property_key(parent.child_by_field_name("name"))
        if parent.type not in ("as_expression", "parenthesized_expression", "await_expression", "satisfies_expression",
                               "non_null_expression"):
            return ""
        parent = parent.parent
    return ""


def _pair_key_of(node: Node) -> str:
    parent = node.parent
    if parent is not None and parent.type == "pair":
        return property_key(parent.child_by_field_name("key"))
    return ""


def _returned(function: Node) -> list[Node]:
    """Values a function returns: its expression body, or its return statements (not those of nested functions)."""
    _params, body = function_parts(function)
    if body is None:
        return []
    if body.type != "statement_block":
        return [body]
    found = []
    stack = [body]
    while stack and len(found) < 20:
        node = stack.pop()
        for child in kids(node):
            if child.type == "return_statement":
                found.extend(kids(child)[:1])
            elif child.type not in FUNCTION_TYPES and child.type.endswith(("statement", "statement_block", "clause",
                                                                           "switch_body", "switch_case")):
                stack.append(child)
    return found


def _walk_nodes(root: Node, limit: int = 50_000):  # noqa: ANN202
    stack = [root]
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        seen += 1
        yield node
        stack.extend(node.named_children)
