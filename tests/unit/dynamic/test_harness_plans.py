"""How the harness decides whether a declared server can start offline, and what it feeds a tool."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.dynamic.discovery import launch_plan
from triage.dynamic.observe import OBSERVE_SITE
from triage.dynamic.runtime import runtime_dir
from triage.dynamic.session import crafted_arguments

CANARY = "assay-canary-0123456789abcdef"


def plan(command: str, root: Path, *, transport: str = "stdio", url: str = "", disabled: bool = False) -> dict:
    return launch_plan(command=command, transport=transport, url=url, disabled=disabled, root=root)


PYSTART = str(OBSERVE_SITE / "pystart.py")


def test_a_vendored_python_script_runs_on_the_vetted_runtime_only(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "main.py").write_text("import json\nprint()")
    result = plan("python3 -u srv/main.py --stdio", tmp_path)
    assert result["runtime"] == "python" and result["python_set"] == "mcp1"
    # -S: none of the interpreter's own site-packages; pystart.py puts back the runtime set and our hooks.
    assert result["argv"][1:] == ["-S", PYSTART, str(runtime_dir() / "python" / "mcp1"), "script",
                                  str(tmp_path / "srv" / "main.py"), "--stdio"]
    assert result["entry"] == "srv/main.py"  # what the gate ties static flows in the server's code to


def test_a_vendored_module_names_its_entry_point(tmp_path: Path) -> None:
    (tmp_path / "tickets_mcp").mkdir()
    (tmp_path / "tickets_mcp" / "__main__.py").write_text("print()")
    result = plan("python -m tickets_mcp", tmp_path)
    assert result["argv"][4:] == ["module", "tickets_mcp"] and result["entry"] == "tickets_mcp/__main__.py"


def test_isolation_flags_that_would_skip_our_observation_hooks_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text("")
    assert plan("python -I -S s.py", tmp_path)["argv"][4:] == ["script", str(tmp_path / "s.py")]


@pytest.mark.parametrize(("command", "reason"), [
    ("npx -y @scope/server", "'npx' would fetch '@scope/server' from the npm registry at start; it is not in the "
                             "submitted files or the vetted runtime, and nothing is downloaded at triage"),
    ("uvx mcp-server-git", "'uvx' would fetch 'mcp-server-git' from the PyPI registry at start; it is not in the "
                           "submitted files or the vetted runtime, and nothing is downloaded at triage"),
    ("docker run -i img", "'docker' pulls and runs a container image: needs the network"),
    ("python ../outside.py", "script '../outside.py' is not in the submitted files"),
    ("python /etc/passwd", "script '/etc/passwd' is not in the submitted files"),
    ("python -m not_vendored", "module 'not_vendored' is neither in the submitted files nor in the vetted runtime"),
    ("python -c 'import os'", "inline python (-c) is not a vendored entry point"),
    ("corp-mcp --stdio", "command 'corp-mcp' is not present offline in the submitted files or the vetted runtime"),
    ("", "declares no command"),
    ("python 'unclosed", "its command line cannot be parsed"),
])
def test_servers_that_cannot_start_offline_get_a_reason(command: str, reason: str, tmp_path: Path) -> None:
    assert plan(command, tmp_path) == {"reason": reason}


def test_remote_and_disabled_servers_are_not_started(tmp_path: Path) -> None:
    assert plan("", tmp_path, transport="sse", url="https://x.test/sse") == {
        "reason": "uses the sse transport at https://x.test/sse: needs the network"}
    assert plan("python s.py", tmp_path, disabled=True) == {"reason": "disabled in its configuration"}


def test_crafted_arguments_follow_the_schema_and_carry_the_canary_in_text() -> None:
    schema = {"type": "object", "properties": {
        "ticket": {"type": "string"}, "count": {"type": "integer"}, "mode": {"enum": ["fast", "slow"]},
        "path": {"type": "string"}, "callback_url": {"type": "string"}, "labels": {"type": "array", "items": {"type": "string"}},
        "options": {"type": "object", "properties": {"dry_run": {"type": "boolean"}}}}}
    args = crafted_arguments(schema, canary=CANARY)
    assert CANARY in args["ticket"] and "ignore previous instructions" in args["ticket"]
    assert args["count"] == 1 and args["mode"] == "fast" and args["options"] == {"dry_run": False}
    assert args["path"] == "notes/assay-decoy.txt" and args["callback_url"] == "https://assay-input.invalid/report"
    assert len(args["labels"]) == 1 and CANARY in args["labels"][0]


# --- launch lines that would install or download, read for what they finally run on the vetted runtime ----------

def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


SERVER_PY = "from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n"


@pytest.fixture
def vetted() -> None:
    from triage.dynamic.runtime import VettedRuntime

    if not VettedRuntime.load(runtime_dir()).built:
        pytest.skip("the vetted dynamic runtime is not built (infra/build-dynamic-runtime.sh; make test builds it)")


@pytest.mark.parametrize(("command", "mode", "target", "cwd"), [
    ("uv run server.py", "script", "srv/server.py", "srv"),
    ("uv run --directory srv server.py", "script", "srv/server.py", "srv"),
    ("uv run --with httpx python server.py --stdio", "script", "srv/server.py", "srv"),
    ("pip install -r requirements.txt && python server.py", "script", "srv/server.py", "srv"),
    ("uvx --from . srv-mcp", "call", "srv_mcp.main:run", "srv"),
    ("srv-mcp", "call", "srv_mcp.main:run", "srv"),
])
def test_installing_launch_lines_run_what_they_finally_start_on_the_runtime(
        command: str, mode: str, target: str, cwd: str, tmp_path: Path, vetted: None) -> None:
    _tree(tmp_path, {"srv/server.py": SERVER_PY, "srv/requirements.txt": "mcp[cli]>=1.2\nhttpx\n",
                     "srv/pyproject.toml": '[project]\nname = "srv-mcp"\n[project.scripts]\nsrv-mcp = "srv_mcp.main:run"\n',
                     "srv/srv_mcp/__init__.py": "", "srv/srv_mcp/main.py": SERVER_PY + "def run():\n    mcp.run()\n"})
    directory = "srv" if not command.startswith("uv run --directory") else ""
    result = plan(command, tmp_path) if not directory else launch_plan(
        command=command, transport="stdio", url="", disabled=False, root=tmp_path, cwd=directory)
    assert result.get("reason") is None, result
    assert result["argv"][4] == mode and result["cwd"] == cwd
    assert result["argv"][5] == (str(tmp_path / target) if mode == "script" else target)


@pytest.mark.parametrize(("command", "reason"), [
    ("pip install -r requirements.txt && python server.py",
     "'requirements.txt' asks for 'pandas', which the vetted runtime does not hold (nothing is downloaded at triage)"),
    ("uv run --with numpy server.py",
     "'uv run --with numpy' asks for 'numpy', which the vetted runtime does not hold (nothing is downloaded at triage)"),
    ("uvx mcp-server-fetch", "'uvx' would fetch 'mcp-server-fetch' from the PyPI registry at start; it is not in the "
                             "submitted files or the vetted runtime, and nothing is downloaded at triage"),
    ("python server.py | tee log", "its command line pipes programs together; only a single server program is "
                                   "started"),
    ("npm install", "its command line only installs dependencies and starts no server"),
])
def test_what_the_runtime_cannot_meet_is_named(command: str, reason: str, tmp_path: Path, vetted: None) -> None:
    _tree(tmp_path, {"server.py": SERVER_PY, "requirements.txt": "mcp\npandas>=2\n"})
    assert plan(command, tmp_path) == {"reason": reason}


@pytest.mark.parametrize(("command", "entry", "typescript"), [
    ("npx -y tsx src/index.ts", "src/index.ts", True),
    ("npm start", "src/index.ts", True),
    ("node build/index.js", "src/index.ts", True),  # not built: its TypeScript source under tsx
    ("npx -y weather-mcp", "src/index.ts", True),  # the package's own bin
    ("node tools/plain.js", "tools/plain.js", False),
])
def test_node_launch_lines_resolve_to_a_file_of_the_tree(command: str, entry: str, typescript: bool, tmp_path: Path,
                                                        vetted: None) -> None:
    _tree(tmp_path, {"src/index.ts": 'import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";\n'
                                     'import { z } from "zod";\nimport { readFileSync } from "node:fs";\n',
                     "tools/plain.js": "const path = require('path');\n",
                     "package.json": '{"name": "weather-mcp", "bin": {"weather-mcp": "build/index.js"}, '
                                     '"scripts": {"start": "tsx src/index.ts"}}'})
    result = plan(command, tmp_path)
    assert result.get("reason") is None, result
    assert result["runtime"] == "node" and result["entry"] == entry
    assert ("--import" in result["argv"]) is typescript and result["argv"][-1] == str(tmp_path / entry)


def test_a_node_import_the_runtime_lacks_is_named_with_its_file(tmp_path: Path, vetted: None) -> None:
    _tree(tmp_path, {"index.js": "const helper = require('./lib/helper');\n",
                     "lib/helper.js": "const _ = require('lodash-es/map');\nmodule.exports = {};\n"})
    assert plan("node index.js", tmp_path) == {
        "reason": "imports 'lodash-es' (lib/helper.js), which the vetted runtime does not hold (nothing is downloaded at "
                  "triage; vendor it or use a library the runtime has)"}


def test_python_imports_are_followed_through_the_tree_and_optional_ones_are_not_required(
        tmp_path: Path, vetted: None) -> None:
    _tree(tmp_path, {"server.py": "try:\n    import ujson\nexcept ImportError:\n    ujson = None\n"
                                  "from app.tools import register\n",
                     "app/__init__.py": "", "app/tools.py": "from .store import save\n",
                     "app/store.py": "import yaml\nimport boto3\n"})
    assert plan("python server.py", tmp_path) == {
        "reason": "imports 'boto3' (app/store.py:2), which the vetted runtime does not hold (nothing is downloaded at "
                  "triage; vendor it or use a library the runtime has)"}


def test_a_v2_sdk_server_gets_the_v2_set_and_a_v1_server_the_v1_set(tmp_path: Path, vetted: None) -> None:
    _tree(tmp_path, {"v1.py": "from mcp.server.fastmcp import FastMCP\n",
                     "v2.py": "from mcp.server.mcpserver import MCPServer\n"})
    assert plan("python v1.py", tmp_path)["python_set"] == "mcp1"
    assert plan("python v2.py", tmp_path)["python_set"] == "mcp2"
