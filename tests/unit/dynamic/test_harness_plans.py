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
