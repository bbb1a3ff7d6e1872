"""Python agent code, read with ``ast`` only (never imported): tool definitions, agents, and risky calls.

Recognises tools of LangChain (``@tool``, ``Tool(...)``, ``StructuredTool.from_function``, ``BaseTool``
subclasses), CrewAI (``@tool``, ``BaseTool``), the OpenAI Agents SDK (``@function_tool``) and MCP server SDKs
(``@mcp.tool()``, ``@server.tool()``), and agents built by those frameworks.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from triage.parsers.python_credentials import CREDENTIAL_FALLBACK, credential_literal
from triage.parsers.python_outbound import REQUEST_CONSTRUCTORS, fixed_host, request_sends, url_prefix
from triage.parsers.python_taint import is_whole_environ
from triage.parsers.tool_model import CodeServer, ToolDef

MAX_PYTHON_BYTES = 512 * 1024

TOOL_DECORATORS = {"tool": "langchain/crewai", "function_tool": "openai-agents", "mcp_tool": "mcp"}
TOOL_FACTORIES = {"Tool", "StructuredTool", "FunctionTool", "from_function"}
TOOL_BASES = {"BaseTool", "Tool", "StructuredTool"}
AGENT_FACTORIES = {
    "Agent": "agent", "create_react_agent": "langgraph", "AgentExecutor": "langchain", "initialize_agent": "langchain",
    "create_tool_calling_agent": "langchain", "create_openai_tools_agent": "langchain", "CodeAgent": "smolagents",
    "ToolCallingAgent": "smolagents", "AssistantAgent": "autogen", "ConversableAgent": "autogen",
    "ReActAgent": "llama-index", "FunctionAgent": "llama-index", "Crew": "crewai", "create_agent": "langchain",
    "ToolNode": "langgraph", "LlmAgent": "google-adk",
}
BUDGET_KWARGS = {"max_iterations", "max_iter", "max_turns", "max_rpm", "max_execution_time", "recursion_limit",
                 "max_steps", "max_consecutive_auto_reply", "max_budget_usd", "max_tokens_budget"}
GATE_KWARGS = {"needs_approval", "requires_approval", "require_approval", "human_input", "interrupt_before",
               "interrupt_after", "approval_required"}
GATE_CALL = re.compile(r"(approv|confirm|human_review|ask_user|request_permission|interrupt)", re.I)
LIMIT_NAME = re.compile(r"(max|limit|cap\b|budget|threshold|allowance)", re.I)
SQL_ANY = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|DROP|TRUNCATE|CREATE|ALTER|WITH|REPLACE|MERGE)\b", re.I)
DB_RECEIVER = re.compile(r"(cursor|cur|conn|connection|db|database|session|engine|sqlite|pg|mysql)$", re.I)
SQL_DESTRUCTIVE = re.compile(r"\b(DROP\s+(TABLE|DATABASE|SCHEMA)|TRUNCATE)\b", re.I)
SQL_WRITE = re.compile(r"\b(DELETE\s+FROM|UPDATE\s+\w+\s+SET|INSERT\s+INTO|ALTER\s+TABLE)\b", re.I)


@dataclass(frozen=True)
class PyEffect:
    kind: str  # one of tool_model.EFFECT_KINDS
    line: int
    detail: str
    path: str = ""  # set when the call is in a helper of another module


@dataclass
class PyTool:
    name: str
    path: str
    line: int
    framework: str
    effects: list[PyEffect] = field(default_factory=list)
    descriptor: str = ""  # name, docstring and string constants: what the tool is about
    gated: bool = False
    bounded: bool = False  # compares against a max/limit/budget somewhere in its body


@dataclass
class PyAgent:
    name: str
    path: str
    line: int
    framework: str
    tool_names: list[str] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)
    gated: bool = False
    unbounded: bool = False  # a turn/iteration/time limit explicitly switched off (None) or set absurdly high
    variable: str = ""  # the name the agent is assigned to, if any


@dataclass(frozen=True)
class PyRisk:
    kind: str  # eval-dynamic | shell-dynamic | sql-built | trust-remote-code | unpinned-model | unsafe-deserialise
    line: int
    detail: str


@dataclass
class PyModule:
    path: str
    tools: list[PyTool] = field(default_factory=list)
    agents: list[PyAgent] = field(default_factory=list)
    risks: list[PyRisk] = field(default_factory=list)
    tool_aliases: dict[str, str] = field(default_factory=dict)  # variable -> function registered as a tool
    imports: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # local name -> (module, level, name)
    has_unbounded_run: bool = False  # some call switches a run limit off for an agent we cannot tell
    unbounded_targets: set[str] = field(default_factory=set)  # agents run with their limit switched off
    has_human_gate: bool = False
    servers: list[CodeServer] = field(default_factory=list)  # MCP servers defined here, with their tools
    code_tools: list[ToolDef] = field(default_factory=list)  # agent-framework tools in the tool model
    # Tools wrapping a function imported from another module (StructuredTool.from_function(functions.get_report)):
    # (import name, function, tool name, line, framework, description, description line); linked by parse_tree.
    external_tools: list[tuple[str, str, str, int, str, str, int | None]] = field(default_factory=list)
    tree: ast.Module | None = field(default=None, repr=False, compare=False)  # kept for that linking
    # String literals standing in for a credential the code otherwise reads from the environment
    # (os.getenv("API_TOKEN", "<literal>"), API_KEY or "<literal>"): (line, value); judged by secrets.* checks.
    credential_literals: list[tuple[int, str]] = field(default_factory=list, repr=False)


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def _const_text(node: ast.AST) -> str:
    """Constant strings in an expression (lists of args joined), for matching commands and SQL."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return " ".join(_const_text(e) for e in node.elts)
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _const_text(node.left) + _const_text(node.right)
    return ""


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(e) for e in node.elts)
    return False


