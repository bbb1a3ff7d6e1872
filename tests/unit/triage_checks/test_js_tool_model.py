"""The JavaScript/TypeScript extractor of the MCP tool model: servers, tools, effects, flows, sensitive data."""

from __future__ import annotations

import textwrap

import pytest

from triage.parsers import js_code
from triage.parsers.js_code import parse_js
from triage.parsers.tool_model import CodeServer, ToolDef

MCP_HEAD = """\
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
"""


def parse(source: str, path: str = "src/server.ts") -> js_code.JsModule:
    module = parse_js(textwrap.dedent(source), path)
    assert module is not None
    return module


def only_server(source: str, path: str = "src/server.ts") -> CodeServer:
    module = parse(source, path)
    assert len(module.servers) == 1, module.servers
    return module.servers[0]


def tool_of(source: str, name: str, path: str = "src/server.ts") -> ToolDef:
    module = parse(source, path)
    tools = [t for s in module.servers for t in s.tools] + module.code_tools
    found = [t for t in tools if t.name == name]
    assert found, [t.name for t in tools]
    return found[0]


def handler(body: str, params: str = "{ input }", imports: str = "") -> str:
    """A server with one tool ``t`` whose handler has ``body``."""
    return MCP_HEAD + imports + 'const server = new McpServer({ name: "s", version: "1" });\n' + \
        f'server.tool("t", "d", {{ input: z.string() }}, async ({params}) => {{\n' + \
        textwrap.indent(textwrap.dedent(body), "  ") + "\n});\n"


def flows(body: str, params: str = "{ input }", imports: str = "") -> list[tuple[str, str, bool]]:
    tool = tool_of(handler(body, params, imports), "t")
    return [(f.sink, f.source, f.spliced) for f in tool.flows]


def effects(body: str, imports: str = "") -> list[tuple[str, str, bool]]:
    tool = tool_of(handler(body, imports=imports), "t")
    return [(e.kind, e.detail, e.fixed_target) for e in tool.effects]


# -- servers ------------------------------------------------------------------------------------------------------
def test_mcp_server_with_stdio_transport_and_entry():
    server = only_server(MCP_HEAD + """
const server = new McpServer({ name: "weather", version: "1.0.0" });
async function main() {
  await server.connect(new StdioServerTransport());
}
""")
    assert (server.id, server.name, server.line, server.language, server.framework) == (
        "src/server.ts#weather", "weather", 5, "typescript", "mcp-typescript")
    assert (server.transport, server.entry) == ("stdio", "npx tsx src/server.ts")


def test_javascript_low_level_server_over_sse_has_node_entry():
    server = only_server("""
const { Server } = require("@modelcontextprotocol/sdk/server/index.js");
const { SSEServerTransport } = require("@modelcontextprotocol/sdk/server/sse.js");
const server = new Server({ name: "legacy", version: "0.1" }, { capabilities: { tools: {} } });
app.get("/sse", (req, res) => server.connect(new SSEServerTransport("/messages", res)));
""", "index.js")
    assert (server.name, server.language, server.transport, server.entry) == ("legacy", "javascript", "sse",
                                                                              "node index.js")


def test_streamable_http_transport_and_server_name_from_a_constant():
    server = only_server(MCP_HEAD + """
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
const NAME = "notes";
const server = new McpServer({ name: NAME, version: "2" });
const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
await server.connect(transport);
""")
    assert (server.name, server.transport) == ("notes", "http")


def test_server_without_transport_has_no_entry_and_unknown_transport():
    server = only_server(MCP_HEAD + 'export const server = new McpServer({ name: "lib", version: "1" });\n')
    assert (server.transport, server.entry) == ("unknown", "")


def test_http_server_class_named_server_is_not_an_mcp_server():
    module = parse('import { Server } from "http";\nconst s = new Server({ name: "x" });\ns.tool("a", () => 1);\n',
                   "a.ts")
    assert [s.name for s in module.servers] == ["a"]  # the .tool() call still registers on a server of this file


