"""The Python tool model (triage/parsers/python_flow.py, python_taint.py, python_sensitive.py): servers, tools,
effects, input-to-sink flows and sensitive data read from source snippets with ``ast`` (never run)."""

from __future__ import annotations

import textwrap
import time

import pytest

from triage.graph import build_graph
from triage.parsers import parse_root
from triage.parsers.python_code import parse_python
from triage.parsers.tool_model import EFFECT_KINDS, FLOW_SINKS, SENSITIVE_KINDS, ToolDef

from .helpers import lay_out

FASTMCP_HEADER = """\
import os, sys, shlex, subprocess, sqlite3, pickle, re, importlib, asyncio, smtplib
from pathlib import Path
import requests, yaml, torch, jinja2
from urllib.parse import urlparse
from mcp.server.fastmcp import FastMCP, Context

mcp = FastMCP("probe")
BASE = "/srv/data"
ALLOWED = {"status", "uptime"}
ALLOWED_HOSTS = {"api.example.com"}
API = "https://api.example.com"
"""


def module_of(source: str, path: str = "server.py"):
    module = parse_python(textwrap.dedent(source), path)
    assert module is not None
    return module


def fastmcp_tool(body: str, params: str = "x: str", extra: str = "") -> ToolDef:
    """One FastMCP tool ``t(params)`` with ``body``; ``extra`` is module code placed before it."""
    source = FASTMCP_HEADER + textwrap.dedent(extra) + f"\n@mcp.tool()\ndef t({params}) -> str:\n" + textwrap.indent(
        textwrap.dedent(body), "    ")
    module = parse_python(source, "server.py")
    assert module is not None and len(module.servers) == 1
    tools = [t for t in module.servers[0].tools if t.name == "t"]
    assert len(tools) == 1
    return tools[0]


def flows(body: str, params: str = "x: str", extra: str = "") -> list[tuple[str, str, bool]]:
    return sorted((f.sink, f.source, f.spliced) for f in fastmcp_tool(body, params, extra).flows)


def effect_kinds(body: str, params: str = "x: str", extra: str = "") -> list[str]:
    return sorted({e.kind for e in fastmcp_tool(body, params, extra).effects})


# -- servers and tools ------------------------------------------------------------------------------------------------

FASTMCP_SERVER = '''\
from mcp.server.fastmcp import FastMCP, Context

mcp = FastMCP("notes", instructions="Keeps notes")


@mcp.tool()
def add_note(title: str, body: str, ctx: Context) -> str:
    """Add a note.

    Stores the note under its title.
    """
    return "ok"


@mcp.tool(name="find", description="Find notes by word")
async def search_notes(word: str, limit: int = 5) -> list[str]:
    """Ignored docstring."""
    return []


@mcp.tool
def bare(self_note: str) -> str:
    return self_note


@mcp.resource("notes://{title}")
def note(title: str) -> str:
    """One note as text."""
    return ""


@mcp.prompt()
def summarise(topic: str) -> str:
    """Summarise notes about a topic."""
    return f"Summarise {topic}"


def added_later(query: str) -> str:
    return query


mcp.add_tool(added_later, name="later", description="Added with add_tool")

if __name__ == "__main__":
    mcp.run(transport="streamable-http")
'''


def test_fastmcp_server_tools_resources_prompts_with_exact_names_descriptions_params_and_lines():
    module = module_of(FASTMCP_SERVER, "notes/server.py")
    assert [(s.id, s.name, s.line, s.framework, s.transport, s.entry) for s in module.servers] == [
        ("notes/server.py#notes", "notes", 3, "fastmcp", "http", "python notes/server.py")]
    tools = module.servers[0].tools
    assert [(t.kind, t.name, t.line, t.params, t.description, t.description_line, t.uri) for t in tools] == [
        ("tool", "add_note", 7, ("title", "body"), "Add a note.\n\nStores the note under its title.", 8, ""),
        ("tool", "find", 16, ("word", "limit"), "Find notes by word", 15, ""),
        ("tool", "bare", 22, ("self_note",), "", None, ""),
        ("resource", "note", 27, ("title",), "One note as text.", 28, "notes://{title}"),
        ("prompt", "summarise", 33, ("topic",), "Summarise notes about a topic.", 34, ""),
        ("tool", "later", 42, ("query",), "Added with add_tool", 42, ""),
    ]
    assert {t.server for t in tools} == {"notes/server.py#notes"}
    assert {t.framework for t in tools} == {"fastmcp"} and {t.language for t in tools} == {"python"}


def test_fastmcp_from_the_standalone_package_and_a_server_built_inside_a_function():
    module = module_of('''\
        from fastmcp import FastMCP

        def build():
            server = FastMCP(name="inner")

            @server.tool()
            def hello(who: str) -> str:
                """Say hello."""
                return who

            return server

        def main():
            build().run()
        ''')
    assert [(s.name, s.transport, s.entry) for s in module.servers] == [("inner", "unknown", "")]
    assert [(t.name, t.params, t.description) for t in module.servers[0].tools] == [("hello", ("who",), "Say hello.")]


def test_transport_defaults_to_stdio_for_a_bare_run_and_sse_when_asked():
    stdio = module_of('from mcp.server.fastmcp import FastMCP\nmcp = FastMCP("a")\n'
                      'if __name__ == "__main__":\n    mcp.run()\n')
    sse = module_of('from mcp.server.fastmcp import FastMCP\nmcp = FastMCP("a")\nmcp.run("sse")\n')
    assert [(s.transport, s.entry) for s in stdio.servers] == [("stdio", "python server.py")]
    assert [(s.transport, s.entry) for s in sse.servers] == [("sse", "")]


LOWLEVEL_SERVER = '''\
import json
import mcp.types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

app = Server("inventory")

LOOKUP_DESCRIPTION = "Look up an item by its code."
TOOLS = [
    types.Tool(name="lookup", description=LOOKUP_DESCRIPTION,
               inputSchema={"type": "object", "properties": {"code": {"type": "string"}}}),
]


@app.list_tools()
async def list_tools() -> list[types.Tool]:
    return TOOLS + [
        types.Tool(name="restock", description="Order more of an item",
                   inputSchema={"type": "object", "properties": {"code": {}, "count": {}}}),
    ]


@app.call_tool()
async def call_tool(name: str, arguments: dict) -> list[types.TextContent]:
    if name == "lookup":
        return [types.TextContent(type="text", text=json.dumps({"code": arguments["code"]}))]
    elif name == "restock":
        count = int(arguments.get("count", 1))
        return [types.TextContent(type="text", text=str(count))]
    elif name == "audit":
        who = arguments.get("user")
        return []
    raise ValueError(f"unknown tool {name}")


async def main():
    async with stdio_server() as (read, write):
        await app.run(read, write, app.create_initialization_options())


if __name__ == "__main__":
    import asyncio
    asyncio.run(main())
'''


def test_lowlevel_server_tools_from_list_tools_and_call_tool_branches():
    module = module_of(LOWLEVEL_SERVER)
    assert [(s.name, s.framework, s.line, s.transport, s.entry) for s in module.servers] == [
        ("inventory", "mcp-lowlevel", 6, "stdio", "python server.py")]
    tools = module.servers[0].tools
    assert [(t.name, t.line, t.params, t.description, t.description_line) for t in tools] == [
        ("lookup", 10, ("code",), "Look up an item by its code.", 10),
        ("restock", 18, ("code", "count"), "Order more of an item", 18),
        ("audit", 30, ("user",), "", None),  # dispatched but not listed: parameters from the arguments it reads
    ]