def _kwarg(call: ast.Call, name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _truthy(node: ast.AST | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return bool(node.value)
    return True  # a non-literal value (list of node names, variable): assume set


def _sql_built(call: ast.Call) -> bool:
    last = dotted(call.func).rsplit(".", 1)[-1]
    if last not in ("execute", "executemany", "executescript") or not call.args:
        return False
    query = call.args[0]
    return isinstance(query, (ast.JoinedStr, ast.BinOp)) or (
        isinstance(query, ast.Call) and dotted(query.func).endswith("format"))


def _unbounded(node: ast.AST) -> bool:
    """Frameworks default to a limit (Agents SDK 10 turns, AgentExecutor 15 iterations, LangGraph 25 steps); only an
    explicit None or an absurd number removes it."""
    if isinstance(node, ast.Constant):
        return node.value is None or (isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
                                      and node.value > 200)
    return False


def _names_in(node: ast.AST | None) -> list[str]:
    if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return []
    names = []
    for element in node.elts:
        name = dotted(element)  # "search", "BrowserTools.scrape", "SerperDevTool" (for SerperDevTool())
        if name:
            names.append(name)
    return names


SHELLS = frozenset({"sh", "bash", "zsh", "dash", "fish", "python", "python3", "node", "perl", "ruby", "pwsh",
                    "powershell", "cmd", "env", "xargs", "eval", "sudo"})


def _fixed_program(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        first = node.elts[0]
        return isinstance(first, ast.Constant) and isinstance(first.value, str) and \
            first.value.rsplit("/", 1)[-1] not in SHELLS
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value.split()[0].rsplit("/", 1)[-1] not in SHELLS and not re.search(r"[;&|`$]", node.value)
    return False


def _fixed_host(node: ast.AST | None) -> bool:
    """True when a URL expression starts with a literal scheme://host/ (the model cannot choose the host)."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.match(r"^https?://[^/{}]+/", node.value) is not None
    return False


DESTRUCTIVE_NAME = re.compile(
    r"^(delete_all|deleteall|remove_all|reset_all|resetall|reset_database|reset_db|drop_\w+|purge\w*|wipe\w*|"
    r"truncate\w*|destroy\w*|nuke\w*|terminate_instances?|delete_bucket|delete_cluster|delete_db_instance|"
    r"delete_db_cluster|delete_stack|delete_namespace|delete_database|delete_table|delete_repo(sitory)?|"
    r"delete_project|delete_volume|delete_vpc|empty_bucket|factory_reset|delete_all_\w+|bulk_delete\w*)$", re.I)
PAYMENT_NAME = re.compile(
    r"^(send_|make_|create_|initiate_|execute_|process_|issue_|submit_|do_)?(wire|wire_transfer|transfer_funds|transfer_money|send_money|send_payment|make_payment|payout|"
    r"create_payout|refund|issue_refund|process_refund|create_refund|charge|charge_card|charge_customer|"
    r"create_charge|pay|pay_invoice|initiate_transfer|create_transfer|execute_transfer|transfer)s?$", re.I)
MESSAGE_NAME = re.compile(
    r"^(chat_postMessage|chat_postEphemeral|send_message|post_message|send_webhook|post_to_slack|send_slack\w*|"
    r"post_comment|add_comment|create_comment|reply_to_\w+|send_reply|post_reply|create_issue_comment|"
    r"send_chat\w*|send_sms|create_message|post_tweet|send_dm|send_notification)$")
EMAIL_NAME = re.compile(r"^(send_email|send_mail|send_raw_email|send_templated_email|send_bulk_templated_email|"
                        r"sendmail|send_message)$")
# An HTTP write to a route that moves money (POST /v1/transfers, /payouts, /charges, /refunds, /wires).
MONEY_ROUTE = re.compile(r"/(transfers?|payouts?|payments?|charges?|refunds?|wires?|remittances?|disbursements?)\b",
                         re.I)
# client.transfers.send(...), api.payouts.execute(...): a money resource of an SDK and a verb that moves it
MONEY_RESOURCE = re.compile(r"(^|\.)(transfers|payouts|payments|charges|refunds|wires|remittances|disbursements)$", re.I)
MONEY_VERBS = frozenset({"send", "execute", "submit", "initiate", "make"})
SQL_DELETE_ALL = re.compile(r"\bDELETE\s+FROM\s+[\w.\"`\[\]]+\s*(;|$)", re.I)
RM_RF = re.compile(r"\brm\s+-(\w*r\w*f|\w*f\w*r)\w*\b|\brm\b.*\s--recursive\b")
ENV_ARGUMENT = {"os.execve": 2, "os.execvpe": 2, "os.execle": -1, "os.execlpe": -1, "os.spawnve": 3,
                "os.spawnvpe": 3, "os.spawnle": -1, "os.spawnlpe": -1}


def _starts_process(name: str, first: str) -> bool:
    return first == "subprocess" or name in ("os.system", "os.popen", "pty.spawn", "asyncio.create_subprocess_shell",
                                             "asyncio.create_subprocess_exec", "anyio.run_process",
                                             "anyio.open_process") or name.startswith(("os.exec", "os.spawn"))


def _open_mode(call: ast.Call) -> str:
    mode = _kwarg(call, "mode") or (call.args[1] if len(call.args) > 1 else None)
    return _const_text(mode) if mode is not None else "r"


def call_effects(call: ast.Call, environ_names: frozenset[str] = frozenset(),
                 http_clients: frozenset[str] = frozenset(), *, bound: dict | None = None,
                 constants: dict | None = None) -> list[PyEffect]:
    """What one call does, by the library function it reaches. ``environ_names``: local variables holding a copy of
    the whole environment (``env = os.environ.copy()``), for env-to-child; ``http_clients``: locals bound to an
    HTTP client (``httpx.AsyncClient()``, ``requests.Session()``) whose methods are requests; ``bound``: constants
    the call site of the enclosing helper passes (python_outbound.bindings); ``constants``: module constants."""
    name = dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    first = name.split(".", 1)[0]
    args_text = " ".join(_const_text(a) for a in call.args)[:160]
    line = call.lineno
    effects = []
    if _starts_process(name, first):
        # A fixed program with fixed or validated arguments is one command, not a general shell.
        kind = "command" if call.args and _fixed_program(call.args[0]) else "shell"
        effects.append(PyEffect(kind, line, f"{name}({args_text})"))
        position = ENV_ARGUMENT.get(name)
        env = _kwarg(call, "env") or (call.args[position] if position is not None and len(call.args) > (
            position if position >= 0 else 0) else None)
        if is_whole_environ(env, environ_names):
            effects.append(PyEffect("env-to-child", line, f"{name}(..., env=<whole environment>)"))
        if RM_RF.search(args_text):
            effects.append(PyEffect("destructive", line, f"{name}({args_text})"))
    elif name in ("eval", "exec"):
        effects.append(PyEffect("code-exec", line, f"{name}(...)"))
    elif (first in ("requests", "httpx", "aiohttp", "urllib3") or name.startswith("urllib.request") or
          "." in name and name.rsplit(".", 1)[0] in http_clients) and not last[:1].isupper():
        reads = last in ("get", "urlopen", "request", "stream", "head")
        url = _kwarg(call, "url") or (call.args[0] if call.args else None)
        if _fixed_host(url) or fixed_host(url, constants or {}):
            # a call to one known API: what it reads is decided by which service it is (keywords), and data it
            # sends can only reach that service
            kind = "api-read" if reads else "api-write"
        else:
            kind = "web-fetch" if reads else "network"
        effects.append(PyEffect(kind, line, f"{name}({args_text})"))
        if not reads and MONEY_ROUTE.search(args_text):
            effects.append(PyEffect("payments", line, f"{name}({args_text})"))  # POST .../v1/transfers
    elif name in REQUEST_CONSTRUCTORS:
        # urllib's Request(url, data=..., method=...): urlopen reads the answer, the request says what it sends
        if request_sends(call, bound or {}):
            url = _kwarg(call, "url") or (call.args[0] if call.args else None)
            kind = "api-write" if _fixed_host(url) or fixed_host(url, constants or {}) else "network"
            where = (url_prefix(url, constants or {}) or _const_text(url) if url is not None else "")[:120] or "..."
            effects.append(PyEffect(kind, line, f"{name}({where}, with a body)"))
            if MONEY_ROUTE.search(_const_text(url) if url is not None else ""):
                effects.append(PyEffect("payments", line, f"{name}({where}, with a body)"))
    elif first == "smtplib" or last in ("sendmail", "send_message") and "smtp" in name.lower() or (
            EMAIL_NAME.match(last) and (last != "send_message" or re.search(r"(mail|ses|smtp|gmail)", name, re.I))) or (
            last == "send" and re.search(r"(sendgrid|sg\b|mailgun|postmark|resend|mail)", name, re.I)):
        effects.append(PyEffect("email-send", line, name))
    elif first == "imaplib" or first == "poplib":
        effects.append(PyEffect("email-read", line, name))
    elif last in ("execute", "executemany", "executescript", "read_sql", "read_sql_query", "run_query") and (
            SQL_ANY.search(args_text) or DB_RECEIVER.search(name.rsplit(".", 1)[0] if "." in name else "")):
        # task.execute() and friends are not databases: need SQL text or a cursor/connection-like receiver
        sql = args_text
        if SQL_DESTRUCTIVE.search(sql):
            effects.append(PyEffect("database-drop", line, sql[:120]))
        elif SQL_WRITE.search(sql):
            effects.append(PyEffect("database-write", line, sql[:120]))
        else:
            effects.append(PyEffect("database-read", line, sql[:120] or name))
        if SQL_DELETE_ALL.search(sql) or re.search(r"\bTRUNCATE\b", sql, re.I):
            effects.append(PyEffect("destructive", line, sql[:120]))
    elif first == "stripe" or (last == "create" and re.search(r"(charge|payment|transfer|payout|refund)", name, re.I)) \
            or (last in MONEY_VERBS and MONEY_RESOURCE.search(name.rsplit(".", 1)[0])) or PAYMENT_NAME.match(last):
        effects.append(PyEffect("payments", line, name))
    elif MESSAGE_NAME.match(last) or "webhook" in name.lower():
        effects.append(PyEffect("messaging", line, name))
    elif name in ("shutil.rmtree", "os.remove", "os.unlink", "os.rmdir", "os.removedirs") or last in ("rmtree", "unlink"):
        effects.append(PyEffect("delete", line, f"{name}({args_text})"))
    elif name in ("open", "io.open", "aiofiles.open", "codecs.open"):
        if re.search(r"[wax+]", _open_mode(call)):
            effects.append(PyEffect("write-files", line, "open(..., write)"))
        else:
            effects.append(PyEffect("read-files", line, "open(...)"))
    elif last in ("write_text", "write_bytes"):
        effects.append(PyEffect("write-files", line, name))
    elif last in ("read_text", "read_bytes"):
        effects.append(PyEffect("read-files", line, name))
    if DESTRUCTIVE_NAME.match(last):
        effects.append(PyEffect("destructive", line, f"{name}({args_text})"))
    return effects


def plain_function_tools(module: PyModule, functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]) -> list[
        tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """Undecorated module-level functions an agent is handed as tools (``create_react_agent(llm, tools=[run_sql])``,
    ``ToolNode([search])``, ``LlmAgent(tools=[lookup])``): LangGraph, Google ADK, pydantic-ai, AutoGen and
    LlamaIndex agents turn a plain function into a tool from its signature and docstring."""
    found: dict[str, tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = {}
    for agent in module.agents:
        for name in agent.tool_names:
            function = functions.get(name)
            if function is not None and function.col_offset == 0 and not function.decorator_list and \
                    not name.startswith("_"):
                found.setdefault(name, (function, agent.framework))
    return [found[name] for name in sorted(found)]


def _nodes(tree: ast.AST):  # noqa: ANN202 - Iterator[ast.AST]
    """Every node, each parent before its children; a leaner ast.walk for large modules."""
    stack = [tree]
    ast_type = ast.AST
    while stack:
        node = stack.pop()
        yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, ast_type))
            elif isinstance(value, ast_type):
                stack.append(value)


class _ModuleVisitor:
    """One breadth-first pass over the tree (parents before children), cheaper than NodeVisitor's dispatch."""

    def __init__(self, path: str) -> None:
        self.module = PyModule(path)
        self._functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self._wrapped: dict[str, tuple[str, int]] = {}  # function name -> (tool name, line) from Tool(func=...)
        # nodes the tool model (python_flow) reads, collected in this one walk
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.classes: list[ast.ClassDef] = []
        self.assigns: list[ast.Assign | ast.AnnAssign] = []
        self.calls: list[ast.Call] = []

    def visit(self, tree: ast.AST) -> None:
        assigned: dict[int, str] = {}  # id(call) -> the name its result is assigned to
        for node in _nodes(tree):
            kind = type(node)
            if kind is ast.Assign:
                self.assigns.append(node)
                target = node.targets[0] if node.targets else None
                if isinstance(node.value, ast.Call) and isinstance(target, (ast.Name, ast.Attribute)):
                    assigned[id(node.value)] = dotted(target)
            elif kind is ast.Call:
                self.calls.append(node)
                self._call(node, assigned.get(id(node)))
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                self.functions.append(node)
                self._functions.setdefault(node.name, node)
                self._function(node)
            elif kind is ast.ClassDef:
                self.classes.append(node)
                self._class(node)
            elif kind is ast.AnnAssign:
                self.assigns.append(node)
            elif kind is ast.BoolOp:
                found = credential_literal(node)
                if found:
                    self.module.credential_literals.append(found)
            elif kind is ast.ImportFrom:
                for alias in node.names:
                    self.module.imports[alias.asname or alias.name] = (node.module or "", node.level, alias.name)
            elif kind is ast.Import:
                for alias in node.names:
                    self.module.imports[alias.asname or alias.name.split(".")[0]] = (alias.name, 0, "")
        known = {tool.name for tool in self.module.tools}
        for function, (tool_name, line) in sorted(self._wrapped.items()):
            node = self._functions.get(function)
            if node is not None and tool_name not in known:
                self.module.tools.append(self._tool_from_body(tool_name, node, "langchain", line, False))
        known = {tool.name for tool in self.module.tools} | set(self.module.tool_aliases)
        for function, framework in plain_function_tools(self.module, self._functions):
            if function.name not in known:
                known.add(function.name)
                self.module.tools.append(self._tool_from_body(function.name, function, framework, function.lineno,
                                                              False))

    # -- tools -------------------------------------------------------------------------------------------------
    def _decorator_framework(self, decorator: ast.AST) -> str | None:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = dotted(target)
        last = name.rsplit(".", 1)[-1]
        if last in TOOL_DECORATORS:
            if last == "tool" and "." in name:
                return "mcp"  # @mcp.tool(), @server.tool(), @app.tool()
            return TOOL_DECORATORS[last]
        return None

    def _tool_from_body(self, name: str, node: ast.AST, framework: str, line: int, gated: bool) -> PyTool:
        effects: list[PyEffect] = []
        bounded = False
        strings = [name]
        docstring = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
        if docstring:
            strings.append(docstring[:300])
        for child in ast.walk(node):
            if isinstance(child, ast.Call):
                effects.extend(call_effects(child))
                if _sql_built(child):
                    self.module.risks.append(PyRisk("sql-built", child.lineno,
                                                    f"{dotted(child.func)}() in tool {name} with SQL built from strings"))
                called = dotted(child.func)
                strings.append(called)
                if called == "input" or GATE_CALL.search(called.rsplit(".", 1)[-1]):
                    gated = True
            elif isinstance(child, ast.Constant) and isinstance(child.value, str) and len(child.value) < 200:
                strings.append(child.value)
            elif isinstance(child, ast.Compare) and any(
                    LIMIT_NAME.search(dotted(part)) for part in [child.left, *child.comparators]):
                bounded = True
        return PyTool(name, self.module.path, line, framework, effects, " ".join(strings)[:2000], gated, bounded)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            framework = self._decorator_framework(decorator)
            if framework:
                gated = isinstance(decorator, ast.Call) and any(
                    k.arg in GATE_KWARGS and _truthy(k.value) for k in decorator.keywords)
                tool_name = node.name
                if isinstance(decorator, ast.Call) and decorator.args and isinstance(decorator.args[0], ast.Constant):
                    tool_name = str(decorator.args[0].value)
                tool = self._tool_from_body(tool_name, node, framework, node.lineno, gated)
                self.module.tools.append(tool)
                if tool_name != node.name:
                    self.module.tool_aliases[node.name] = tool_name
                break

    def _class(self, node: ast.ClassDef) -> None:
        bases = {dotted(b).rsplit(".", 1)[-1] for b in node.bases}
        if bases & TOOL_BASES:
            tool_name = node.name
            for statement in node.body:
                if (isinstance(statement, (ast.Assign, ast.AnnAssign)) and isinstance(statement.value, ast.Constant)
                        and any(isinstance(t, ast.Name) and t.id == "name" for t in
                                (statement.targets if isinstance(statement, ast.Assign) else [statement.target]))):
                    tool_name = str(statement.value.value)
            tool = self._tool_from_body(tool_name, node, "langchain/crewai", node.lineno, False)
            self.module.tools.append(tool)
            self.module.tool_aliases[node.name] = tool_name

    # -- agents and module-wide risks -----------------------------------------------------------------------------
    def _call(self, node: ast.Call, assigned_to: str | None) -> None:
        name = dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        line = node.lineno
        keywords = {k.arg for k in node.keywords if k.arg}
        unbounded = any(k.arg in BUDGET_KWARGS and _unbounded(k.value) for k in node.keywords) or any(
            isinstance(k.value, ast.Dict) and any(  # LangGraph: invoke(..., config={"recursion_limit": N})
                isinstance(key, ast.Constant) and key.value in BUDGET_KWARGS and _unbounded(value)
                for key, value in zip(k.value.keys, k.value.values)) for k in node.keywords if k.arg == "config")
        if unbounded and last not in AGENT_FACTORIES:
            # agent.invoke(..., config=...) or Runner.run(agent, ..., max_turns=None): whose limit is off?
            target = name.rsplit(".", 1)[0] if "." in name and last in ("invoke", "ainvoke", "stream", "astream",
                                                                         "run", "arun", "kickoff") else ""
            if target in ("Runner", "runner") and node.args:
                target = dotted(node.args[0])
            if target and target not in ("Runner", "runner"):
                self.module.unbounded_targets.add(target)
            else:
                self.module.has_unbounded_run = True
        if any(k.arg in GATE_KWARGS and _truthy(k.value) for k in node.keywords) or "HumanApproval" in name:
            self.module.has_human_gate = True
        if last in AGENT_FACTORIES:
            label = (_const_text(_kwarg(node, "name") or ast.Constant("")) or
                     _const_text(_kwarg(node, "role") or ast.Constant(""))[:60] or assigned_to or f"{last}@{line}")
            tools = _names_in(_kwarg(node, "tools"))
            if not tools:
                for arg in node.args:
                    tools.extend(_names_in(arg))
            agents_kw = _names_in(_kwarg(node, "agents"))
            self.module.agents.append(PyAgent(
                label, self.module.path, line, AGENT_FACTORIES[last], tools,
                _names_in(_kwarg(node, "handoffs")) + agents_kw,
                gated=any(k.arg in GATE_KWARGS and _truthy(k.value) for k in node.keywords),
                unbounded=unbounded, variable=assigned_to or ""))
        if last in TOOL_FACTORIES or (last == "from_defaults" and name.endswith("FunctionTool.from_defaults")):
            func = _kwarg(node, "func") or _kwarg(node, "fn") or (node.args[0] if node.args else None)
            label = _const_text(_kwarg(node, "name") or ast.Constant(""))
            if func is not None and dotted(func):
                function = dotted(func).rsplit(".", 1)[-1]
                tool_name = label or function
                self._wrapped.setdefault(function, (tool_name, line))
                if assigned_to:
                    self.module.tool_aliases[assigned_to] = tool_name
                if tool_name != function:
                    self.module.tool_aliases.setdefault(function, tool_name)
        self._risks(node, name, last, line)
        found = credential_literal(node)
        if found:
            self.module.credential_literals.append(found)

    def _risks(self, node: ast.Call, name: str, last: str, line: int) -> None:
        risks = self.module.risks
        if name in ("eval", "exec") and node.args and not _is_literal(node.args[0]):
            risks.append(PyRisk("eval-dynamic", line, f"{name}() on a computed value"))
        shell_kw = _kwarg(node, "shell")
        if name.startswith("subprocess.") and shell_kw is not None and _truthy(shell_kw) and node.args \
                and not _is_literal(node.args[0]):
            risks.append(PyRisk("shell-dynamic", line, f"{name}(..., shell=True) on a computed command"))
        if name in ("os.system", "os.popen") and node.args and not _is_literal(node.args[0]):
            risks.append(PyRisk("shell-dynamic", line, f"{name}() on a computed command"))
        trust = _kwarg(node, "trust_remote_code")
        if isinstance(trust, ast.Constant) and trust.value is True:
            risks.append(PyRisk("trust-remote-code", line, f"{name}(..., trust_remote_code=True)"))
        if last in ("from_pretrained", "hf_hub_download", "snapshot_download", "pipeline") and _kwarg(node, "revision") is None:
            model = _kwarg(node, "model") or _kwarg(node, "repo_id") or (
                node.args[1] if last == "pipeline" and len(node.args) > 1 else node.args[0] if node.args and last != "pipeline" else None)
            text = _const_text(model) if model is not None else ""
            if "/" in text and not text.startswith((".", "/")):
                risks.append(PyRisk("unpinned-model", line, f"{name}('{text[:80]}') without revision="))
        if name in ("pickle.load", "pickle.loads", "joblib.load", "dill.load", "cloudpickle.load") or (
                name == "torch.load" and not _truthy(_kwarg(node, "weights_only"))):
            risks.append(PyRisk("unsafe-deserialise", line, f"{name}(...)"))


# A module none of whose text matches can define no tool or agent and hold no risky call we report: skip parsing.
RELEVANT = re.compile(
    r"subprocess|os\.(system|popen|exec)|pty\.spawn|\beval\(|\bexec\(|\.execute(many|script)?\(|trust_remote_code|"
    r"from_pretrained|hf_hub_download|snapshot_download|pipeline\(|pickle|joblib|dill\.|torch\.load|\btool\b|"
    r"function_tool|Tool\b|Agent|agent\(|Crew\(|max_turns|max_iter|FastMCP|fastmcp|mcp\.server|\bServer\(|"
    r"SQLDatabase|sql_agent")
TEST_PATH = re.compile(r"(^|/)(tests?|testing|__tests__)/|(^|/)(test_[^/]*|[^/]*_test|conftest)\.py$")


def parse_python(text: str, path: str) -> PyModule | None:
    """None when the file is not valid Python (a finding-free skip).

    Test modules are not part of the running agent system, so they are not parsed (their text is still scanned
    for secrets); nor are modules that mention nothing we look for.
    """
    if len(text) > MAX_PYTHON_BYTES:
        return None
    if TEST_PATH.search(path):
        return PyModule(path)
    if not RELEVANT.search(text):
        module = PyModule(path)
        if CREDENTIAL_FALLBACK.search(text):  # no tool or agent, but maybe a credential in place of an env value
            try:
                tree = ast.parse(text, filename=path)
                module.credential_literals = [f for f in map(credential_literal, _nodes(tree)) if f]
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass
        return module
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    from triage.parsers.python_flow import build_model  # it builds on this module's effects and shapes

    visitor = _ModuleVisitor(path)
    try:
        visitor.visit(tree)
    except RecursionError:
        return None
    visitor.module.tree = tree
    try:
        build_model(tree, visitor)
    except RecursionError:  # a pathologically nested module: the tool model is left empty, the rest stands
        visitor.module.servers, visitor.module.code_tools = [], []
    return visitor.module