# -- high-level tools ---------------------------------------------------------------------------------------------
TOOL_VARIANTS = MCP_HEAD + """
const server = new McpServer({ name: "v", version: "1" });
const LONG = "Looks up " +
  "a city";
server.tool("bare", async () => ({ content: [] }));
server.tool("described", "Just a description", async () => ({ content: [] }));
server.tool("shaped", { city: z.string(), days: z.number() }, async ({ city, days }) => ({ content: [] }));
server.tool("full", LONG, { city: z.string() }, { readOnlyHint: true }, async ({ city }) => ({ content: [] }));
server.tool("annotated", `Template text`, { q: z.string() }, { title: "A", destructiveHint: false },
  async (args) => ({ content: [] }));
server.registerTool("registered", {
  title: "Registered",
  description: ["line one", "line two"].join("\\n"),
  inputSchema: { path: z.string(), depth: z.number().optional() },
}, async ({ path }) => ({ content: [] }));
server.tool("destructured-only", "d", async ({ alpha, beta: b }) => ({ content: [] }));
"""


@pytest.mark.parametrize("name, description, description_line, params, line", [
    ("bare", "", None, (), 8),
    ("described", "Just a description", 9, (), 9),
    ("shaped", "", None, ("city", "days"), 10),
    ("full", "Looks up a city", 6, ("city",), 11),
    ("annotated", "Template text", 12, ("q",), 12),
    ("registered", "line one\nline two", 16, ("path", "depth"), 14),
    ("destructured-only", "d", 19, ("alpha", "beta"), 19),
])
def test_server_tool_argument_variants(name, description, description_line, params, line):
    tool = tool_of(TOOL_VARIANTS, name)
    assert (tool.kind, tool.description, tool.description_line, tool.params, tool.line) == (
        "tool", description, description_line, params, line)
    assert (tool.server, tool.framework, tool.language, tool.path) == (
        "src/server.ts#v", "mcp-typescript", "typescript", "src/server.ts")


def test_resources_and_prompts():
    source = MCP_HEAD + """
import { ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
const server = new McpServer({ name: "r", version: "1" });
server.resource("config", "config://app", async (uri) => ({ contents: [{ uri: uri.href, text: "x" }] }));
server.resource("user", new ResourceTemplate("users://{id}", { list: undefined }),
  { description: "One user" }, async (uri, { id }) => ({ contents: [] }));
server.registerResource("readme", "docs://readme", { title: "Readme", description: "The readme" },
  async (uri) => ({ contents: [] }));
server.prompt("review", "Review code", { code: z.string() }, ({ code }) => ({ messages: [] }));
server.registerPrompt("summarise", { description: "Summarise", argsSchema: { text: z.string() } },
  ({ text }) => ({ messages: [] }));
"""
    module = parse(source)
    got = [(t.kind, t.name, t.uri, t.description, t.params) for t in module.servers[0].tools]
    assert got == [
        ("resource", "config", "config://app", "", ()),
        ("resource", "user", "users://{id}", "One user", ()),
        ("resource", "readme", "docs://readme", "The readme", ()),
        ("prompt", "review", "", "Review code", ("code",)),
        ("prompt", "summarise", "", "Summarise", ("text",)),
    ]


def test_resource_template_variables_are_tool_inputs():
    source = MCP_HEAD + """
import { ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import fs from "node:fs";
const server = new McpServer({ name: "r", version: "1" });
server.resource("file", new ResourceTemplate("file://{name}", { list: undefined }),
  async (uri, { name }) => ({ contents: [{ uri: uri.href, text: fs.readFileSync("/srv/" + name, "utf8") }] }));
"""
    tool = tool_of(source, "file")
    assert [(f.sink, f.source, f.spliced, f.line) for f in tool.flows] == [("file-read", "name", True, 9)]