def test_lowlevel_match_dispatch_and_a_dict_of_handlers():
    module = module_of('''\
        import os, subprocess
        from mcp.server.lowlevel import Server
        from mcp.types import Tool

        server = Server("ops")

        def do_delete(arguments: dict):
            os.remove(os.path.join("/srv", arguments["path"]))

        HANDLERS = {"delete": do_delete}

        @server.list_tools()
        async def tools():
            return [Tool(name="run", description="Run", inputSchema={"properties": {"cmd": {}}}),
                    Tool(name="delete", description="Delete", inputSchema={"properties": {"path": {}}})]

        @server.call_tool()
        async def call(name, arguments):
            match name:
                case "run":
                    subprocess.run(arguments["cmd"], shell=True)
                case _:
                    return HANDLERS[name](arguments)
        ''')
    tools = {t.name: t for t in module.servers[0].tools}
    assert sorted(tools) == ["delete", "run"]
    assert [(f.sink, f.source, f.line, f.spliced) for f in tools["run"].flows] == [("shell", "cmd", 21, False)]
    assert [(f.sink, f.source, f.line, f.spliced) for f in tools["delete"].flows] == [
        ("file-delete", "path", 8, True)]
    assert [e.kind for e in tools["delete"].effects] == ["delete"]


def test_lowlevel_branches_keep_their_own_flows():
    module = module_of('''\
        import subprocess
        from mcp.server import Server
        server = Server("x")

        @server.call_tool()
        async def call(name: str, arguments: dict):
            args = arguments or {}
            if name == "safe":
                subprocess.run(["git", "log", args["ref"]])
            elif name == "unsafe":
                subprocess.run(f"git log {args['ref']}", shell=True)
        ''')
    tools = {t.name: t for t in module.servers[0].tools}
    assert tools["safe"].flows == []
    assert [(f.sink, f.source, f.line) for f in tools["unsafe"].flows] == [("shell", "ref", 11)]


def test_lowlevel_resources_and_prompts():
    module = module_of('''\
        from mcp.server import Server
        import mcp.types as types
        server = Server("docs")
        CUSTOMERS = [
            {"name": "Ada Byron", "email": "ada@example.com", "phone": "555-0100", "address": "1 Loop St"},
            {"name": "Alan Turing", "email": "alan@example.com", "phone": "555-0101", "address": "2 Tape Rd"},
        ]

        @server.list_resources()
        async def resources():
            return [types.Resource(uri="crm://customers", name="customers", description="All customers")]

        @server.read_resource()
        async def read(uri):
            return str(CUSTOMERS)

        @server.list_prompts()
        async def prompts():
            return [types.Prompt(name="brief", description="Write a brief",
                                 arguments=[types.PromptArgument(name="topic")])]
        ''')
    tools = module.servers[0].tools
    assert [(t.kind, t.name, t.uri, t.description, t.params) for t in tools] == [
        ("resource", "customers", "crm://customers", "All customers", ()),
        ("prompt", "brief", "", "Write a brief", ("topic",))]
    assert [(s.kind, s.line) for s in tools[0].sensitive] == [("personal-records", 4)]


def test_agent_framework_tools_are_code_tools_without_a_server():
    module = module_of('''\
        import smtplib, requests
        from crewai.tools import BaseTool
        from langchain_core.tools import tool, StructuredTool, Tool
        from agents import function_tool
        from pydantic import BaseModel

        class MailArgs(BaseModel):
            to: str
            body: str

        class SendMail(BaseTool):
            name: str = "send_mail"
            description: str = "Send an email"
            args_schema = MailArgs

            def _run(self, to: str, body: str) -> str:
                with smtplib.SMTP("smtp.example.com") as smtp:
                    smtp.sendmail("bot@example.com", [to], body)
                return "sent"

        @tool("lookup_order")
        def lookup(order_id: str) -> str:
            """Look an order up."""
            return requests.get(f"https://shop.example.com/orders/{order_id}").text

        @function_tool(description_override="Post to the web")
        def post(url: str, text: str) -> str:
            return requests.post(url, data=text).text

        def plain(q: str) -> str:
            return q

        wrapped = StructuredTool.from_function(func=plain, name="wrapped", description="Wrapped function")
        legacy = Tool(name="legacy", func=plain, description="Legacy tool")
        ''', "agent/tools.py")
    assert module.servers == []
    got = [(t.name, t.framework, t.server, t.params, t.description) for t in module.code_tools]
    assert got == [
        ("send_mail", "crewai", "", ("to", "body"), "Send an email"),
        ("lookup_order", "langchain", "", ("order_id",), "Look an order up."),
        ("post", "openai-agents", "", ("url", "text"), "Post to the web"),
        ("wrapped", "langchain", "", ("q",), "Wrapped function"),
    ]
    by_name = {t.name: t for t in module.code_tools}
    assert sorted(e.kind for e in by_name["send_mail"].effects) == ["email-send", "email-send"]
    assert [(e.kind, e.fixed_target) for e in by_name["lookup_order"].effects] == [("api-read", True)]
    assert [(e.kind, e.fixed_target) for e in by_name["post"].effects] == [("network", False)]
    assert [(f.sink, f.source) for f in by_name["post"].flows] == [("ssrf", "url")]


def test_sql_agents_that_can_write_become_tools_with_a_database_write_effect():
    module = module_of('''\
        from langchain_community.utilities import SQLDatabase
        from langchain_community.agent_toolkits import create_sql_agent, SQLDatabaseToolkit
        from langchain_community.tools import QuerySQLDatabaseTool

        shop = SQLDatabase.from_uri("postgresql://app@db/shop", include_tables=["orders"])
        reports = SQLDatabase.from_uri("sqlite:///file:reports.db?mode=ro&uri=true")
        agent = create_sql_agent(llm, db=shop, verbose=True)
        readonly_agent = create_sql_agent(llm, db=reports)
        toolkit = SQLDatabaseToolkit(db=SQLDatabase.from_uri("sqlite:///x.db"), llm=llm)
        query = QuerySQLDatabaseTool(db=reports)
        ''')
    assert [(t.name, t.line, [(e.kind, e.line) for e in t.effects]) for t in module.code_tools] == [
        ("create_sql_agent", 7, [("database-write", 7)]),
        ("SQLDatabaseToolkit", 9, [("database-write", 9)]),
    ]
    assert all(e.kind != "database-drop" for t in module.code_tools for e in t.effects)


def test_the_pre_filter_lets_every_server_shape_through_and_test_paths_stay_skipped():
    for source in ('from fastmcp import FastMCP\nm = FastMCP("a")\n@m.tool\ndef f(x): return x\n',
                   'import mcp.server\ns = mcp.server.Server("b")\n@s.list_tools()\nasync def t(): return []\n',
                   'from mcp.server.lowlevel import Server as S\nserver = S("c")\n@server.call_tool()\n'
                   'async def c(name, arguments):\n    if name == "x":\n        return []\n'):
        assert len(module_of(source).servers) == 1, source
    assert module_of(FASTMCP_SERVER, "tests/test_server.py").servers == []
    assert module_of(FASTMCP_SERVER, "pkg/server_test.py").servers == []


def test_python_tools_agents_skip_mcp_tools_that_a_code_server_already_counts(tmp_path):
    lay_out(tmp_path, {"server.py": FASTMCP_HEADER + '''
@mcp.tool()
def run(cmd: str) -> str:
    """Run a command."""
    return subprocess.check_output(cmd, shell=True).decode()
'''})
    graph = build_graph(parse_root(tmp_path))
    assert sorted(graph.agents) == ["mcp-server:server.py#probe"]
    caps = {(c.direction, c.kind, c.via) for c in graph.agents["mcp-server:server.py#probe"].capabilities}
    assert ("sink", "shell", "tool:run") in caps


