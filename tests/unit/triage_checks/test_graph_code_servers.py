"""MCP servers read from code join the capability graph: as nodes of their own, and inside the client that launches
them, under that client's approval settings."""

from __future__ import annotations

from tests.unit.triage_checks.helpers import lay_out
from triage.graph import PRIVATE, SINK, SOURCE, build_graph, code_tool_capabilities, launched_code_servers
from triage.parsers import parse_root
from triage.parsers.mcp import McpServer
from triage.parsers.tool_model import CodeServer, Effect, Flow, Sensitive, Step, ToolDef


def _server(path: str = "srv/server.py") -> CodeServer:
    reader = ToolDef("tool", "read_note", path, 10, "python", "fastmcp", params=("name",),
                     flows=[Flow("file-read", "name", 12, "open", (Step(11, "p = os.path.join(ROOT, name)"),
                                                                   Step(12, "open(p)")))])
    poster = ToolDef("tool", "share", path, 20, "python", "fastmcp", params=("text",),
                     effects=[Effect("network", 22, "requests.post(url)")])
    browser = ToolDef("tool", "fetch_page", path, 30, "python", "fastmcp", params=("url",),
                      flows=[Flow("ssrf", "url", 31, "requests.get", spliced=False)])
    return CodeServer(f"{path}#notes", "notes", path, 3, "python", "fastmcp", tools=[reader, poster, browser])


def _system_with(tmp_path, files, servers):  # noqa: ANN001, ANN202
    system = parse_root(lay_out(tmp_path, files))
    system.code_servers = servers
    return system


def test_a_tool_gives_the_capabilities_of_its_effects_flows_and_returned_data():
    tool = ToolDef("resource", "customers", "s.py", 5, "python", "fastmcp",
                   sensitive=[Sensitive("ssn", 7, "123-45-****")],
                   effects=[Effect("email-send", 9, "smtplib.SMTP.sendmail")])
    assert sorted(code_tool_capabilities(tool)) == [(SINK, "email-send", 9), (SOURCE, PRIVATE, 5),
                                                    (SOURCE, PRIVATE, 7)]


def test_a_code_server_alone_is_a_node_whose_sinks_the_client_approves_per_call(tmp_path):
    graph = build_graph(_system_with(tmp_path, {"README.md": "notes server"}, [_server()]))
    node = graph.agents["mcp-server:srv/server.py#notes"]
    assert {(c.direction, c.kind) for c in node.capabilities} == {
        (SOURCE, PRIVATE), (SINK, "network"), (SOURCE, "web")}
    assert node.exfil() == []  # every sink gated: nothing runs unprompted without a client that says so


def test_a_client_that_launches_the_server_file_gets_its_tools_under_its_own_approval(tmp_path):
    auto = {"mcpServers": {"notes": {"command": "python", "args": ["srv/server.py"], "autoApprove": True}}}
    asks = {"mcpServers": {"notes": {"command": "python", "args": ["srv/server.py"]}}}
    approved = build_graph(_system_with(tmp_path / "a", {".cursor/mcp.json": auto}, [_server()])).agents["cursor"]
    prompted = build_graph(_system_with(tmp_path / "b", {".cursor/mcp.json": asks}, [_server()])).agents["cursor"]
    assert [(c.kind, c.via, c.line) for c in approved.exfil()] == [
        ("network", "mcp:notes:share", 22), ("network", "mcp:notes:fetch_page", 31)]
    assert any(c.kind == PRIVATE and c.via == "mcp:notes:read_note" for c in approved.private())
    assert prompted.exfil() == []


def test_launch_commands_name_the_server_by_file_directory_or_module(tmp_path):
    system = _system_with(tmp_path, {"README.md": "x"}, [_server("packages/notes/src/notes/server.py")])

    def launched(command: str) -> bool:
        return bool(launched_code_servers(system, McpServer("n", "claude-code", ".mcp.json", 1, command=command)))

    assert launched("python packages/notes/src/notes/server.py")
    assert launched("uv run --directory ./packages/notes/src/notes python server.py")
    assert launched("python -m notes.server")
    assert not launched("python other/server.py")
    assert not launched("npx -y @modelcontextprotocol/server-memory")
    assert not launched("")


def test_a_reading_tool_is_classified_by_the_fixed_api_host_it_reads_as_well_as_its_name():
    reader = ToolDef("tool", "get_thread", "s.py", 5, "python", "mcp-lowlevel",
                     effects=[Effect("api-read", 9, "urllib.request.urlopen(https://gitlab.com/api/v4)", True)])
    plain = ToolDef("tool", "get_thread", "s.py", 5, "python", "mcp-lowlevel",
                    effects=[Effect("api-read", 9, "urllib.request.urlopen(https://forecast.example.org)", True)])
    assert {(d, k) for d, k, _line in code_tool_capabilities(reader)} == {(SOURCE, "issue"), (SOURCE, PRIVATE)}
    assert code_tool_capabilities(plain) == []