def test_tools_registered_in_a_function_of_another_module_make_a_server_for_the_file():
    module = parse("""
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
export function registerTools(server: McpServer) {
  server.tool("ping", "Ping", async () => ({ content: [] }));
}
""", "src/tools/ping.ts")
    assert [(s.id, s.transport, [t.name for t in s.tools]) for s in module.servers] == [
        ("src/tools/ping.ts#ping", "unknown", ["ping"])]


def test_class_based_server_and_method_handler():
    source = """
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { execSync } from "child_process";
class App {
  server = new McpServer({ name: "cls", version: "1" });
  constructor() {
    this.server.tool("run", "Run", { cmd: { type: "string" } }, this.run.bind(this));
  }
  async run({ cmd }) {
    return execSync(cmd).toString();
  }
}
"""
    server = only_server(source)
    assert server.name == "cls"
    tool = server.tools[0]
    assert [(f.sink, f.source, f.spliced, f.line) for f in tool.flows] == [("shell", "cmd", False, 10)]


def test_fastmcp_typescript_add_tool():
    source = """
import { FastMCP } from "fastmcp";
import { z } from "zod";
const server = new FastMCP({ name: "fm", version: "1.0.0" });
server.addTool({
  name: "add",
  description: "Add two numbers",
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: async (args) => String(args.a + args.b),
});
"""
    tool = tool_of(source, "add")
    assert (tool.description, tool.params, tool.server) == ("Add two numbers", ("a", "b"), "src/server.ts#fm")


# -- low-level servers --------------------------------------------------------------------------------------------
LOW_LEVEL = """
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { zodToJsonSchema } from "zod-to-json-schema";
import { z } from "zod";
import { exec } from "child_process";
import * as fs from "fs/promises";

const ReadArgs = z.object({ path: z.string(), encoding: z.string().optional() });
const RUN_DESCRIPTION = "Run a shell command";
const RUN_TOOL = {
  name: "run_command",
  description: RUN_DESCRIPTION,
  inputSchema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
};
const TOOLS = [
  RUN_TOOL,
  { name: "read_file", description: "Read a file", inputSchema: zodToJsonSchema(ReadArgs) },
];
const server = new Server({ name: "low", version: "1" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => {
  return { tools: [...TOOLS, { name: "echo", description: "Echo", inputSchema: { type: "object", properties: { text: {} } } }] };
});
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const { name, arguments: args } = request.params;
  switch (name) {
    case "run_command": {
      const command = String(args?.command);
      exec(command);
      return { content: [] };
    }
    case "read_file": {
      const parsed = ReadArgs.parse(args);
      const text = await fs.readFile(parsed.path, "utf8");
      return { content: [{ type: "text", text }] };
    }
    case "echo":
      return { content: [{ type: "text", text: args.text }] };
    case "hidden":
      await fs.rm("/var/data", { recursive: true });
      return { content: [] };
    default:
      throw new Error(`Unknown tool: ${name}`);
  }
});
"""


def test_low_level_tools_from_list_and_call_handlers():
    server = only_server(LOW_LEVEL)
    got = [(t.name, t.description, t.description_line, t.params, t.line) for t in server.tools]
    assert got == [
        ("run_command", "Run a shell command", 10, ("command",), 11),
        ("read_file", "Read a file", 18, ("path", "encoding"), 18),
        ("echo", "Echo", 22, ("text",), 22),
        ("hidden", "", None, (), 39),
    ]


def test_low_level_dispatch_gives_each_tool_its_own_branch():
    server = only_server(LOW_LEVEL)
    by_name = {t.name: t for t in server.tools}
    assert [(f.sink, f.source, f.spliced, f.line) for f in by_name["run_command"].flows] == [
        ("shell", "command", False, 29)]
    assert [e.kind for e in by_name["run_command"].effects] == ["shell"]
    assert [(f.sink, f.source, f.line) for f in by_name["read_file"].flows] == [("file-read", "path", 34)]
    assert by_name["echo"].flows == [] and by_name["echo"].effects == []
    assert [e.kind for e in by_name["hidden"].effects] == ["delete", "destructive"]
    assert by_name["hidden"].flows == []


