"""The capability graph composes capabilities across files, and approval gates and sandboxes break flows."""

from __future__ import annotations

from tests.unit.triage_checks.helpers import checks_of, lay_out
from triage.analysis import analyse
from triage.graph import build_graph
from triage.parsers import parse_root

SENTRY = {"mcpServers": {"sentry": {"command": "npx", "args": ["-y", "@sentry/mcp-server@0.17.1"]}}}
BASH_ALLOWED = {"permissions": {"allow": ["Bash"], "deny": ["Read(./.env)"]}}


def test_a_reader_in_one_file_and_a_shell_in_another_make_one_flow(tmp_path):
    only_reader = lay_out(tmp_path / "a", {".mcp.json": SENTRY})
    only_shell = lay_out(tmp_path / "b", {".claude/settings.json": BASH_ALLOWED})
    both = lay_out(tmp_path / "c", {".mcp.json": SENTRY, ".claude/settings.json": BASH_ALLOWED})
    assert "trifecta.mcp-untrusted-to-shell" not in checks_of(analyse(only_reader))
    assert "trifecta.mcp-untrusted-to-shell" not in checks_of(analyse(only_shell))
    findings = [f for f in analyse(both) if f.check == "trifecta.mcp-untrusted-to-shell"]
    assert [(f.path, f.line, f.evidence) for f in findings] == [
        (".mcp.json", 3, "agent claude-code: error-report from mcp:sentry with unapproved shell via Bash")]


def test_an_approval_gate_on_the_shell_breaks_the_flow(tmp_path):
    gated = {"permissions": {"allow": ["Bash(npm run test:*)"], "deny": ["Read(./.env)"]}}
    lay_out(tmp_path, {".mcp.json": SENTRY, ".claude/settings.json": gated})
    agent = build_graph(parse_root(tmp_path)).agents["claude-code"]
    shell = [c for c in agent.capabilities if c.kind == "shell"]
    assert [c.gated for c in shell] == [True]
    assert checks_of(analyse(tmp_path)).isdisjoint({"trifecta.mcp-untrusted-to-shell", "trifecta.lethal-trifecta",
                                                    "agentjacking.error-report-to-action"})


def test_a_codex_sandbox_without_network_contains_an_unapproved_shell(tmp_path):
    base = '[mcp_servers.sentry]\ncommand = "npx"\nargs = ["-y", "@sentry/mcp-server@0.17.1"]\n'
    contained = lay_out(tmp_path / "a", {".codex/config.toml": 'approval_policy = "never"\nsandbox_mode = '
                                                               '"workspace-write"\n' + base})
    open_host = lay_out(tmp_path / "b", {".codex/config.toml": 'approval_policy = "never"\nsandbox_mode = '
                                                               '"danger-full-access"\n' + base})
    assert "trifecta.mcp-untrusted-to-shell" not in checks_of(analyse(contained))
    assert "trifecta.mcp-untrusted-to-shell" in checks_of(analyse(open_host))


def test_python_tools_bound_to_an_agent_in_another_module_belong_to_that_agent(tmp_path):
    lay_out(tmp_path, {
        "app/tools.py": "import subprocess\nfrom agents import function_tool\n\n@function_tool\n"
                        "def run(cmd: str) -> str:\n    return subprocess.run(cmd, shell=True).stdout\n",
        "app/agent.py": "from agents import Agent\nfrom app.tools import run\nops = Agent(name='ops', tools=[run])\n",
    })
    graph = build_graph(parse_root(tmp_path))
    assert sorted(graph.agents) == ["python:app/agent.py:ops"]
    kinds = {(c.direction, c.kind, c.via, c.path) for c in graph.agents["python:app/agent.py:ops"].capabilities}
    assert kinds == {("sink", "shell", "run", "app/tools.py")}


def test_agents_linked_by_handoffs_form_one_group(tmp_path):
    lay_out(tmp_path, {"a.py": "from agents import Agent\nb = Agent(name='b')\na = Agent(name='a', handoffs=[b])\n"
                                "c = Agent(name='c')\n"})
    groups = build_graph(parse_root(tmp_path)).groups()
    assert [[agent.id for agent in group] for group in groups] == [
        ["python:a.py:a", "python:a.py:b"], ["python:a.py:c"]]


def test_a_ci_agent_restricted_to_trusted_authors_reads_no_untrusted_input(tmp_path):
    workflow = ("on:\n  issue_comment:\n    types: [created]\npermissions:\n  contents: read\njobs:\n  run:\n"
                "    if: github.event.comment.author_association == 'OWNER'\n    runs-on: ubuntu-latest\n"
                "    timeout-minutes: 5\n    steps:\n      - uses: anthropics/claude-code-action@v1\n")
    lay_out(tmp_path, {".github/workflows/a.yml": workflow})
    agent = build_graph(parse_root(tmp_path)).agents["workflow:.github/workflows/a.yml#run"]
    assert agent.untrusted() == []
    assert "agentjacking.ci-untrusted-trigger" not in checks_of(analyse(tmp_path))


def test_framework_default_run_limits_count_and_only_a_switched_off_limit_is_reported(tmp_path):
    lay_out(tmp_path, {"a.py": (
        "import subprocess\nfrom agents import Agent, Runner, function_tool\n\n@function_tool\n"
        "def deploy() -> str:\n    return subprocess.run(['kubectl', 'apply', '-f', 'prod.yaml']).stdout\n\n"
        "careful = Agent(name='careful', tools=[deploy])\nreckless = Agent(name='reckless', tools=[deploy])\n\n"
        "async def main():\n    await Runner.run(careful, 'go')\n    await Runner.run(reckless, 'go', max_turns=None)\n")})
    found = [(f.check, f.line) for f in analyse(tmp_path) if f.check == "irreversible.no-run-budget"]
    assert found == [("irreversible.no-run-budget", 9)]


