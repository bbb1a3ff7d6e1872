"""Type confusion and junk in every parsed format: analysis never crashes and every finding stays well-formed."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.triage_checks.helpers import lay_out
from triage.analysis import analyse
from triage.findings import CATEGORIES, SEVERITIES

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(
        ["", "*", "Bash", "never", "bypassPermissions", "npx -y a@latest", "http://x.test/mcp", "ghp_x", "/"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["mcpServers", "servers", "command", "args", "env", "url", "hooks", "permissions", "allow",
                         "deny", "defaultMode", "PreToolUse", "matcher", "type", "tools", "capabilities", "approval",
                         "name", "egress", "policy", "memory", "harness", "models", "mcp_servers", "on", "jobs",
                         "steps", "uses", "with", "run", "services", "volumes", "privileged", "plugins", "source",
                         "repo", "sha", "ref", "alwaysAllow", "autoApprove", "network", "filesystem", "write",
                         "allowedDomains", "commands", "agents", "allowed_non_write_users"]),
        children, max_size=5),
    max_leaves=20)
JSON_PATHS = [".mcp.json", ".claude/settings.json", ".cursor/mcp.json", ".vscode/mcp.json", ".vscode/settings.json",
              "assay-manifest.json", "package.json", ".claude-plugin/plugin.json", ".claude-plugin/marketplace.json",
              "hooks/hooks.json", "cline_mcp_settings.json", "sandbox-policy.json"]
YAML_PATHS = [".github/workflows/agent.yml", "docker-compose.yml", "agent/sandbox-policy.yaml"]


def _assert_well_formed(findings) -> None:  # noqa: ANN001
    for finding in findings:
        assert finding.severity in SEVERITIES and set(finding.categories) <= set(CATEGORIES)
        assert "\n" not in finding.evidence and len(finding.evidence) <= 200


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({path: JSON_VALUES for path in JSON_PATHS + YAML_PATHS}), manifest=JSON_VALUES)
def test_any_json_shape_in_any_config_file_is_survived(values, manifest):
    with tempfile.TemporaryDirectory() as directory:
        root = lay_out(Path(directory), {path: json.dumps(value) for path, value in values.items()})
        _assert_well_formed(analyse(root, manifest=manifest if isinstance(manifest, dict) else None))


@settings(max_examples=25, deadline=None)
@given(junk=st.text(max_size=300), path=st.sampled_from(
    JSON_PATHS + YAML_PATHS + [".codex/config.toml", "agent.py", "Dockerfile", "CLAUDE.md", ".env", "pyproject.toml",
                               "requirements.txt", "run.sh", "skills/x/SKILL.md",
                               "SOUL.md"]))
def test_any_text_in_any_known_file_is_survived(junk, path):
    with tempfile.TemporaryDirectory() as directory:
        _assert_well_formed(analyse(lay_out(Path(directory), {path: junk})))