def test_low_level_if_dispatch_and_handler_map():
    source = """
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { execSync } from "node:child_process";
import { writeFileSync } from "node:fs";
const server = new Server({ name: "ifs", version: "1" }, { capabilities: { tools: {} } });
async function saveNote(args) {
  writeFileSync(`/notes/${args.title}.md`, args.body);
  return {};
}
const handlers = { save_note: saveNote, ping: async () => ({}) };
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [{ name: "shell", description: "Shell", inputSchema: { type: "object", properties: { cmd: {} } } },
          { name: "save_note", description: "Save", inputSchema: { type: "object", properties: { title: {}, body: {} } } },
          { name: "ping", description: "Ping", inputSchema: { type: "object", properties: {} } }],
}));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const toolName = request.params.name;
  const args = request.params.arguments ?? {};
  if (toolName === "shell") {
    return { content: [{ type: "text", text: execSync(args.cmd as string).toString() }] };
  }
  const handler = handlers[toolName];
  return handlers[toolName](args);
});
"""
    by_name = {t.name: t for t in only_server(source).tools}
    assert [(f.sink, f.source, f.spliced, f.line) for f in by_name["shell"].flows] == [("shell", "cmd", False, 21)]
    assert [(f.sink, f.source, f.spliced, f.line) for f in by_name["save_note"].flows] == [
        ("file-write", "title", True, 8)]
    assert by_name["ping"].flows == [] and by_name["ping"].effects == []
    assert [e.kind for e in by_name["save_note"].effects] == ["write-files"]


def test_low_level_resources_list():
    source = """
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ListResourcesRequestSchema, ReadResourceRequestSchema } from "@modelcontextprotocol/sdk/types.js";
const CUSTOMERS = [
  { name: "Ann Lee", email: "ann@example.com", phone: "555-0100", ssn: "123-45-6789" },
  { name: "Bo Chan", email: "bo@example.com", phone: "555-0101", ssn: "234-56-7890" },
];
const server = new Server({ name: "res", version: "1" }, { capabilities: { resources: {} } });
server.setRequestHandler(ListResourcesRequestSchema, async () => ({
  resources: [{ uri: "crm://customers", name: "customers", description: "All customers" }],
}));
server.setRequestHandler(ReadResourceRequestSchema, async (request) => ({
  contents: [{ uri: request.params.uri, text: JSON.stringify(CUSTOMERS) }],
}));
"""
    tool = only_server(source).tools[0]
    assert (tool.kind, tool.name, tool.uri, tool.description) == ("resource", "customers", "crm://customers",
                                                                  "All customers")
    assert sorted({s.kind for s in tool.sensitive}) == ["personal-records", "ssn"]


# -- sinks: each positive, and the same code with its guard ---------------------------------------------------------
CP = 'import { exec, execSync, spawn, execFile } from "node:child_process";\n'
FS = 'import fs from "node:fs";\nimport path from "node:path";\nconst ROOT = "/srv/files";\n'