def test_a_ci_agent_limited_to_same_repository_pull_requests_reads_no_untrusted_input(tmp_path):
    workflow = ("on:\n  pull_request:\n    types: [opened]\npermissions:\n  contents: read\njobs:\n  review:\n"
                "    if: github.event.pull_request.head.repo.full_name == github.repository\n"
                "    runs-on: ubuntu-latest\n    steps:\n      - uses: anthropics/claude-code-action@v1\n")
    lay_out(tmp_path, {".github/workflows/review.yml": workflow})
    assert build_graph(parse_root(tmp_path)).agents["workflow:.github/workflows/review.yml#review"].untrusted() == []


def test_sql_built_from_strings_is_reported_only_inside_agent_tools(tmp_path):
    lay_out(tmp_path, {"store.py": (
        "from agents import function_tool\n\nclass Store:\n    def create(self, db, table):\n"
        "        db.execute(f'CREATE TABLE IF NOT EXISTS {table} (id int)')\n\n@function_tool\n"
        "def find(db, name: str) -> str:\n    return db.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n")})
    assert [(f.check, f.line) for f in analyse(tmp_path) if f.check == "code.sql-built"] == [("code.sql-built", 9)]


def test_pre_approved_tools_of_user_scope_servers_and_user_content_domains_count(tmp_path):
    settings = {"permissions": {"allow": ["Bash(curl:*)", "mcp__github__get_issue", "WebFetch(domain:github.com)",
                                          "WebFetch(domain:docs.python.org)"], "deny": ["Read(./.env)"]}}
    lay_out(tmp_path, {".claude/settings.json": settings})
    agent = build_graph(parse_root(tmp_path)).agents["claude-code"]
    assert sorted((c.direction, c.kind, c.via) for c in agent.capabilities if not c.gated) == [
        ("sink", "network", "Bash(curl:*)"),
        ("source", "issue", "mcp__github__get_issue"),
        ("source", "private", "mcp__github__get_issue"),
        ("source", "private", "workspace files"),
        ("source", "web", "WebFetch(domain:github.com)"),
    ]
    assert "trifecta.lethal-trifecta" in checks_of(analyse(tmp_path))


def test_a_ci_agents_disallowed_tools_are_not_mistaken_for_allowed_ones(tmp_path):
    def workflow(args: str) -> str:
        return ("on:\n  issues:\n    types: [opened]\npermissions:\n  contents: read\njobs:\n  fix:\n"
                "    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n"
                f"      - uses: anthropics/claude-code-action@v1\n        with:\n          claude_args: \"{args}\"\n")
    lay_out(tmp_path / "a", {".github/workflows/a.yml": workflow("--disallowedTools Bash,WebFetch --max-turns 5")})
    lay_out(tmp_path / "b", {".github/workflows/a.yml": workflow("--allowedTools Bash,WebFetch --max-turns 5")})
    graph_a = build_graph(parse_root(tmp_path / "a")).agents["workflow:.github/workflows/a.yml#fix"]
    graph_b = build_graph(parse_root(tmp_path / "b")).agents["workflow:.github/workflows/a.yml#fix"]
    assert graph_a.sinks({"shell", "network"}) == []
    assert sorted(c.kind for c in graph_b.sinks({"shell", "network"})) == ["network", "shell"]
    assert "approval.blanket-shell-allow" not in checks_of(analyse(tmp_path / "a"))
    assert "approval.blanket-shell-allow" in checks_of(analyse(tmp_path / "b"))


def test_tools_resolve_through_imports_and_never_across_unrelated_projects(tmp_path):
    shell_tool = ("import subprocess\nfrom crewai.tools import tool\n\nclass OpsTools:\n    @tool('Run command')\n"
                  "    def run(command: str) -> str:\n        '''Run a command.'''\n"
                  "        return subprocess.run(command, shell=True).stdout\n")
    safe_tool = ("from crewai.tools import tool\n\nclass OpsTools:\n    @tool('Run command')\n"
                 "    def run(command: str) -> str:\n        '''Pretend to run.'''\n        return 'ok'\n")
    agents = ("from crewai import Agent\nfrom tools.ops_tools import OpsTools\n\n"
              "def operator():\n    return Agent(role='Operator', tools=[OpsTools.run])\n")
    lay_out(tmp_path, {
        "projects/alpha/tools/ops_tools.py": shell_tool, "projects/alpha/agents.py": agents,
        "projects/beta/tools/ops_tools.py": safe_tool, "projects/beta/agents.py": agents,
    })
    graph = build_graph(parse_root(tmp_path))
    alpha = graph.agents["python:projects/alpha/agents.py:Operator"]
    beta = graph.agents["python:projects/beta/agents.py:Operator"]
    assert [(c.kind, c.path) for c in alpha.sinks({"shell"})] == [("shell", "projects/alpha/tools/ops_tools.py")]
    assert beta.sinks({"shell"}) == []


def test_a_function_wrapped_as_a_tool_brings_its_body_along(tmp_path):
    lay_out(tmp_path, {"agent.py": (
        "import shutil\nfrom langchain.agents import AgentExecutor\nfrom langchain_core.tools import Tool\n\n"
        "def wipe(path):\n    shutil.rmtree(path)\n\n"
        "cleaner = Tool(name='cleaner', func=wipe, description='Remove a directory')\n"
        "executor = AgentExecutor(agent=None, tools=[cleaner])\n")})
    agent = build_graph(parse_root(tmp_path)).agents["python:agent.py:executor"]
    assert [(c.kind, c.via) for c in agent.sinks({"delete"})] == [("delete", "cleaner")]
    assert "irreversible.recursive-delete" in checks_of(analyse(tmp_path))