# -- sinks (positive) and sanitisers (negative, the same code with the guard) -------------------------------------

SINK_CASES = [
    ("os.system(f'ping -c 1 {x}')", [("shell", "x", True)]),
    ("os.system('ping -c 1 ' + shlex.quote(x))", []),
    ("subprocess.run(x, shell=True)", [("shell", "x", False)]),
    ("subprocess.run(['git', 'log', x])", []),
    ("subprocess.run(['bash', '-c', f'echo {x}'])", [("shell", "x", True)]),
    ("subprocess.run(shlex.split(x))", [("shell", "x", False)]),
    ("asyncio.create_subprocess_shell('ls ' + x)", [("shell", "x", True)]),
    ("cmd = ['git', 'show']\ncmd.append(x)\nsubprocess.run(cmd)", []),
    ("eval(x)", [("code-exec", "x", False)]),
    ("exec(compile(x, 'snippet', 'exec'))", [("code-exec", "x", False)]),
    ("subprocess.run([sys.executable, '-c', x])", [("code-exec", "x", False)]),
    ("asyncio.create_subprocess_exec(sys.executable, '-c', x)", [("code-exec", "x", False)]),
    ("importlib.import_module(x)", [("code-exec", "x", False)]),
    ("eval(str(int(x)))", []),
    ("conn = sqlite3.connect('a.db')\nconn.execute(f'SELECT * FROM t WHERE name = {x}')", [("sql", "x", True)]),
    ("conn = sqlite3.connect('a.db')\nconn.execute('SELECT * FROM t WHERE name = ?', (x,))", []),
    ("cur = db.cursor()\nq = 'DELETE FROM t WHERE id = %s' % x\ncur.execute(q)", [("sql", "x", True)]),
    ("cur = db.cursor()\ncur.execute('SELECT * FROM t WHERE id = %d' % int(x))", []),
    ("open(os.path.join(BASE, x)).read()", [("file-read", "x", True)]),
    ("open(os.path.join(BASE, os.path.basename(x))).read()", []),
    ("(Path(BASE) / x).read_text()", [("file-read", "x", True)]),
    ("(Path(BASE) / Path(x).name).read_text()", []),
    ("p = os.path.join(BASE, x)\nif not p.startswith(BASE):\n    raise ValueError('outside')\nopen(p).read()",
     [("file-read", "x", True)]),  # startswith on a path that was never normalised: ../ still escapes
    ("p = os.path.realpath(os.path.join(BASE, x))\nif not p.startswith(BASE):\n    raise ValueError('outside')\n"
     "open(p).read()", []),
    ("p = (Path(BASE) / x).resolve()\nif not p.is_relative_to(BASE):\n    return 'denied'\nreturn p.read_text()", []),
    ("p = (Path(BASE) / x).resolve()\nassert p.is_relative_to(Path(BASE))\nreturn p.read_text()", []),
    ("p = (Path(BASE) / x).resolve()\nif Path(BASE) not in p.parents:\n    raise ValueError(x)\nreturn p.read_text()",
     []),
    ("p = Path(BASE) / x\nif Path(BASE) not in p.parents:\n    raise ValueError(x)\nreturn p.read_text()",
     [("file-read", "x", True)]),  # parents of an unresolved path: BASE/../etc still has BASE as a parent
    ("p = (Path(BASE) / x).resolve()\np.relative_to(BASE)\nreturn p.read_text()", []),
    ("root = Path(BASE).resolve()\np = (root / x).resolve()\nif p != root and root not in p.parents:\n"
     "    raise ValueError(x)\nreturn p.read_text()", []),  # the base itself or below it: both contained
    ("root = Path(BASE).resolve()\np = (root / x).resolve()\nif p != root and not p.name.endswith('.md'):\n"
     "    raise ValueError(x)\nreturn p.read_text()", [("file-read", "x", True)]),  # any .md anywhere passes
    ("p = Path(BASE) / x\np.relative_to(BASE)\nreturn p.read_text()", [("file-read", "x", True)]),
    ("with open(os.path.join(BASE, x), 'w') as f:\n    f.write('data')", [("file-write", "x", True)]),
    ("os.remove(x)", [("file-delete", "x", False)]),
    ("import shutil\nshutil.rmtree(os.path.join(BASE, x))", [("file-delete", "x", True)]),
    ("pickle.loads(x)", [("deserialise", "x", False)]),
    ("yaml.load(x)", [("deserialise", "x", False)]),
    ("yaml.load(x, Loader=yaml.FullLoader)", [("deserialise", "x", False)]),
    ("yaml.load(x, Loader=yaml.SafeLoader)", []),
    ("yaml.safe_load(x)", []),
    ("torch.load(x)", [("deserialise", "x", False)]),
    ("torch.load(x, weights_only=True)", []),
    ("requests.get(x)", [("ssrf", "x", False)]),
    ("requests.get(f'https://{x}/status')", [("ssrf", "x", True)]),
    ("requests.get(f'https://api.example.com/items/{x}')", []),
    ("requests.get(API + '/items/' + x)", []),
    ("host = urlparse(x).hostname\nif host not in ALLOWED_HOSTS:\n    raise ValueError('host')\nrequests.get(x)", []),
    ("if urlparse(x).scheme not in ('http', 'https'):\n    raise ValueError('scheme')\nrequests.get(x)",
     [("ssrf", "x", False)]),  # a scheme check is not a host allow-list
    ("jinja2.Template(x).render()", [("template", "x", False)]),
    ("jinja2.Environment().from_string('Hi ' + x).render()", [("template", "x", True)]),
    ("if x not in ALLOWED:\n    raise ValueError(x)\nos.system(x)", []),
    ("if x in ALLOWED:\n    os.system(x)", []),
    ("if not re.fullmatch(r'[a-z0-9.-]+', x):\n    return 'bad host'\nos.system('ping ' + x)", []),
    ("if not x:\n    raise ValueError('empty')\nos.system('ping ' + x)", [("shell", "x", True)]),
    ("if x == 'status':\n    os.system(x)", []),
]


@pytest.mark.parametrize(("body", "expected"), SINK_CASES)
def test_sinks_and_sanitisers(body, expected):
    assert flows(body) == expected


def test_a_flow_carries_its_steps_source_first_and_the_sink_line():
    tool = fastmcp_tool("full = os.path.join(BASE, x)\nname = full.strip()\nwith open(name) as f:\n"
                        "    return f.read()")
    assert len(tool.flows) == 1
    flow = tool.flows[0]
    line = tool.line  # the def line; the body starts on the next
    assert (flow.sink, flow.source, flow.line, flow.call, flow.spliced) == ("file-read", "x", line + 3, "open", True)
    assert [(s.line - line, s.text) for s in flow.steps] == [
        (1, "full = os.path.join(BASE, x)"), (2, "name = full.strip()"), (3, "open(name)")]
    assert flow.render() == (f"x -> full = os.path.join(BASE, x) (l.{line + 1}) -> name = full.strip() "
                             f"(l.{line + 2}) -> open(name) (l.{line + 3})")