@pytest.mark.parametrize("body, imports, expected", [
    ("exec(`git log ${input}`);", CP, [("shell", "input", True)]),
    ("execSync(input);", CP, [("shell", "input", False)]),
    ('const cp = require("child_process");\ncp.exec("ls " + input);', "", [("shell", "input", True)]),
    ('spawn("bash", ["-c", input]);', CP, [("shell", "input", False)]),
    ('spawn("git", ["log", input], { shell: true });', CP, [("shell", "input", True)]),
    ("spawn(input, []);", CP, [("shell", "input", False)]),
    ('execFile("python3", ["-c", input]);', CP, [("code-exec", "input", False)]),
    ('spawn("git", ["log", input]);', CP, []),  # no shell: one fixed program, the input is one argument
    ('execFile("ls", ["-la", input]);', CP, []),
    ("eval(input);", "", [("code-exec", "input", False)]),
    ('const f = new Function("x", "return " + input);', "", [("code-exec", "input", True)]),
    ('Function(input)();', "", [("code-exec", "input", False)]),
    ("vm.runInNewContext(input, {});", 'import vm from "node:vm";\n', [("code-exec", "input", False)]),
    ("new vm.Script(input);", 'import * as vm from "vm";\n', [("code-exec", "input", False)]),
    ("setTimeout(input, 10);", "", [("code-exec", "input", False)]),
    ("setTimeout(() => console.log(input), 10);", "", []),
    ("return fs.readFileSync(path.join(ROOT, input), 'utf8');", FS, [("file-read", "input", True)]),
    ("return fs.promises.readFile(input);", FS, [("file-read", "input", False)]),
    ("fs.writeFileSync(`${ROOT}/${input}`, 'x');", FS, [("file-write", "input", True)]),
    ("fs.createWriteStream(input);", FS, [("file-write", "input", False)]),
    ("fs.unlinkSync(path.resolve(ROOT, input));", FS, [("file-delete", "input", True)]),
    ("await fs.promises.rm(input, { recursive: true });", FS, [("file-delete", "input", False)]),
    ("fs.writeFileSync('/tmp/out.txt', input);", FS, []),  # the input is the content, not the path
    ("return serialize.unserialize(input);", 'import serialize from "node-serialize";\n',
     [("deserialise", "input", False)]),
    ("return yaml.load(input, { schema: yaml.DEFAULT_FULL_SCHEMA });", 'import yaml from "js-yaml";\n',
     [("deserialise", "input", False)]),
    ("return yaml.load(input);", 'import yaml from "js-yaml";\n', []),
    ("return yaml.unsafeLoad(input);", 'import * as yaml from "js-yaml";\n', [("deserialise", "input", False)]),
    ("return ejs.render(input, {});", 'import ejs from "ejs";\n', [("template", "input", False)]),
    ("return Handlebars.compile(`<p>${input}</p>`)({});", 'import Handlebars from "handlebars";\n',
     [("template", "input", True)]),
    ("return pug.render(input);", 'import pug from "pug";\n', [("template", "input", False)]),
    ("return _.template(input)({});", 'import _ from "lodash";\n', [("template", "input", False)]),
])
def test_sinks(body, imports, expected):
    assert flows(body, imports=imports) == expected


SQL = 'import Database from "better-sqlite3";\nconst db = new Database("app.db");\n'


@pytest.mark.parametrize("body, expected", [
    ("return db.prepare(`SELECT * FROM users WHERE name = '${input}'`).all();", [("sql", "input", True)]),
    ('return db.exec("DELETE FROM logs WHERE id = " + input);', [("sql", "input", True)]),
    ("return db.prepare(input).all();", [("sql", "input", False)]),
    ('return db.prepare("SELECT * FROM users WHERE name = ?").all(input);', []),
    ('const stmt = db.prepare("SELECT * FROM t WHERE id = ?");\nreturn stmt.get(input);', []),
    ('return pool.query("SELECT * FROM users WHERE id = $1", [input]);', []),
    ("return pool.query(`SELECT * FROM users WHERE id = ${input}`);", [("sql", "input", True)]),
    ("return knex.raw(`SELECT ${input}`);", [("sql", "input", True)]),
    ("return prisma.$queryRawUnsafe(`SELECT * FROM t WHERE a = '${input}'`);", [("sql", "input", True)]),
    ("return cache.get(input);", []),  # a map lookup, not SQL
    ("return /x/.exec(input);", []),
])
def test_sql_sinks(body, expected):
    assert flows(body, imports=SQL) == expected


