"""The component inventory triage derives from the parsed system and capability graph: stable ids per kind on real
fixture trees, the components a finding belongs to, and the bounds applied to what the sandbox returns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import DRAFT_COMPONENTS, make_draft
from triage.analysis import analyse_system
from triage.components import finding_components, inventory_checked, inventory_of
from triage.parsers import parse_root
from triage.runner import source_for_path, triage_analyse

SYSTEMS = Path(__file__).resolve().parents[1] / "fixtures" / "agent_systems"


def inventory(name: str) -> list[dict]:
    root = SYSTEMS / name
    system = parse_root(root)
    _findings, graph = analyse_system(system)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return inventory_of(system, graph, files)


def ids(items: list[dict], kind: str | None = None) -> list[str]:
    return [c["id"] for c in items if kind is None or c["kind"] == kind]


def test_a_claude_code_tree_has_its_agent_configs_servers_hooks_and_files():
    items = inventory("sentry_fixer_claude")
    assert ids(items, "agent") == ["agent:claude-code"]
    assert ids(items, "mcp-server") == ["mcp-server:filesystem", "mcp-server:github", "mcp-server:sentry"]
    assert ids(items, "harness-config") == ["harness-config:.claude/settings.json",
                                            "harness-config:.claude/settings.local.json", "harness-config:.mcp.json"]
    assert ids(items, "hook") == ["hook:PostToolUse/1", "hook:PreToolUse/1", "hook:SessionStart/1"]
    assert ids(items, "file") == ["file:.claude/settings.json", "file:.claude/settings.local.json", "file:.mcp.json",
                                  "file:CLAUDE.md", "file:README.md", "file:app/handlers.py"]
    sentry = next(c for c in items if c["id"] == "mcp-server:sentry")
    assert sentry["paths"] == [".mcp.json"] and sentry["lines"] == {".mcp.json": 3}
    assert ids(items) == sorted(ids(items))  # sorted by id: the same tree gives the same inventory


def test_code_servers_give_one_tool_component_per_tool_named_by_server():
    items = inventory("mcp_server_py_vulnerable")
    assert ids(items, "mcp-server") == ["mcp-server:desk-helper"]
    tools = ids(items, "tool")
    assert "tool:desk-helper/refund_customer" in tools and len(tools) == 16
    assert all(t.startswith("tool:desk-helper/") for t in tools)  # served tools are not listed twice
    assert not ids(items, "agent")  # the server's graph node is the server component, not an agent


def test_ci_containers_and_python_agents_are_components():
    assert ids(inventory("ci_issue_agent"), "workflow") == ["workflow:.github/workflows/claude.yml"]
    containers = ids(inventory("containerised_agent"), "container")
    assert containers == ["container:Dockerfile", "container:docker-compose.yml", "container:docker-compose.yml/agent"]
    python = inventory("python_ops_agents")
    assert "agent:python:ops/agent.py:triage" in ids(python, "agent")
    assert "tool:ops/tools.py/refund_customer" in ids(python, "tool")
    plugin = inventory("plugin_marketplace_risky")
    assert ids(plugin, "skill") == ["skill:weekly-digest"]
    assert ids(plugin, "hook") == ["hook:Stop/1", "hook:Stop/2"]


def test_a_finding_belongs_to_its_file_the_component_declared_around_its_line_and_what_it_names():
    items = inventory("sentry_fixer_claude")
    sentry_line = {"path": ".mcp.json", "line": 3, "agent": "claude-code"}
    assert finding_components(sentry_line, items) == {
        "file:.mcp.json", "harness-config:.mcp.json", "mcp-server:sentry", "agent:claude-code"}
    github_line = {"path": ".mcp.json", "line": 9}
    assert "mcp-server:github" in finding_components(github_line, items)
    assert "mcp-server:sentry" not in finding_components(github_line, items)
    # A permission rule above every hook declaration belongs to no hook.
    permissions = finding_components({"path": ".claude/settings.json", "line": 4}, items)
    assert not {c for c in permissions if c.startswith("hook:")}
    assert "hook:PreToolUse/1" in finding_components({"path": ".claude/settings.json", "line": 16}, items)
    assert finding_components({"path": "", "line": None}, items) == set()  # whole-system finding
    tools = inventory("mcp_server_py_vulnerable")
    refund = finding_components({"path": "server.py", "line": 70, "tool": "refund_customer"}, tools)
    assert {"tool:desk-helper/refund_customer", "mcp-server:desk-helper", "file:server.py"} <= refund
    assert "tool:desk-helper/send_reply" not in refund
    node = finding_components({"path": "server.py", "line": 20, "agent": "mcp-server:server.py#desk-helper"}, tools)
    assert "mcp-server:desk-helper" in node


@pytest.mark.parametrize("bad", [
    "not a list",
    [{"id": "mcp-server:x", "kind": "tool", "label": "x", "paths": []}],  # id does not carry its kind
    [{"id": "gadget:x", "kind": "gadget", "label": "x", "paths": []}],  # unknown kind
    [{"id": "file:a\x00b", "kind": "file", "label": "x", "paths": []}],  # control character
    [{"id": "file:a", "kind": "file", "label": "x", "paths": "a"}],
    [{"id": "file:a", "kind": "file", "label": "x", "paths": ["a"], "lines": {"a": "1"}}],
    [{"id": "file:a", "kind": "file", "label": "x" * 201, "paths": ["a"]}],
])
def test_what_the_sandbox_returns_is_checked_before_it_is_stored(bad):  # noqa: ANN001
    with pytest.raises(ValueError):
        inventory_checked(bad)


def test_the_sandboxed_analysis_returns_the_same_inventory():
    analysis = triage_analyse(sources=[source_for_path(SYSTEMS / "sentry_fixer_claude")])
    assert analysis.inventory == inventory("sentry_fixer_claude")


@pytest.mark.django_db
def test_the_factory_drafts_inventory_is_what_detection_finds(builder):  # noqa: ANN001
    from triage.scope_inventory import submission_detect_components

    draft = make_draft(builder)
    detected = submission_detect_components(submission=draft, actor=builder)
    assert detected.component_inventory["components"] == DRAFT_COMPONENTS
