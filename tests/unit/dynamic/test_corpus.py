"""Servers laid out as published ones are (our own code, no configuration naming how to start them): the stage finds
each in code and packaging, says how it would start and why, starts it on the vetted runtime in the sandbox, and
lists every other one under ``not_run`` with a reason a builder can act on."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.unit.dynamic.helpers import checks_of, run_stage
from triage.dynamic.discovery import servers_in
from triage.dynamic.runtime import VettedRuntime, runtime_dir
from triage.dynamic.stage import DynamicBudget

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CORPUS = FIXTURES / "mcp_corpus"
NOT_RUNNABLE = FIXTURES / "mcp_not_runnable"
# Importing the SDKs is most of a start; the production step limit, not the hostile fixtures' tight one.
CORPUS_BUDGET = DynamicBudget(step_seconds=10.0, call_seconds=5.0, session_seconds=25.0, sandbox_wall_seconds=45.0,
                              server_memory_bytes=512 * 1024 * 1024)

# fixture -> (launch line, evidence for it, runtime set, tools listed). "" set: a Node server.
CORPUS_SERVERS = {
    "py_weather": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                   ["get_alerts", "get_forecast"]),
    "py_notes_fastmcp": ("fastmcp run main.py", "a FastMCP server with no __main__ block or script", "mcp1",
                         ["add_note", "list_notes"]),
    "py_sqlite_explorer": ("sqlite-explorer", '[project.scripts] sqlite-explorer = "sqlite_explorer:main"', "mcp1",
                           ["list_tables", "run_query"]),
    "py_gitlog_lowlevel": ("python -m mcp_server_gitlog", "the package has a __main__.py", "mcp1",
                           ["git_log", "git_show_file"]),
    "py_fetch_poisoned": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1", ["fetch"]),
    "py_rugpull_lowlevel": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                            ["convert"]),
    "py_ticket_exfil": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                        ["create_ticket"]),
    "py_inbox_injection": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                           ["read_inbox", "send_email"]),
    "py_word_tools_v2": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp2",
                         ["text_stats", "slugify"]),
    "py_file_manager": ("python -m file_manager", "the package has a __main__.py", "mcp1",
                        ["list_files", "tidy_folder"]),
    "py_requirements_app": ("python app.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                            ["convert_distance"]),
    "py_calendar_uvx": ("mcp-calendar", '[project.scripts] mcp-calendar = "mcp_calendar.server:run"', "mcp1",
                        ["upcoming_events"]),
    "py_crm_cache": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                     ["contact_count", "refresh_cache"]),
    "py_units_restart": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1",
                         ["convert_units"]),
    "py_kb_search": ("python server.py", 'runs the server under if __name__ == "__main__"', "mcp1", ["search_kb"]),
    "ts_weather": ("tsx src/index.ts", "package.json bin.weather is ./build/index.js", "", ["get_forecast"]),
    "js_notes_cjs": ("node index.js", "package.json main is index.js", "", ["add_note", "list_notes"]),
    "js_lowlevel_dist": ("npm start", "package.json scripts.start is node dist/index.js", "", ["get_time"]),
    "ts_exfil": ("tsx src/index.ts", "package.json bin.translator-mcp is dist/index.js", "", ["translate"]),
    "ts_poisoned": ("tsx src/index.ts", "package.json main is build/index.js", "", ["add"]),
    "js_rugpull": ("npm start", "package.json scripts.start is node server.js", "", ["get_fact"]),
    "ts_todo_start": ("npm start", "package.json scripts.start is tsx src/server.ts", "", ["add_todo", "list_todos"]),
    "mjs_cleaner": ("node server.mjs", "package.json bin.disk-cleaner-mcp is ./server.mjs", "", ["free_space"]),
    "ts_reviews_injection": ("tsx src/index.ts", "package.json bin is build/index.js", "", ["get_reviews"]),
}
BENIGN = ("py_weather", "py_notes_fastmcp", "py_gitlog_lowlevel", "py_word_tools_v2", "py_requirements_app",
          "py_calendar_uvx", "py_kb_search", "ts_weather", "js_notes_cjs", "js_lowlevel_dist", "ts_todo_start")


@functools.cache
def corpus_run(fixture: str):  # noqa: ANN201 - DynamicOutcome; each server runs once for all the tests reading it
    return run_stage(CORPUS / fixture, budget=CORPUS_BUDGET)


@pytest.fixture(scope="module")
def vetted() -> VettedRuntime:
    runtime = VettedRuntime.load(runtime_dir())
    if not runtime.built:
        pytest.skip("the vetted dynamic runtime is not built (infra/build-dynamic-runtime.sh; make test builds it)")
    return runtime


def test_the_corpus_is_the_size_and_mix_the_issue_asks_for() -> None:
    assert sorted(CORPUS_SERVERS) == sorted(p.name for p in CORPUS.iterdir())
    python = [name for name in CORPUS_SERVERS if name.startswith("py_")]
    assert len(python) >= 12 and len(CORPUS_SERVERS) - len(python) >= 8
    assert len(BENIGN) * 3 >= len(CORPUS_SERVERS)
    configs = [p for p in CORPUS.rglob("*") if p.name in (".mcp.json", "mcp.json", "assay-manifest.json",
                                                          "claude_desktop_config.json")]
    assert configs == []  # nothing names how to start them: discovery reads the code and packaging


@pytest.mark.parametrize("fixture", sorted(CORPUS_SERVERS))
def test_discovery_says_how_each_server_starts_and_why(fixture: str, vetted: VettedRuntime) -> None:
    launch, why, python_set, _tools = CORPUS_SERVERS[fixture]
    (server,) = servers_in(CORPUS / fixture, runtime_root=str(vetted.root))["servers"]
    assert server["origin"] == "code" and server["launch"] == launch
    assert server.get("reason") is None and server["argv"]
    assert server["evidence"][0]["why"].startswith("defines MCP server")
    assert any(e["why"].startswith(why) and e["line"] for e in server["evidence"]), server["evidence"]
    assert server["python_set"] == python_set
    assert server["runtime"] == ("python" if fixture.startswith("py_") else "node")
    # Every file the argv names is the submission's own or the vetted runtime's, never a download location.
    inside = (str(CORPUS / fixture), str(vetted.root), str(Path(__file__).resolve().parents[3] / "triage"))
    assert all(part.startswith(inside) for part in server["argv"][1:] if part.startswith("/")), server["argv"]


def test_a_typescript_server_whose_built_output_is_not_committed_runs_from_source_under_tsx(
        vetted: VettedRuntime) -> None:
    (server,) = servers_in(CORPUS / "ts_weather", runtime_root=str(vetted.root))["servers"]
    assert server["entry"] == "src/index.ts"
    assert server["argv"][2:4] == ["--import", (vetted.node_modules / "tsx" / "dist" / "loader.mjs").as_uri()]


def test_a_committed_build_and_its_source_are_one_server_started_as_packaging_says(vetted: VettedRuntime) -> None:
    (server,) = servers_in(CORPUS / "js_lowlevel_dist", runtime_root=str(vetted.root))["servers"]
    assert server["entry"] == "dist/index.js" and "--import" not in server["argv"]


@pytest.mark.parametrize(("fixture", "reason"), [
    ("py_missing_dep", "imports 'pandas' (server.py:3), which the vetted runtime does not hold (nothing is "
                       "downloaded at triage; vendor it or use a library the runtime has)"),
    ("ts_missing_dep", "imports 'axios' (src/index.ts), which the vetted runtime does not hold (nothing is "
                       "downloaded at triage; vendor it or use a library the runtime has)"),
    ("ts_http_express", "serves over the streamable HTTP transport; only stdio servers are started by the dynamic "
                        "stage so far"),
])
def test_a_server_the_runtime_cannot_start_is_not_run_naming_what_is_missing(fixture: str, reason: str,
                                                                              vetted: VettedRuntime) -> None:
    (server,) = servers_in(NOT_RUNNABLE / fixture, runtime_root=str(vetted.root))["servers"]
    assert server["reason"] == reason and "argv" not in server


def test_a_server_that_crashes_at_start_is_not_run_with_its_last_stderr_lines_and_no_finding(
        vetted: VettedRuntime) -> None:
    outcome = run_stage(NOT_RUNNABLE / "py_crash_at_start", budget=CORPUS_BUDGET)
    assert outcome.findings == []  # a crash says nothing about what the server does: not a privilege finding
    (entry,) = outcome.not_run
    assert entry["target"] == "mcp:notion"
    assert entry["reason"].startswith("crashed at start (exited with status 1); last stderr: ")
    assert entry["reason"].endswith("KeyError: 'NOTION_TOKEN'")


@pytest.mark.parametrize("fixture", sorted(CORPUS_SERVERS))
def test_each_corpus_server_starts_in_the_sandbox_and_is_introspected(fixture: str, vetted: VettedRuntime) -> None:
    outcome = corpus_run(fixture)
    assert outcome.not_run == []
    (server,) = outcome.servers
    assert server.started and server.stopped is None
    assert [t["name"] for t in server.tools] == CORPUS_SERVERS[fixture][3]
    assert server.calls and len(server.calls) == len(server.tools)
    (record,) = outcome.records
    assert record["runtime"]["vetted_mcp1"].startswith("mcp 1.")


@pytest.mark.parametrize(("fixture", "check"), [
    ("py_rugpull_lowlevel", "dynamic.tool-set-changed-in-session"),
    ("py_units_restart", "dynamic.offer-changed-on-restart"),
    ("py_crm_cache", "dynamic.database-destroyed"),
    ("py_inbox_injection", "dynamic.tool-output-injection"),
    ("ts_reviews_injection", "dynamic.tool-output-injection"),
    ("js_rugpull", "dynamic.tool-set-changed-in-session"),
    ("py_fetch_poisoned", "dynamic.tool-poisoning"),
    ("ts_poisoned", "dynamic.tool-poisoning"),
    # Over HTTPS: the capture listener completes TLS, so the canary in the request body is seen.
    ("py_ticket_exfil", "dynamic.canary-exfiltration"),
    ("ts_exfil", "dynamic.canary-exfiltration"),
    ("py_file_manager", "dynamic.files-deleted"),
    ("mjs_cleaner", "dynamic.files-deleted"),
])
def test_the_hostile_corpus_servers_are_caught_running(fixture: str, check: str, vetted: VettedRuntime) -> None:
    assert check in checks_of(corpus_run(fixture))


@pytest.mark.parametrize("fixture", BENIGN)
def test_no_finding_of_medium_or_above_on_a_benign_server(fixture: str, vetted: VettedRuntime) -> None:
    outcome = corpus_run(fixture)
    assert outcome.servers and outcome.servers[0].started
    serious = [f"{f.check}: {f.evidence}" for f in outcome.findings if f.severity in ("critical", "high", "medium")]
    assert serious == []


def test_a_benign_server_calling_the_api_its_code_names_is_low_and_says_why(vetted: VettedRuntime) -> None:
    (finding,) = [f for f in corpus_run("py_weather").findings if f.check == "dynamic.network-egress-attempt"]
    assert finding.severity == "low"
    assert finding.evidence == ("weather: connection to api.weather.gov:443, a destination its code names; what it "
                                "would have sent carried no planted secret")