@pytest.mark.parametrize("body, expected", [
    ("return await fetch(input);", [("ssrf", "input", False)]),
    ("return fetch(`${input}/api`);", [("ssrf", "input", True)]),
    ("return axios.get(input);", [("ssrf", "input", False)]),
    ("return axios({ url: input, method: 'GET' });", [("ssrf", "input", False)]),
    ("return got.post(input, { json: {} });", [("ssrf", "input", False)]),
    ("return http.get(input);", [("ssrf", "input", False)]),
    ("return fetch(`https://api.example.com/search?q=${input}`);", []),
    ("return fetch(API + '/items/' + encodeURIComponent(input));", []),
    ("return fetch(`${API}/items/${input}`);", []),
    ("return axios.post('https://hooks.example.com/x', { text: input });", []),
])
def test_ssrf_sinks(body, expected):
    imports = 'import axios from "axios";\nimport got from "got";\nimport http from "node:https";\n' \
              'const API = "https://api.example.com";\n'
    assert flows(body, imports=imports) == expected


@pytest.mark.parametrize("body", [
    # containment: resolve, then startsWith the root, throwing otherwise
    """const full = path.resolve(ROOT, input);
    if (!full.startsWith(ROOT + path.sep)) { throw new Error("outside"); }
    return fs.readFileSync(full, "utf8");""",
    """const full = path.resolve(ROOT, input);
    const rel = path.relative(ROOT, full);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return { content: [] };
    return fs.readFileSync(full, "utf8");""",
    """const real = fs.realpathSync(path.join(ROOT, input));
    if (!real.startsWith(ROOT)) throw new Error("no");
    fs.unlinkSync(real);""",
    "return fs.readFileSync(path.join(ROOT, path.basename(input)));",
    """if (!ALLOWED.includes(input)) throw new Error("not allowed");
    execSync(input);""",
    """if (!ALLOWED_SET.has(input)) { return { content: [] }; }
    exec(`run ${input}`);""",
    """if (!/^[a-z0-9-]+$/.test(input)) throw new Error("bad name");
    exec(`git checkout ${input}`);""",
    """const n = parseInt(input, 10);
    exec(`kill ${n}`);""",
    "exec(`sleep ${Number(input)}`);",
    """const url = new URL(input);
    if (!ALLOWED_HOSTS.includes(url.hostname)) throw new Error("host");
    return fetch(url);""",
    """if (ALLOWED.includes(input)) {
      execSync(input);
    }""",
    """const ok = isInside(ROOT, input);
    if (!ok) throw new Error("outside");
    return fs.readFileSync(input);""",
    """const safe = validatePath(input);
    return fs.readFileSync(safe);""",
])
def test_sanitisers_cut_the_flow(body):
    imports = CP + FS + 'const ALLOWED = ["status", "log"];\nconst ALLOWED_SET = new Set(ALLOWED);\n' \
        'const ALLOWED_HOSTS = ["example.com"];\nimport { validatePath } from "./lib.js";\n'
    assert flows(body, imports=imports) == []


@pytest.mark.parametrize("body", [
    """if (!input) throw new Error("input is required");
    execSync(input);""",
    """if (typeof input !== "string" || input.length === 0) throw new Error("bad");
    execSync(input);""",
    """const full = path.join(ROOT, input);
    if (!fs.existsSync(full)) { }
    execSync(full);""",
])
def test_emptiness_and_type_checks_do_not_sanitise(body):
    assert flows(body, imports=CP + FS) != []


def test_guard_only_cuts_the_input_it_tests():
    body = """if (!ALLOWED.includes(input)) throw new Error("no");
    execSync(`${input} ${other}`);
    execSync(other);"""
    assert flows(body, "{ input, other }", CP + 'const ALLOWED = ["a"];\n') == [
        ("shell", "other", True), ("shell", "other", False)]