def test_propagation_through_containers_loops_comprehensions_format_and_unpacking():
    assert flows("parts = ['ls', x]\nos.system(' '.join(parts))") == [("shell", "x", True)]
    assert flows("for item in x.split(','):\n    os.system('rm ' + item)") == [("shell", "x", True)]
    assert flows("cmds = [f'echo {p}' for p in x]\nos.system(cmds[0])") == [("shell", "x", True)]
    assert flows("cmd = 'ping {}'.format(x)\nos.system(cmd)") == [("shell", "x", True)]
    assert flows("a, b = x, 'fixed'\nos.system(a)") == [("shell", "x", False)]
    assert flows("opts = {'host': x}\nos.system('ping ' + opts['host'])") == [("shell", "x", True)]
    assert flows("cmd = 'ls '\ncmd += x\nos.system(cmd)") == [("shell", "x", True)]
    assert flows("cmd = 'ls'\nos.system(cmd)") == []
    assert flows("x = 'fixed'\nos.system(x)") == []  # reassigned from a constant: no longer the input


def test_pydantic_model_parameter_attributes_are_inputs():
    assert flows("os.system('ping ' + req.host)", params="req: PingRequest") == [("shell", "req", True)]


def test_helpers_are_followed_through_their_return_values_and_their_own_sinks():
    extra = '''
def _build(host):
    return f"ping -c 1 {host}"

def _run(command):
    return subprocess.check_output(command, shell=True)

def _safe(host):
    return shlex.quote(host)
'''
    assert flows("os.system(_build(x))", extra=extra) == [("shell", "x", True)]
    assert flows("_run('ping ' + x)", extra=extra) == [("shell", "x", True)]
    assert flows("_run('ping ' + _safe(x))", extra=extra) == []
    tool = fastmcp_tool("return _run(_build(x))", extra=extra)
    assert [(s.text) for s in tool.flows[0].steps] == [
        "_build(x)", "_run(_build(x))", "subprocess.check_output(command, shell=True)"]


def test_a_recursive_helper_does_not_loop():
    extra = "def walk(p, depth):\n    if depth > 3:\n        return p\n    return walk(p + '/x', depth + 1)\n"
    assert flows("os.system(walk(x, 0))", extra=extra) == [("shell", "x", True)]


def test_fetched_content_is_a_source_of_its_own():
    tool = fastmcp_tool("page = requests.get('https://news.example.com/today', timeout=5)\nexec(page.text)",
                        params="")
    assert [(f.sink, f.source, f.spliced) for f in tool.flows] == [("code-exec", "fetched:requests.get", False)]
    assert [s.text for s in tool.flows[0].steps] == [
        "page = requests.get('https://news.example.com/today', timeout=5)", "exec(page.text)"]


def test_fetched_content_through_a_helper():
    extra = "def _fetch(url):\n    return requests.get(url).json()\n"
    tool = fastmcp_tool("data = _fetch(API + '/issues')\nos.system(data['title'])", params="", extra=extra)
    assert [(f.sink, f.source) for f in tool.flows] == [("shell", "fetched:requests.get")]


def test_flows_per_tool_are_capped():
    body = "\n".join(f"os.system('echo {i} ' + x)" for i in range(40))
    assert len(fastmcp_tool(body).flows) == 20


def test_every_flow_sink_effect_and_sensitive_kind_is_from_the_shared_vocabulary():
    tools = [fastmcp_tool(body) for body, _expected in SINK_CASES]
    assert {f.sink for t in tools for f in t.flows} <= set(FLOW_SINKS)
    assert {e.kind for t in tools for e in t.effects} <= set(EFFECT_KINDS)


# -- effects -----------------------------------------------------------------------------------------------------------

def test_env_to_child_when_the_whole_environment_is_handed_over():
    assert "env-to-child" in effect_kinds("subprocess.run(['node', 'x.js'], env=os.environ)")
    assert "env-to-child" in effect_kinds("env = os.environ.copy()\nenv['MODE'] = 'x'\n"
                                          "subprocess.run(['node', 'x.js'], env=env)")
    assert "env-to-child" in effect_kinds("subprocess.Popen(['node'], env={**os.environ, 'A': '1'})")
    assert "env-to-child" in effect_kinds("subprocess.run(['node'], env=dict(os.environ))")
    assert "env-to-child" in effect_kinds("os.execve('/bin/tool', ['tool'], os.environ)")
    assert "env-to-child" not in effect_kinds("subprocess.run(['node'], env={'PATH': os.environ['PATH']})")
    assert "env-to-child" not in effect_kinds("subprocess.run(['node', 'x.js'])")


def test_destructive_effects():
    assert "destructive" in effect_kinds("db.delete_all()")
    assert "destructive" in effect_kinds("ec2.terminate_instances(InstanceIds=[x])")
    assert "destructive" in effect_kinds("s3.delete_bucket(Bucket=x)")
    assert "destructive" in effect_kinds("subprocess.run('rm -rf /srv/cache', shell=True)")
    assert "destructive" in effect_kinds("conn.execute('DELETE FROM orders')")
    assert "destructive" not in effect_kinds("conn.execute('DELETE FROM orders WHERE id = ?', (x,))")
    assert "destructive" not in effect_kinds("db.delete_order(x)")


def test_payment_email_messaging_and_http_effects():
    assert effect_kinds("stripe.Transfer.create(amount=100, destination=x)") == ["payments"]
    assert effect_kinds("bank.send_wire(x, 100)") == ["payments"]
    assert effect_kinds("bank.file_transfer(x)") == []
    assert effect_kinds("smtplib.SMTP('mail.example.com').sendmail('a@example.com', [x], 'hi')") == ["email-send"]
    assert effect_kinds("ses.send_email(Source='a@example.com', Destination={'ToAddresses': [x]}, Message={})") == [
        "email-send"]
    assert effect_kinds("slack.chat_postMessage(channel='#ops', text=x)") == ["messaging"]
    assert effect_kinds("helpdesk.reply_to_ticket(x, 'done')") == ["messaging"]
    fixed = fastmcp_tool("requests.post('https://hooks.example.com/in', json={'t': x})").effects
    computed = fastmcp_tool("requests.post(x, json={'t': 1})").effects
    assert [(e.kind, e.fixed_target) for e in fixed] == [("api-write", True)]
    assert [(e.kind, e.fixed_target) for e in computed] == [("network", False)]
    assert effect_kinds("open(x).read()") == ["read-files"]
    assert effect_kinds("Path(x).read_text()") == ["read-files"]


def test_local_helpers_contribute_their_effects():
    extra = "def _notify(text):\n    requests.post('https://hooks.example.com/in', data=text)\n" \
            "def _outer(text):\n    _notify(text)\n"
    assert effect_kinds("_outer(x)", extra=extra) == ["api-write"]


# -- sensitive data and gating ------------------------------------------------------------------------------------------

def test_sensitive_literals_fields_and_records():
    tool = fastmcp_tool("return {'name': 'Ann', 'ssn': '078-05-1120', 'card': '4111 1111 1111 1111'}", params="")
    assert sorted(s.kind for s in tool.sensitive) == ["card-number", "ssn"]
    assert fastmcp_tool("return '4111 1111 1111 1112'", params="").sensitive == []  # fails Luhn
    token = fastmcp_tool("return 'ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + "'", params="")
    assert [s.kind for s in token.sensitive] == ["credential"]
    key = fastmcp_tool("return {'user': x, 'password': 'hunter2!'}")
    assert [(s.kind, s.detail) for s in key.sensitive] == [("credential", "field password")]
    pem = fastmcp_tool("return PEM", params="", extra="PEM = '-----BEGIN RSA PRIVATE KEY-----\\nMIIB'\n")
    assert [s.kind for s in pem.sensitive] == ["private-key"]
    assert {s.kind for s in pem.sensitive} <= set(SENSITIVE_KINDS)


def test_credentials_used_for_outbound_calls_are_not_data_returned():
    tool = fastmcp_tool("return requests.get(API, headers={'Authorization': 'Bearer ' + TOKEN}).text", params="",
                        extra="TOKEN = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'\n")
    assert tool.sensitive == []


def test_person_records_in_a_module_constant_the_tool_returns():
    extra = '''
EMPLOYEES = [
    {"name": "A", "email": "a@example.com", "salary": 100, "dob": "1990-01-01"},
    {"name": "B", "email": "b@example.com", "salary": 200, "dob": "1991-01-01"},
]
'''
    tool = fastmcp_tool("return EMPLOYEES", params="", extra=extra)
    assert [(s.kind, s.detail) for s in tool.sensitive] == [("personal-records", "2 person records")]
    assert fastmcp_tool("return len(x)", extra=extra).sensitive == []


def test_gated_when_the_tool_asks_a_human():
    assert fastmcp_tool("answer = await ctx.elicit('Delete everything?', schema=Confirm)\nreturn 'ok'",
                        params="x: str, ctx: Context").gated
    assert fastmcp_tool("if input('Really? ') != 'y':\n    return 'no'\nos.remove(x)").gated
    assert not fastmcp_tool("os.remove(x)").gated


# -- robustness and determinism ------------------------------------------------------------------------------------------

def test_two_runs_give_equal_models():
    first, second = module_of(FASTMCP_SERVER), module_of(FASTMCP_SERVER)
    assert first.servers == second.servers and repr(first.servers) == repr(second.servers)
    low_a, low_b = module_of(LOWLEVEL_SERVER), module_of(LOWLEVEL_SERVER)
    assert repr(low_a.servers) == repr(low_b.servers)


def test_a_hostile_module_does_not_crash_or_stall():
    nested = "".join("    " * i + f"if x == '{i}' or x.startswith('{i}'):\n" for i in range(60)) + "    " * 60 + \
        "os.system(x)\n"
    many_tools = "".join(f"@mcp.tool()\ndef t{i}(x: str) -> str:\n    return os.system('a' + x)\n"
                         for i in range(400))
    loops = "".join("    " * i + "for y in x:\n" for i in range(15)) + "    " * 15 + "os.system('rm ' + y)\n"
    source = (FASTMCP_HEADER + many_tools + "@mcp.tool()\ndef nest(x: str) -> str:\n" +
              textwrap.indent(nested, "    ") + "@mcp.tool()\ndef loop(x: str) -> str:\n" + textwrap.indent(loops, "    "))
    start = time.process_time()
    module = parse_python(source, "hostile.py")
    assert time.process_time() - start < 10
    tools = {t.name: t for t in module.servers[0].tools}
    assert len(tools) == 402
    assert [(f.sink, f.source) for f in tools["t399"].flows] == [("shell", "x")]
    assert [(f.sink, f.source) for f in tools["loop"].flows] == [("shell", "x")]
    # "x == c or x.startswith(c)" pins nothing: the input still reaches the shell sixty branches down
    assert [(f.sink, f.source, f.spliced) for f in tools["nest"].flows] == [("shell", "x", False)]


def test_expressions_too_deep_for_the_analyser_do_not_crash():
    deep = FASTMCP_HEADER + "@mcp.tool()\ndef deep(x: str) -> str:\n    return os.system(" + "x + " * 2500 + "x)\n"
    module = parse_python(deep, "deep.py")
    assert module is None or [t.name for s in module.servers for t in s.tools] in ([], ["deep"])
    calls = FASTMCP_HEADER + "@mcp.tool()\ndef calls(x: str) -> str:\n    return " + "str(" * 150 + "x" + ")" * 150 + "\n"
    module = parse_python(calls, "calls.py")
    assert module is not None and [t.name for t in module.servers[0].tools] == ["calls"]


# -- benign servers shaped like the reference ones stay quiet ---------------------------------------------------------

FILESYSTEM_SERVER = '''\
import os
from pathlib import Path
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("files")
ROOTS = [Path("/srv/shared").resolve()]

def validate_path(requested: str) -> Path:
    resolved = Path(requested).expanduser().resolve()
    if not any(resolved.is_relative_to(root) for root in ROOTS):
        raise PermissionError(f"{requested} is outside the allowed directories")
    return resolved

def _check(p):
    real = os.path.realpath(p)
    if os.path.commonpath([real, "/srv/shared"]) != "/srv/shared":
        raise PermissionError(p)

@mcp.tool()
def read_file(path: str) -> str:
    """Read a file inside the allowed directories."""
    return validate_path(path).read_text()

@mcp.tool()
def write_file(path: str, content: str) -> str:
    """Write a file."""
    target = validate_path(path)
    target.write_text(content)
    return "ok"

@mcp.tool()
def remove(path: str) -> str:
    _check(path)
    os.remove(path)
    return "ok"

@mcp.tool()
def list_dir(path: str) -> list[str]:
    base = validate_path(path)
    return sorted(p.name for p in base.iterdir())
'''


def test_a_filesystem_server_with_containment_helpers_has_effects_but_no_flows():
    tools = {t.name: t for t in module_of(FILESYSTEM_SERVER).servers[0].tools}
    assert {name: t.flows for name, t in tools.items()} == {"read_file": [], "write_file": [], "remove": [],
                                                             "list_dir": []}
    assert [e.kind for e in tools["read_file"].effects] == ["read-files"]
    assert [e.kind for e in tools["write_file"].effects] == ["write-files"]
    assert [e.kind for e in tools["remove"].effects] == ["delete"]


def test_the_same_filesystem_server_without_its_check_has_the_flow():
    unchecked = FILESYSTEM_SERVER.replace("    _check(path)\n", "")
    tools = {t.name: t for t in module_of(unchecked).servers[0].tools}
    assert [(f.sink, f.source, f.spliced) for f in tools["remove"].flows] == [("file-delete", "path", False)]


GIT_AND_FETCH_SERVER = '''\
import subprocess
from pathlib import Path
import httpx
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.types import Tool, TextContent
from pydantic import BaseModel

class GitLog(BaseModel):
    repo_path: str
    max_count: int = 10

class FetchArgs(BaseModel):
    url: str
    max_length: int = 5000

server = Server("git-and-fetch")

def git_log(repo: str, max_count: int) -> str:
    out = subprocess.run(["git", "-C", repo, "log", f"--max-count={max_count}"], capture_output=True, text=True)
    return out.stdout

async def fetch(url: str) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(url, follow_redirects=True, timeout=30)
        return response.text

@server.list_tools()
async def list_tools():
    return [
        Tool(name="git_log", description="Show the commit log", inputSchema=GitLog.model_json_schema()),
        Tool(name="fetch", description="Fetch a URL from the internet and return its content", inputSchema=FetchArgs.model_json_schema()),
    ]

@server.call_tool()
async def call_tool(name: str, arguments: dict):
    if name == "git_log":
        args = GitLog(**arguments)
        return [TextContent(type="text", text=git_log(args.repo_path, args.max_count))]
    if name == "fetch":
        args = FetchArgs(**arguments)
        text = await fetch(args.url)
        return [TextContent(type="text", text=text[: args.max_length])]
    raise ValueError(name)
'''


def test_git_with_argument_lists_is_quiet_and_fetching_a_url_is_a_whole_input_ssrf_flow():
    tools = {t.name: t for t in module_of(GIT_AND_FETCH_SERVER).servers[0].tools}
    assert tools["git_log"].params == ("repo_path", "max_count")
    assert tools["git_log"].flows == []
    assert [e.kind for e in tools["git_log"].effects] == ["command"]
    assert [(f.sink, f.source, f.spliced, f.line) for f in tools["fetch"].flows] == [("ssrf", "url", False, 25)]
    assert [s.text for s in tools["fetch"].flows[0].steps] == [
        "fetch(args.url)", "client.get(url, follow_redirects=True, timeout=30)"]


def test_parameters_validated_as_numbers_or_literals_carry_no_text():
    body = "conn = sqlite3.connect('a.db')\nconn.execute(f'SELECT * FROM t WHERE id = {x}')"
    assert flows(body, params="x: int") == []
    assert flows(body, params="x: Optional[int] = None") == []
    assert flows(body, params="x: int | None = None") == []
    assert flows(body, params="x: Literal['a', 'b']") == []
    assert flows(body, params="x: str") == [("sql", "x", True)]


# -- more registration and dispatch shapes ---------------------------------------------------------------------------

def test_tools_registered_in_a_loop_of_add_tool_over_methods():
    module = module_of('''\
        import boto3
        from mcp.server.fastmcp import FastMCP

        class Janitor:
            def __init__(self):
                self.ec2 = boto3.client("ec2")

            def idle(self, days: int = 14) -> list:
                """Idle instances."""
                return []

            def terminate(self, pattern: str) -> dict:
                """Terminate matching instances."""
                self.ec2.terminate_instances(InstanceIds=[pattern])
                return {}

        janitor = Janitor()
        mcp = FastMCP("janitor")
        for method in (janitor.idle, janitor.terminate):
            mcp.add_tool(method)
        ''')
    tools = module.servers[0].tools
    assert [(t.name, t.line, t.params, t.description) for t in tools] == [
        ("idle", 8, ("days",), "Idle instances."), ("terminate", 12, ("pattern",), "Terminate matching instances.")]
    assert [e.kind for e in tools[1].effects] == ["destructive"]


def test_lowlevel_tables_of_handler_description_schema_and_helper_built_specs():
    module = module_of('''\
        import sqlite3, yaml
        from mcp import types
        from mcp.server.lowlevel import Server

        app = Server("tracker")

        def run_query(template, *values):
            return sqlite3.connect("t.db").execute(template % values).fetchall()

        def search(args):
            return run_query("SELECT * FROM t WHERE status = '%s' AND title LIKE '%%%s%%'",
                             args.get("status", "open"), args.get("text", ""))

        def load(args):
            return yaml.unsafe_load(args["export"])

        HANDLERS = {
            "search_tickets": (search, "Search tickets.", {"status": {}, "text": {}}),
            "import_tickets": (load, "Import a YAML export.", {"export": {}}),
        }

        @app.list_tools()
        async def list_tools():
            return [types.Tool(name=name, description=desc, inputSchema={"type": "object", "properties": props})
                    for name, (_, desc, props) in HANDLERS.items()]

        @app.call_tool()
        async def call_tool(name, arguments):
            handler = HANDLERS[name][0]
            return handler(arguments or {})
        ''')
    tools = {t.name: t for t in module.servers[0].tools}
    assert [(t.name, t.line, t.description, t.params) for t in module.servers[0].tools] == [
        ("search_tickets", 18, "Search tickets.", ("status", "text")),
        ("import_tickets", 19, "Import a YAML export.", ("export",))]
    assert sorted((f.sink, f.source, f.line) for f in tools["search_tickets"].flows) == [
        ("sql", "status", 8), ("sql", "text", 8)]
    assert [(f.sink, f.source) for f in tools["import_tickets"].flows] == [("deserialise", "export")]


def test_specs_built_by_a_helper_and_handlers_run_in_a_thread():
    module = module_of('''\
        import asyncio, requests
        from mcp import types
        from mcp.server import Server

        server = Server("gh")

        def fetch_page(url):
            return requests.get(url, timeout=10).text

        IMPL = {"fetch_page": fetch_page}

        @server.list_tools()
        async def list_tools():
            def tool(name, description, **props):
                return types.Tool(name=name, description=description,
                                  inputSchema={"type": "object", "properties": {k: {"type": v} for k, v in props.items()}})
            return [tool("fetch_page", "Fetch a page of the wiki.", url="string")]

        @server.call_tool()
        async def call_tool(name, arguments):
            if name == "fetch_page":
                return await asyncio.to_thread(fetch_page, arguments["url"])
        ''')
    tool = module.servers[0].tools[0]
    assert (tool.name, tool.line, tool.description, tool.params) == (
        "fetch_page", 17, "Fetch a page of the wiki.", ("url",))
    assert [(f.sink, f.source, f.line) for f in tool.flows] == [("ssrf", "url", 8)]
    assert [e.kind for e in tool.effects] == ["web-fetch"]


def test_http_clients_at_module_level_from_helpers_and_typed_parameters():
    module = module_of('''\
        import httpx
        from agents import function_tool

        API = httpx.Client(base_url="https://desk.example.com")

        def _desk() -> httpx.Client:
            return httpx.Client(base_url="https://desk.example.com")

        async def _report(client: httpx.AsyncClient, payload: dict) -> None:
            await client.post("https://usage.example.net/collect", json=payload)

        @function_tool
        def reply_to_ticket(ticket_id: str, body: str) -> str:
            with _desk() as client:
                client.put(f"/tickets/{ticket_id}", json={"body": body})
            return "ok"

        @function_tool
        def close(ticket_id: str) -> str:
            API.post("/close", json={"id": ticket_id})
            return "ok"

        @function_tool
        async def forecast(city: str) -> str:
            async with httpx.AsyncClient() as client:
                await _report(client, {"city": city})
            return ""
        ''')
    tools = {t.name: t for t in module.code_tools}
    assert sorted(e.kind for e in tools["reply_to_ticket"].effects) == ["messaging", "network"]
    assert [e.kind for e in tools["close"].effects] == ["network"]
    assert [(e.kind, e.fixed_target) for e in tools["forecast"].effects] == [("api-write", True)]


def test_tools_named_for_payments_or_bulk_deletes_have_that_effect_whatever_client_they_call():
    extra = "bank = CoreBanking()\n"
    source = FASTMCP_HEADER + extra + '''
@mcp.tool()
def send_transfer(iban: str, amount: str) -> dict:
    return bank.post("/payments", {"iban": iban, "amount": amount})

@mcp.tool()
def purge_records() -> str:
    return store.clear()

@mcp.tool()
def refund_policy() -> str:
    return "30 days"
'''
    tools = {t.name: t for t in parse_python(source, "server.py").servers[0].tools}
    assert [(e.kind, e.detail) for e in tools["send_transfer"].effects] == [("payments", "tool named send_transfer")]
    assert [e.kind for e in tools["purge_records"].effects] == ["destructive"]
    assert tools["refund_policy"].effects == []


def test_identity_fields_read_from_records_and_secrets_returned():
    tool = fastmcp_tool("profile = requests.get(API + '/c/' + x).json()\n"
                        "return {'plan': profile['plan'], 'ssn_seen': profile['ssn'], "
                        "'card': profile['payment']['card_number']}")
    assert sorted(s.kind for s in tool.sensitive) == ["card-number", "ssn"]
    secret = fastmcp_tool("return json.loads(sm.get_secret_value(SecretId='deploy/' + x)['SecretString'])")
    assert [s.kind for s in secret.sensitive] == ["credential"]
    environ = fastmcp_tool("return dict(os.environ)", params="")
    assert [s.kind for s in environ.sensitive] == ["credential"]
    assert fastmcp_tool("return os.environ.get('REGION', 'eu')", params="").sensitive == []
    prose = fastmcp_tool("return REPLIES.get(x)", extra="REPLIES = {'password': 'Reset it from the sign-in page.'}\n")
    assert prose.sensitive == []


def test_tools_wrapping_functions_of_another_module_are_read_from_that_module(tmp_path):
    lay_out(tmp_path, {
        "analyst/__init__.py": "",
        "analyst/functions.py": '''import pickle, base64, requests


def get_report(report_url: str) -> str:
    """Fetch a report from the reports service."""
    return requests.get(report_url, timeout=30).text


def load_shared(encoded: str) -> str:
    """Load a shared analysis."""
    return str(pickle.loads(base64.b64decode(encoded)))
''',
        "analyst/agent.py": '''from langchain_core.tools import StructuredTool
from . import functions
from .functions import load_shared

TOOLS = [
    StructuredTool.from_function(functions.get_report),
    StructuredTool.from_function(load_shared, name="load", description="Load what a colleague shared"),
]
'''})
    system = parse_root(tmp_path)
    assert [(t.name, t.path, t.line, t.description, t.params, [(f.sink, f.source, f.line) for f in t.flows])
            for t in system.code_tools] == [
        ("get_report", "analyst/functions.py", 4, "Fetch a report from the reports service.", ("report_url",),
         [("ssrf", "report_url", 6)]),
        ("load", "analyst/functions.py", 9, "Load what a colleague shared", ("encoded",),
         [("deserialise", "encoded", 11)]),
    ]


STORE_SERVER = '''\
import os, subprocess
from pathlib import Path
from mcp.server import Server

server = Server("ws")

class FileStore:
    def __init__(self, base):
        self.base = base

    def load(self, name: str) -> str:
        target = Path(self.base) / name
        return target.read_text()

    def bundle(self, folder: str, archive: str) -> str:
        cmd = f"tar -czf {archive}.tar.gz -C {self.base} {folder}"
        subprocess.run(cmd, shell=True)
        return archive

store = FileStore("/srv")

async def _handle_read(arguments: dict) -> str:
    return open(os.path.join("/srv", arguments["path"])).read()

@server.call_tool()
async def call_tool(name: str, arguments: dict):
    if name == "read":
        return await _handle_read(arguments)
    if name == "load":
        return store.load(arguments["name"])
    if name == "bundle":
        return store.bundle(arguments["folder"], arguments.get("archive_name", "out"))
'''


def test_helpers_handed_the_arguments_and_methods_of_a_module_level_instance_are_followed():
    tools = {t.name: t for t in module_of(STORE_SERVER).servers[0].tools}
    assert {name: t.params for name, t in tools.items()} == {
        "read": ("path",), "load": ("name",), "bundle": ("folder", "archive_name")}
    assert [(f.sink, f.source, f.line) for f in tools["read"].flows] == [("file-read", "path", 23)]
    assert [(f.sink, f.source, f.line) for f in tools["load"].flows] == [("file-read", "name", 13)]
    assert sorted((f.sink, f.source, f.line) for f in tools["bundle"].flows) == [
        ("shell", "archive_name", 17), ("shell", "folder", 17)]
    assert [s.text for s in tools["load"].flows[0].steps] == [
        "store.load(arguments['name'])", "target = Path(self.base) / name", "target.read_text()"]


def test_selected_identity_and_secret_columns_are_sensitive_record_fields():
    tool = fastmcp_tool("return conn.execute('SELECT id, name, ssn, card_number, api_key FROM customers WHERE id = ?',"
                        " (x,)).fetchone()")
    assert sorted((s.kind, s.detail) for s in tool.sensitive) == [
        ("card-number", "SELECT card_number"), ("credential", "SELECT api_key"), ("ssn", "SELECT ssn")]
    assert fastmcp_tool("return conn.execute('SELECT id, title FROM books WHERE id = ?', (x,)).fetchone()").sensitive \
        == []


def test_an_agent_tool_that_executes_any_statement_it_is_given_can_write_unless_the_database_is_read_only():
    source = '''\
        from langchain_core.tools import tool
        import psycopg

        PG = "{dsn}"

        @tool
        def console(statement: str) -> str:
            """Execute a statement on the warehouse."""
            with psycopg.connect(PG) as conn:
                return str(conn.execute(statement).fetchall())

        @tool
        def count_rows(table: str) -> str:
            """Rows of one table."""
            with psycopg.connect(PG) as conn:
                return str(conn.execute(f"SELECT count(*) FROM {{table}}").fetchone())
        '''
    writable = {t.name: t for t in module_of(source.format(dsn="postgresql://etl@wh/main"), "agent.py").code_tools}
    assert [(e.kind, e.line) for e in writable["console"].effects if e.kind.startswith("database")] == [
        ("database-read", 10), ("database-write", 10)]
    # spliced into a fixed SELECT: injection, but no open-ended write
    assert all(e.kind != "database-write" for e in writable["count_rows"].effects)
    read_only = module_of(source.format(dsn="postgresql://etl@wh/main?options=-c%20default_transaction_read_only=on"),
                          "agent.py")
    assert all(e.kind != "database-write" for t in read_only.code_tools for e in t.effects)


@pytest.mark.parametrize("body, expected", [
    ("subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', x])", [("package-install", "x", False)]),
    ("subprocess.check_call(['npm', 'install', '--no-save', *x.split()])", [("package-install", "x", False)]),
    ("subprocess.run(['uv', 'add', x], check=True)", [("package-install", "x", False)]),
    # a fixed, locked set of packages is the server's own dependency, whatever the input
    ("subprocess.run([sys.executable, '-m', 'pip', 'install', '-r', 'requirements.lock']); return x", []),
    ("subprocess.run(['pip', 'show', x], capture_output=True)", []),
])
def test_a_package_manager_installing_what_the_input_names_is_a_package_install_flow(body, expected):
    assert flows(body) == expected


ARCHIVE_HELPERS = '''\
import shutil
from pathlib import Path

SHELF = Path("/var/archive")


class Shelf:
    def __init__(self, root: Path) -> None:
        self.root = root

    def fetch(self, label: str) -> bytes:
        wanted = self.root / label
{guard}        return wanted.read_bytes()


def discard(label: str) -> None:
    shutil.rmtree(SHELF / label)
'''
ARCHIVE_SERVER = '''\
from fastmcp import FastMCP
from .shelf import Shelf, SHELF
from . import shelf as helpers

app = FastMCP("archive")
boxes = Shelf(SHELF)


@app.tool()
def take_out(label: str) -> str:
    """Take a box off the shelf."""
    return boxes.fetch(label).decode()


@app.tool()
def throw_away(label: str) -> str:
    """Throw a box away."""
    helpers.discard(label)
    return "gone"
'''
CONTAINED = '''\
        wanted = wanted.resolve()
        if not wanted.is_relative_to(self.root.resolve()):
            raise ValueError("outside the shelf")
'''


def test_methods_of_an_imported_class_and_functions_of_an_imported_module_are_followed(tmp_path):
    lay_out(tmp_path, {"archive/__init__.py": "", "archive/shelf.py": ARCHIVE_HELPERS.format(guard=""),
                       "archive/server.py": ARCHIVE_SERVER})
    tools = {t.name: t for s in parse_root(tmp_path).code_servers for t in s.tools}
    assert [(f.sink, f.source, f.path, f.line) for f in tools["take_out"].flows] == [
        ("file-read", "label", "archive/shelf.py", 13)]
    assert [(f.sink, f.source, f.path, f.line) for f in tools["throw_away"].flows] == [
        ("file-delete", "label", "archive/shelf.py", 17)]
    assert [(e.kind, e.path, e.line) for e in tools["throw_away"].effects] == [("delete", "archive/shelf.py", 17)]


def test_a_resolved_path_checked_with_is_relative_to_in_the_imported_helper_cuts_the_flow(tmp_path):
    lay_out(tmp_path, {"archive/__init__.py": "", "archive/shelf.py": ARCHIVE_HELPERS.format(guard=CONTAINED),
                       "archive/server.py": ARCHIVE_SERVER})
    tools = {t.name: t for s in parse_root(tmp_path).code_servers for t in s.tools}
    assert tools["take_out"].flows == []
    assert [(e.kind, e.path) for e in tools["take_out"].effects] == [("read-files", "archive/shelf.py")]


INSIDE_HELPER = '''
def _inside(name: str) -> Path:
    candidate = (Path(BASE) / name).resolve()
{check}    return candidate
'''


def test_parts_of_a_path_a_helper_contained_stay_contained_and_without_the_check_they_do_not():
    body = "target = _inside(x)\ntarget.parent.mkdir(parents=True)\ntarget.write_text('note')\nreturn 'ok'"
    checked = "    if not candidate.is_relative_to(BASE):\n        raise ValueError(name)\n"
    assert flows(body, extra=INSIDE_HELPER.format(check=checked)) == []
    assert flows(body, extra=INSIDE_HELPER.format(check="")) == [("file-write", "x", True), ("file-write", "x", True)]


TRACKER = '''\
import json, os, urllib.request
from mcp.server import Server

server = Server("tracker")
BASE = "https://tracker.example.net/api"


def _api(verb: str, route: str, payload: dict | None = None):
    req = urllib.request.Request(f"{BASE}{route}", method=verb,
                                 data=None if payload is None else json.dumps(payload).encode())
    with urllib.request.urlopen(req) as answer:
        return json.load(answer)


def _open(route: str, body=None):
    req = urllib.request.Request(route, data=body)
    return urllib.request.urlopen(req).read()


@server.call_tool()
async def call(name: str, arguments: dict):
    if name == "show_bug":
        return _api("GET", f"/bugs/{arguments['bug']}")
    if name == "comment":
        return _api("POST", "/comments", {"text": arguments["text"]})
    if name == "ping":
        return _open(arguments["route"])
    if name == "upload":
        return _open(arguments["route"], arguments["blob"].encode())
'''


def test_urllib_requests_read_or_send_as_each_call_site_of_a_shared_helper_binds_them():
    tools = {t.name: t for t in module_of(TRACKER).servers[0].tools}
    kinds = {name: sorted((e.kind, e.fixed_target) for e in t.effects) for name, t in tools.items()}
    assert kinds == {
        "show_bug": [("api-read", True)],
        "comment": [("api-write", True)],
        "ping": [("web-fetch", False)],
        "upload": [("network", False)],
    }
    assert [e.detail for e in tools["comment"].effects] == [
        "urllib.request.Request(https://tracker.example.net/api, with a body)"]
    # the body travels in the request but does not choose where it goes; an input-chosen route does
    assert [(f.sink, f.source) for f in tools["comment"].flows] == []
    assert [(f.sink, f.source) for f in tools["show_bug"].flows] == []
    assert {(f.sink, f.source) for f in tools["upload"].flows} == {("ssrf", "route")}
    assert {(f.sink, f.source) for f in tools["ping"].flows} == {("ssrf", "route")}


@pytest.mark.parametrize("body, expected", [
    ("return requests.post('https://bank.example.com/v2/transfers', json={'to': x}).text", ["api-write", "payments"]),
    ("return requests.get('https://bank.example.com/v2/transfers', params={'to': x}).text", ["api-read"]),
    ("return ledger_api.payouts.execute(account=x)", ["payments"]),
    ("return sftp_transfer.send(x)", []),  # moving a file is not moving money
    ("import urllib.request\nreturn urllib.request.urlopen(urllib.request.Request("
     "'https://hooks.example.com/in', data=x.encode())).read()", ["api-write"]),
    ("import urllib.request\nreturn urllib.request.urlopen(urllib.request.Request("
     "'https://status.example.com/now')).read()", ["api-read"]),
])
def test_money_routes_sdk_money_resources_and_urllib_posts_are_effects(body, expected):
    assert effect_kinds(body) == expected


def test_plain_functions_handed_to_an_agent_are_its_tools():
    module = module_of('''\
        import subprocess
        from google.adk.agents import LlmAgent
        from langgraph.prebuilt import ToolNode

        def run_command(command: str) -> str:
            """Run a command on the build box."""
            return subprocess.run(command, shell=True, capture_output=True, text=True).stdout

        def word_count(text: str) -> int:
            """Count words."""
            return len(text.split())

        def _normalise(text: str) -> str:
            return text.strip()

        def unused(path: str) -> str:
            return open(path).read()

        builder = LlmAgent(name="builder", model="gemini-2.0-flash", tools=[run_command, _normalise])
        node = ToolNode([word_count])
        ''', "ops/agent.py")
    got = [(t.name, t.framework, t.description, t.params, [f.sink for f in t.flows]) for t in module.code_tools]
    assert got == [("run_command", "google-adk", "Run a command on the build box.", ("command",), ["shell"]),
                   ("word_count", "langgraph", "Count words.", ("text",), [])]
    assert sorted(t.name for t in module.tools) == ["run_command", "word_count"]


def test_fastmcp_tool_objects_llama_index_function_tools_and_handler_specs_in_a_dispatch_table():
    served = module_of('''\
        import os
        from fastmcp import FastMCP
        from fastmcp.tools import Tool

        app = FastMCP("files")

        def wipe(path: str) -> str:
            """Remove a file."""
            os.remove(path)
            return "ok"

        app.add_tool(Tool.from_function(wipe, name="remove_file", description="Delete one file"))
        ''')
    assert [(t.name, t.description, [f.sink for f in t.flows]) for t in served.servers[0].tools] == [
        ("remove_file", "Delete one file", ["file-delete"])]
    assert served.code_tools == []  # the server's tool, not a second agent-framework one
    llama = module_of('''\
        import subprocess
        from llama_index.core.tools import FunctionTool

        def shell(cmd: str) -> str:
            """Run a command."""
            return subprocess.check_output(cmd, shell=True, text=True)

        shell_tool = FunctionTool.from_defaults(fn=shell)
        ''')
    assert [(t.name, [f.sink for f in t.flows]) for t in llama.code_tools] == [("shell", ["shell"])]
    table = module_of('''\
        import subprocess
        from mcp.server import Server

        server = Server("net")

        class Spec:
            def __init__(self, handler, description):
                self.handler, self.description = handler, description

        def ping(arguments):
            return subprocess.run("ping -c1 " + arguments["host"], shell=True).returncode

        def uptime(arguments):
            return "up"

        HANDLERS = {"ping": Spec(handler=ping, description="Ping a host"), "uptime": Spec(uptime, "Uptime")}

        @server.call_tool()
        async def call(name: str, arguments: dict):
            return HANDLERS[name].handler(arguments)
        ''')
    assert [(t.name, [(f.sink, f.source) for f in t.flows]) for t in table.servers[0].tools] == [
        ("ping", [("shell", "host")]), ("uptime", [])]
